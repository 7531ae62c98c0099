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
  /** Tracks the buffers leaked on purpose, apart from Netty's, so that they are not logged as leaks. */
  private static final ResourceLeakDetector<ByteBuf> CANARY_DETECTOR = new ResourceLeakDetector<>(ByteBuf.class, 1) {
    @Override
    protected boolean needReport() {
      return true; // whatever the log level
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      record(resourceType, records);
    }
  };
  /** Netty's own, the one every buffer allocation goes through; set by {@link #install()}. */
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
   * then has Netty's detector report too: the buffers that became unreachable before the one leaked on purpose were
   * found by the same collection.
   */
  static synchronized List<String> collect(Duration atMost) {
    install();
    String canary = CANARY + CANARIES.incrementAndGet() + ";";
    leakOnPurpose(canary);
    Awaitility.await("the leak report of a buffer leaked on purpose").atMost(atMost)
        .pollInterval(Duration.ofMillis(10))
        .until(() -> {
          System.gc();
          reportCollected(CANARY_DETECTOR);
          return CANARIES_SEEN.remove(canary);
        });
    reportCollected(detector);
    synchronized (LEAKS) {
      List<String> found = new ArrayList<>(LEAKS);
      LEAKS.clear();
      return found;
    }
  }

  /** Tracks a buffer, whatever the sampling, and drops it unreleased: it becomes garbage on return. */
  private static void leakOnPurpose(String hint) {
    ByteBuf buffer = Unpooled.buffer(1);
    ResourceLeakTracker<ByteBuf> tracker = CANARY_DETECTOR.trackForcibly(buffer);
    tracker.record(hint);
  }

  /** A detector reports the collected buffers it tracked when it tracks another. */
  private static void reportCollected(ResourceLeakDetector<ByteBuf> tracking) {
    ByteBuf probe = Unpooled.buffer(1);
    tracking.trackForcibly(probe).close(probe);
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
