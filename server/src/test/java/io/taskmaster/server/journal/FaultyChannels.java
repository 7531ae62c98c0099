package io.taskmaster.server.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Segment channels with disk faults on demand (reliability-tests.md, "disk faults"): a full disk that fails writes
 * after writing half of what it was given, a failing fsync, and a gate that holds an fsync until the test opens it.
 * Forces are counted.
 */
final class FaultyChannels implements SegmentChannels {
  final AtomicBoolean diskFull = new AtomicBoolean();
  final AtomicBoolean fsyncFails = new AtomicBoolean();
  final AtomicInteger forces = new AtomicInteger();
  /** Forces begun: a change written before force n began is on disk once n forces have completed. */
  final AtomicInteger forcesStarted = new AtomicInteger();
  final AtomicInteger writeFailures = new AtomicInteger();
  volatile CountDownLatch forceGate;
  /** How much of each file was on disk at its last fsync: what a power loss leaves. */
  final java.util.Map<Path, Long> forcedLength = new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public FileChannel create(Path file) throws IOException {
    if (diskFull.get()) {
      throw new IOException("No space left on device");
    }
    return new Faulty(file, FILES.create(file));
  }

  private final class Faulty extends FileChannel {
    private final Path file;
    private final FileChannel real;

    Faulty(Path file, FileChannel real) {
      this.file = file;
      this.real = real;
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
      if (diskFull.get()) {
        writeFailures.incrementAndGet();
        if (src.remaining() > 1) {
          ByteBuffer half = src.slice(src.position(), src.remaining() / 2);
          real.write(half, position); // a short write, then the error: the journal must cut it off
        }
        throw new IOException("No space left on device");
      }
      return real.write(src, position);
    }

    @Override
    public void force(boolean metaData) throws IOException {
      forcesStarted.incrementAndGet();
      CountDownLatch gate = forceGate;
      if (gate != null) {
        try {
          gate.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (fsyncFails.get()) {
        throw new IOException("Input/output error");
      }
      long size = real.size();
      real.force(metaData);
      forcedLength.put(file, size);
      forces.incrementAndGet();
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      return real.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
      return real.read(dsts, offset, length);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      return write(src, real.position());
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
      throw new UnsupportedOperationException("the journal writes one buffer at a time");
    }

    @Override
    public long position() throws IOException {
      return real.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
      real.position(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      return real.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
      real.truncate(size);
      return this;
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
      return real.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
      return real.transferFrom(src, position, count);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return real.read(dst, position);
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
      return real.map(mode, position, size);
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
      return real.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
      return real.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
      real.close();
    }
  }
}
