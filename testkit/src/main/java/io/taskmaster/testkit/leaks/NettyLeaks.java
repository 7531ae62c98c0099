package io.taskmaster.testkit.leaks;

import io.netty.buffer.AbstractByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakTracker;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;

/**
 * Netty's buffer leak detection, made to fail tests: buffers are sampled (ADVANCED level, one in 128, with where
 * each was allocated and used), and every sampled one that was garbage collected without being released is recorded
 * for {@link LeakCheckExtension}. Netty itself only logs leaks, and late. A leaked direct buffer is native memory a
 * master never gets back; a leak on a path every request takes is sampled within a few hundred requests. PARANOID,
 * tracking every buffer, made the event loop too slow for the tests that flood the master.
 */
public final class NettyLeaks {
  private static final String CANARY = "taskmaster-leak-canary-";
  private static final AtomicLong CANARIES = new AtomicLong();
  private static final Set<String> CANARIES_SEEN = ConcurrentHashMap.newKeySet();
  private static final List<String> LEAKS = new ArrayList<>();
  private static ResourceLeakDetector<ByteBuf> detector;

  private NettyLeaks() {}

  /** Samples buffers from now on and listens to the buffers' detector; idempotent. */
  static synchronized void install() {
    if (detector != null) {
      return;
    }
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.ADVANCED);
    detector = buffersDetector();
    detector.setLeakListener(NettyLeaks::record);
  }

  /**
   * The detector every Netty buffer is tracked by. Netty keeps it in a package-private field, and may create it
   * before any hook of ours runs, so it is read rather than replaced.
   */
  @SuppressWarnings("unchecked")
  private static ResourceLeakDetector<ByteBuf> buffersDetector() {
    try {
      Field field = AbstractByteBuf.class.getDeclaredField("leakDetector");
      field.setAccessible(true);
      return (ResourceLeakDetector<ByteBuf>) field.get(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("cannot find Netty's buffer leak detector (AbstractByteBuf.leakDetector): "
          + "a Netty upgrade moved it; update the testkit's leak check", e);
    }
  }

  /**
   * The leaks found since the last call. Collects garbage until a buffer leaked on purpose now has been reported,
   * so that every buffer that became unreachable before it has been looked at too.
   */
  static synchronized List<String> collect(Duration atMost) {
    install();
    String canary = CANARY + CANARIES.incrementAndGet() + ";";
    leakOnPurpose(canary);
    Awaitility.await("Netty's leak report of a buffer leaked on purpose").atMost(atMost)
        .pollInterval(Duration.ofMillis(10))
        .until(() -> {
          System.gc();
          ByteBuf probe = Unpooled.buffer(1);
          detector.trackForcibly(probe).close(probe); // the detector reports what was collected when it tracks
          return CANARIES_SEEN.remove(canary);
        });
    synchronized (LEAKS) {
      List<String> found = new ArrayList<>(LEAKS);
      LEAKS.clear();
      return found;
    }
  }

  /** Tracks a buffer, whatever the sampling, and drops it unreleased: it becomes garbage on return. */
  private static void leakOnPurpose(String hint) {
    ByteBuf buffer = Unpooled.buffer(1);
    ResourceLeakTracker<ByteBuf> tracker = detector.trackForcibly(buffer);
    tracker.record(hint);
  }

  private static void record(String resourceType, String records) {
    int at = records.indexOf(CANARY);
    if (at >= 0) {
      CANARIES_SEEN.add(records.substring(at, records.indexOf(';', at) + 1));
      return;
    }
    synchronized (LEAKS) {
      LEAKS.add(resourceType + " was garbage collected without release():" + records);
    }
  }
}
