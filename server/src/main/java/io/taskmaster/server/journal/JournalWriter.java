package io.taskmaster.server.journal;

import io.taskmaster.server.engine.EngineChange;
import io.taskmaster.server.engine.EngineException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends records to the current segment with group commit. Callers encode their change into a shared buffer
 * (under the engine's lock, so in engine order) and go on; one writer thread takes everything buffered, writes it
 * with one call and forces it with one fsync, then completes every {@link #durable()} future the batch covers. The
 * more writers wait, the more each fsync carries: the fsync rate of the disk bounds batches per second, not tasks.
 *
 * <h2>Failures</h2>
 *
 * A failed write (a full disk, a file size limit) loses nothing: the segment is cut back to its last complete
 * record, the batch stays in memory and is written again every second; meanwhile {@link #checkWritable()} refuses
 * new tasks, and the acknowledgements waiting for the batch wait with it. When space returns, everything resumes by
 * itself. A failed fsync is different: the kernel may have dropped the dirty pages and a second fsync could report
 * success for data that is gone, so the writer stops for good (fail-stop), fails every waiting acknowledgement and
 * refuses every change; a restart recovers from what the disk really holds.
 */
final class JournalWriter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JournalWriter.class);
  private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

  private record Waiter(long sequence, CompletableFuture<Void> future, boolean forced) {}

  private final Path directory;
  private final FsyncMode mode;
  private final long windowNanos;
  private final long segmentBytes;
  private final SegmentChannels channels;
  private final CompletableFuture<Void> done = CompletableFuture.completedFuture(null);

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition work = lock.newCondition();
  // Guarded by lock:
  private RecordBuffer pending = new RecordBuffer(1 << 16);
  /** Offsets in {@code pending} where a new segment starts. */
  private List<Integer> pendingRotations = new ArrayList<>();
  private long appended;
  private long durableSequence;
  private long appendSegment;
  private long bytesAppended;
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private boolean forceRequested;
  private boolean closing;
  private volatile String unwritable;
  private volatile IOException failed;

  // Owned by the writer thread:
  private RecordBuffer writing = new RecordBuffer(1 << 16);
  private FileChannel channel;
  private long channelNumber;
  private long channelSize;
  private long lastForceNanos = System.nanoTime();
  private boolean dirty;
  private final Thread thread;

  JournalWriter(Path directory, FsyncMode mode, long windowNanos, long segmentBytes, long firstSegment,
      SegmentChannels channels) throws IOException {
    this.directory = directory;
    this.mode = mode;
    this.windowNanos = windowNanos;
    this.segmentBytes = segmentBytes;
    this.channels = channels;
    this.appendSegment = firstSegment;
    openSegment(firstSegment);
    this.thread = new Thread(this::run, "taskmaster-journal");
    thread.setDaemon(true);
    thread.start();
  }

  void append(EngineChange change) {
    lock.lock();
    try {
      if (failed != null || closing) {
        // Fail-stop or closed: nothing more is written, and a waiter for this change will be told so.
        appended++;
        return;
      }
      int start = RecordFormat.beginRecord(pending);
      try {
        ChangeCodec.encode(change, pending);
      } catch (RuntimeException e) {
        pending.truncate(start);
        throw e;
      }
      RecordFormat.sealRecord(pending, start);
      bytesAppended += pending.size() - start;
      appended++;
      if (pending.size() - start == pending.size()) {
        work.signal(); // the writer may be idle; later appends of the same burst find it busy or signalled
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Starts a new segment at this point of the record stream; returns its number, or a lower one when the writer
   * also started a segment because the current one was full: every record appended after this call is in the
   * returned segment or a later one.
   */
  long rotate() {
    lock.lock();
    try {
      pendingRotations.add(pending.size());
      work.signal();
      return ++appendSegment;
    } finally {
      lock.unlock();
    }
  }

  long bytesAppended() {
    lock.lock();
    try {
      return bytesAppended;
    } finally {
      lock.unlock();
    }
  }

  void checkWritable() {
    IOException failure = failed;
    if (failure != null) {
      throw new EngineException(EngineException.Reason.STORAGE, "the master stopped writing its journal after an "
          + "fsync failed (" + failure.getMessage() + "); it accepts no changes until it is restarted, which "
          + "recovers from what the disk holds");
    }
    String reason = unwritable;
    if (reason != null) {
      throw new EngineException(EngineException.Reason.STORAGE, "the master cannot write its journal in "
          + directory + " (" + reason + "); new tasks are refused until it can: free disk space there");
    }
  }

  CompletableFuture<Void> durable() {
    return waitFor(false);
  }

  /** Completes once everything appended so far is written and forced, whatever the fsync mode. */
  CompletableFuture<Void> forced() {
    return waitFor(true);
  }

  private CompletableFuture<Void> waitFor(boolean force) {
    lock.lock();
    try {
      if (failed != null) {
        return CompletableFuture.failedFuture(storageFailure());
      }
      if (!force && (mode == FsyncMode.NONE || durableSequence >= appended)) {
        return done;
      }
      if (closing && !thread.isAlive()) {
        // Closed: what was appended before is on disk; anything later was never taken.
        return durableSequence >= appended ? done : CompletableFuture.failedFuture(new EngineException(
            EngineException.Reason.STORAGE, "the journal is closed; the master is stopping"));
      }
      CompletableFuture<Void> future = new CompletableFuture<>();
      waiters.add(new Waiter(appended, future, force));
      forceRequested |= force;
      work.signal();
      return future;
    } finally {
      lock.unlock();
    }
  }

  private EngineException storageFailure() {
    return new EngineException(EngineException.Reason.STORAGE, "the change may not be on disk: the journal failed ("
        + failed.getMessage() + ") and the master accepts no changes until it is restarted");
  }

  private void run() {
    List<Integer> rotations;
    long target;
    boolean force;
    while (true) {
      lock.lock();
      try {
        while (pending.size() == 0 && pendingRotations.isEmpty() && !forceRequested && !closing) {
          if (dirty && mode == FsyncMode.BATCH) {
            long left = windowNanos - (System.nanoTime() - lastForceNanos);
            if (left <= 0) {
              break;
            }
            work.awaitNanos(left);
          } else {
            work.await();
          }
        }
        if (closing && pending.size() == 0 && pendingRotations.isEmpty()) {
          break;
        }
        RecordBuffer swap = writing;
        writing = pending;
        pending = swap;
        rotations = pendingRotations;
        pendingRotations = new ArrayList<>();
        target = appended;
        force = forceRequested || mode == FsyncMode.ALWAYS || closing;
        forceRequested = false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } finally {
        lock.unlock();
      }
      if (!writeBatch(rotations)) {
        return;
      }
      boolean forceNow = force || (mode == FsyncMode.BATCH && System.nanoTime() - lastForceNanos >= windowNanos);
      if (forceNow && dirty && !forceSegment()) {
        return;
      }
      completeUpTo(target, forceNow || !dirty);
    }
    if (dirty) {
      forceSegment();
    }
    closeChannel();
    completeUpTo(appended, true);
  }

  /** Writes the batch, starting segments where asked; retries a failed write until it succeeds or is closed. */
  private boolean writeBatch(List<Integer> rotations) {
    int from = 0;
    int next = 0;
    while (true) {
      try {
        while (true) {
          int to = next < rotations.size() ? rotations.get(next) : writing.size();
          writeFully(from, to);
          from = to;
          if (next < rotations.size()) {
            startSegment(channelNumber + 1);
            next++;
          } else {
            break;
          }
        }
        if (channelSize >= segmentBytes) {
          lock.lock();
          try {
            pendingRotations.add(0, 0);
            appendSegment++;
          } finally {
            lock.unlock();
          }
        }
        writing.clear();
        if (unwritable != null) {
          log.info("the journal in {} is writable again; new tasks are accepted", directory);
          unwritable = null;
        }
        return true;
      } catch (IOException e) {
        if (!recoverFromWriteFailure(e)) {
          return false;
        }
      } catch (FailStop e) {
        return false;
      }
    }
  }

  private void writeFully(int from, int to) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(writing.array(), from, to - from);
    long start = channelSize;
    try {
      while (bytes.hasRemaining()) {
        channel.write(bytes, channelSize + (bytes.position() - from));
      }
    } catch (IOException e) {
      // Cut back to the last complete record so that a retry appends whole records.
      channel.truncate(start);
      throw e;
    }
    channelSize = start + (to - from);
    dirty |= to > from;
  }

  private boolean recoverFromWriteFailure(IOException e) {
    if (unwritable == null) {
      log.error("cannot write the journal in {} ({}); new tasks are refused and acknowledgements wait until it can "
          + "be written (retrying every second)", directory, e.toString());
    }
    unwritable = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    lock.lock();
    try {
      if (!closing) {
        work.awaitNanos(RETRY_NANOS);
      }
      if (closing) {
        failed = e;
      }
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
      failed = e;
    } finally {
      lock.unlock();
    }
    if (failed != null) {
      failAll();
      return false;
    }
    return true;
  }

  private boolean forceSegment() {
    try {
      channel.force(false);
      dirty = false;
      lastForceNanos = System.nanoTime();
      return true;
    } catch (IOException e) {
      log.error("fsync of the journal in {} failed ({}); the master stops accepting changes: restart it to recover "
          + "from what the disk holds", directory, e.toString());
      failed = e;
      failAll();
      return false;
    }
  }

  /** A failed fsync ended the writer: it writes nothing more. */
  private static final class FailStop extends RuntimeException {
    FailStop() {
      super(null, null, false, false);
    }
  }

  private void startSegment(long number) throws IOException {
    // A segment is whole on disk before the next one starts, so that only the newest can be torn by a crash.
    if (dirty && !forceSegment()) {
      throw new FailStop();
    }
    closeChannel();
    openSegment(number);
  }

  private void openSegment(long number) throws IOException {
    Path file = SegmentFiles.path(directory, number);
    FileChannel created = channels.create(file);
    try {
      ByteBuffer header = ByteBuffer.wrap(RecordFormat.segmentHeader());
      while (header.hasRemaining()) {
        created.write(header, header.position());
      }
      created.force(false);
      SegmentFiles.syncDirectory(directory);
    } catch (IOException e) {
      created.close();
      java.nio.file.Files.deleteIfExists(file);
      throw e;
    }
    channel = created;
    channelNumber = number;
    channelSize = RecordFormat.SEGMENT_HEADER_BYTES;
  }

  private void closeChannel() {
    try {
      if (channel != null) {
        channel.close();
      }
    } catch (IOException e) {
      log.warn("closing journal segment failed: {}", e.toString());
    }
  }

  private void completeUpTo(long sequence, boolean forcedToo) {
    List<Waiter> ready = new ArrayList<>();
    lock.lock();
    try {
      durableSequence = Math.max(durableSequence, sequence);
      for (var it = waiters.iterator(); it.hasNext(); ) {
        Waiter waiter = it.next();
        if (waiter.sequence <= sequence && (forcedToo || !waiter.forced)) {
          it.remove();
          ready.add(waiter);
        }
      }
    } finally {
      lock.unlock();
    }
    ready.forEach(waiter -> waiter.future.complete(null));
  }

  private void failAll() {
    List<Waiter> failing;
    lock.lock();
    try {
      failing = new ArrayList<>(waiters);
      waiters.clear();
    } finally {
      lock.unlock();
    }
    EngineException failure = storageFailure();
    failing.forEach(waiter -> waiter.future.completeExceptionally(failure));
    closeChannel();
  }

  /** Writes and forces what is buffered, then stops. */
  @Override
  public void close() {
    lock.lock();
    try {
      closing = true;
      work.signal();
    } finally {
      lock.unlock();
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
