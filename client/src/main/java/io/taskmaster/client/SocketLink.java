package io.taskmaster.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.taskmaster.broker.NonBlockingThread;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.wire.FrameEncoder;
import io.taskmaster.protocol.wire.FrameReader;
import io.taskmaster.protocol.wire.ProtocolException;
import io.taskmaster.protocol.wire.Wire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Link} on a blocking socket, as Jedis and JDBC drivers do it: the thread that sends a request writes it
 * to the socket itself, and the thread that waits for an answer reads it itself when nobody else is reading. A
 * round trip then wakes the master and the caller, not also an event loop or a reader thread in between
 * (docs/benchmarks.md, "the client on a blocking socket" and "callers read their own answers").
 *
 * <p>Reading: one thread at a time reads the socket and hands each frame to the connection, which completes
 * whatever waits on it ({@link ReadTurns} says whose turn it is). A reader thread per connection reads whenever no
 * caller does, so pushes and answers that nobody waits on yet (a callback's) are read too. A caller that waits on
 * an answer ({@link AnswerFuture#join()}, {@code get}) reads when it gets the turn, in slices of 20 ms so that an
 * interrupt or a deadline is seen, and leaves the turn once its answer is in. A caller that finds the reader thread
 * blocked in a read waits for that read to return.
 *
 * <p>Writers combine: a thread that finds another writing leaves its frame in the outbox, and the one writing hands
 * what is left when it is done to the writer thread, so a burst from many threads leaves in few system calls and
 * no caller writes more than one batch of others' frames. A caller that writes blocks while the socket's send
 * buffer is full; the outbox itself is not bounded (frames of callers that did not get to write wait there).
 *
 * <p>Some threads never write themselves; they leave their frames to the writer thread. The thread reading, reader
 * or caller (callbacks of completed requests run on it): blocked in a write it would stop reading, and a master that
 * stops reading from a client who does not read its answers would then never drain the write - a deadlock. A
 * {@link NonBlockingThread}, such as the workers' timer. And virtual threads, where an interrupt closes a socket
 * blocked in IO (JDK 21+); for that reason they do not read either, nor do fork-join pool threads, whose pool would
 * not know they block. {@code java.net.Socket} streams rather than an interruptible {@code SocketChannel} keep
 * interrupted platform threads (a handler cancelled by its worker) from closing the connection the same way.
 *
 * <p>The reader and writer are platform threads even where virtual threads exist: a virtual thread blocked in a
 * socket read is woken through the JDK's poller thread, one hand-off more per frame than the kernel waking ours.
 */
final class SocketLink implements Link {
  private static final int CHUNK_BYTES = 64 * 1024;
  private static final int WRITE_BATCH_BYTES = 256 * 1024;
  /** How long a caller reads before it looks at its interrupt flag and deadline again. */
  private static final long SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  private final Connection connection;
  private final Socket socket;
  private final InputStream input;
  private final OutputStream output;
  private final FrameReader frames;
  /** The longest frame sent; a request whose frame is longer fails alone, and the connection stays. */
  private final FrameLimit sendLimit;
  private final ConcurrentLinkedQueue<Envelope> outbox = new ConcurrentLinkedQueue<>();
  private final ReentrantLock writing = new ReentrantLock();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Thread reader;
  private final Thread writer;
  /** Why the link failed, when a write found out first: the reader reports it. */
  private volatile Throwable failure;
  /** Only touched while holding {@link #writing}. */
  private ByteBuf writeBuffer = Unpooled.buffer(CHUNK_BYTES);
  /** Whose turn it is to read the socket: the reader thread's, a caller's, or nobody's yet. */
  private final ReadTurns turns;
  private final AtomicBoolean readingEnded = new AtomicBoolean();
  /** What has been read and not yet decoded; only touched by the thread whose turn it is, as are the next two. */
  private ByteBuf in = Unpooled.buffer(CHUNK_BYTES);
  private final List<Object> decoded = new ArrayList<>();
  private int soTimeoutMillis;

  private SocketLink(Connection connection, Socket socket, int maxReadBytes, FrameLimit sendLimit, String target)
      throws IOException {
    this.connection = connection;
    this.socket = socket;
    this.input = socket.getInputStream();
    this.output = socket.getOutputStream();
    this.frames = new FrameReader(false, maxReadBytes);
    this.sendLimit = sendLimit;
    this.reader = new Thread(this::readLoop, "taskmaster-client-reader-" + target);
    this.writer = new Thread(this::writeLoop, "taskmaster-client-writer-" + target);
    this.turns = new ReadTurns(reader, connection::awaitsAnswers);
    reader.setDaemon(true);
    writer.setDaemon(true);
    connection.attach(this);
  }

  /** Connects, sends the preface and starts reading; the handshake then runs on the reader thread. */
  static SocketLink connect(String host, int port, Duration timeout, int maxReadBytes, FrameLimit sendLimit,
      Connection connection) throws IOException {
    Socket socket = new Socket();
    SocketLink link = null;
    try {
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(host, port), (int) Math.max(1, Math.min(Integer.MAX_VALUE,
          timeout.toMillis())));
      link = new SocketLink(connection, socket, maxReadBytes, sendLimit, host + ":" + port);
      ByteBuf preface = Unpooled.buffer(Wire.PREFACE_BYTES);
      FrameEncoder.writePreface(preface, Wire.VERSION);
      link.output.write(preface.array(), preface.arrayOffset(), preface.readableBytes());
      link.writer.start();
      link.reader.start();
      return link;
    } catch (Throwable e) {
      if (link != null) {
        link.close();
      }
      socket.close();
      throw e;
    }
  }

  @Override
  public void queue(Envelope envelope) {
    outbox.add(envelope);
  }

  @Override
  public void flush() {
    Thread current = Thread.currentThread();
    if (current == reader || turns.isHeldBy(current) || current instanceof NonBlockingThread
        || VirtualThreads.isVirtual(current)) {
      LockSupport.unpark(writer);
    } else {
      writeOut();
    }
  }

  /**
   * Writes one batch from the outbox unless another thread is writing; that one hands our frame on when it is done.
   * Whatever is left after the batch goes to the writer thread.
   */
  private void writeOut() {
    if (writing.isHeldByCurrentThread()) {
      return; // sent from a refusal's callback inside writeQueued; it is written after the frames before it
    }
    if (!writing.tryLock()) {
      return;
    }
    List<Refusal> refusals;
    try {
      refusals = writeQueued();
    } catch (IOException e) {
      fail(e); // the caller hears of it from its request's future, as everyone waiting does
      return;
    } catch (RuntimeException | Error e) {
      fail(e);
      throw e;
    } finally {
      writing.unlock();
    }
    refuse(refusals);
    if (!outbox.isEmpty()) {
      LockSupport.unpark(writer);
    }
  }

  /** Writes what the reader thread, timers, virtual threads and busy writers leave. */
  private void writeLoop() {
    try {
      while (!closed.get()) {
        Thread.interrupted(); // park returns at once while the flag is set: never spin on it
        if (outbox.isEmpty()) {
          LockSupport.park(this);
          continue;
        }
        List<Refusal> refusals;
        writing.lock();
        try {
          refusals = writeQueued();
        } finally {
          writing.unlock();
        }
        refuse(refusals);
      }
    } catch (Throwable e) {
      fail(e);
    }
  }

  /**
   * Encodes and writes frames until the outbox is empty or a batch is full; returns the frames it could not encode
   * and those longer than the master takes.
   */
  private List<Refusal> writeQueued() throws IOException {
    ByteBuf out = writeBuffer;
    out.clear();
    List<Refusal> refusals = null;
    Envelope envelope;
    while (out.readableBytes() < WRITE_BATCH_BYTES && (envelope = outbox.poll()) != null) {
      int frameStart = out.writerIndex();
      RuntimeException refused;
      try {
        FrameEncoder.writeFrame(envelope, out);
        int length = out.writerIndex() - frameStart - 4;
        refused = sendLimit.fits(length) ? null : sendLimit.tooLarge(envelope.message(), length);
      } catch (RuntimeException unencodable) {
        refused = unencodable;
      }
      if (refused != null) {
        out.writerIndex(frameStart);
        refusals = refusals == null ? new ArrayList<>() : refusals;
        refusals.add(new Refusal(envelope.requestId(), refused));
      }
    }
    if (out.isReadable()) {
      output.write(out.array(), out.arrayOffset() + out.readerIndex(), out.readableBytes());
    }
    out.clear();
    if (out.capacity() > WRITE_BATCH_BYTES * 4) {
      writeBuffer = Unpooled.buffer(CHUNK_BYTES); // a huge frame went out: do not keep its buffer
    }
    return refusals;
  }

  /** Fails the requests that could not be encoded; outside the lock, since their callbacks may send. */
  private void refuse(List<Refusal> refusals) {
    if (refusals != null) {
      refusals.forEach(refusal -> connection.refused(refusal.requestId, refusal.why));
    }
  }

  @Override
  public void readUntil(CompletableFuture<?> answer, long timeoutNanos, boolean interruptible) {
    Thread me = Thread.currentThread();
    if (answer.isDone() || !mayRead(me)) {
      return;
    }
    long start = System.nanoTime();
    boolean interrupted = false;
    ReadTurns.Waiter self = turns.queue(me, answer);
    try {
      while (!answer.isDone() && !closed.get() && !(interruptible && me.isInterrupted())) {
        long left = timeoutNanos - (System.nanoTime() - start);
        if (left <= 0) {
          return;
        }
        if (turns.take(self)) {
          try {
            readAsCaller(answer, start, timeoutNanos, interruptible);
          } finally {
            turns.release(me);
          }
          return;
        }
        // Woken by the thread reading, once it has read our answer or offers us the turn; the bound is for an
        // answer completed some other way (a timeout of the caller's, say).
        LockSupport.parkNanos(this, Math.min(left, SLICE_NANOS));
        if (!interruptible && Thread.interrupted()) {
          interrupted = true; // join() ignores interrupts, and a set flag would make every park return at once
        }
      }
    } finally {
      turns.leave(self);
      if (interrupted) {
        me.interrupt();
      }
    }
  }

  /** Threads that must not block in a socket read, or cannot read here, wait as for any future. */
  private boolean mayRead(Thread thread) {
    return !closed.get() && thread != reader && thread != writer && !turns.isHeldBy(thread)
        && !(thread instanceof NonBlockingThread) && !(thread instanceof ForkJoinWorkerThread)
        && !VirtualThreads.isVirtual(thread);
  }

  /** Reads on the caller's thread, in slices of a bounded wait so that an interrupt or a deadline is seen. */
  private void readAsCaller(CompletableFuture<?> answer, long start, long timeoutNanos, boolean interruptible) {
    try {
      while (!answer.isDone() && !(interruptible && Thread.currentThread().isInterrupted())) {
        long left = timeoutNanos - (System.nanoTime() - start);
        if (left <= 0) {
          return;
        }
        try {
          if (!readSome(readTimeoutMillis(left))) {
            endReading(null);
            return;
          }
          turns.wakeAnswered();
        } catch (SocketTimeoutException slice) {
          // nothing yet: look at the answer, the interrupt and the deadline again
        }
      }
    } catch (Throwable e) {
      endReading(e);
      if (e instanceof Error error) {
        throw error;
      }
    }
  }

  private static int readTimeoutMillis(long leftNanos) {
    return (int) Math.max(1, Math.min(SLICE_NANOS, leftNanos) / 1_000_000);
  }

  /** The reader thread: reads whenever no caller does, so that pushes and answers nobody waits on are read too. */
  private void readLoop() {
    Throwable failed = null;
    try {
      while (!closed.get()) {
        if (!turns.readerTakes()) {
          continue;
        }
        boolean open;
        try {
          open = readSome(0);
        } finally {
          turns.readerDone();
        }
        if (!open) {
          break;
        }
      }
    } catch (Throwable e) {
      failed = e;
      if (e instanceof Error error) {
        throw error;
      }
    } finally {
      endReading(failed);
    }
  }

  /**
   * Reads once (waiting up to {@code timeoutMillis}, 0 for ever) and hands the frames read to the connection; false
   * at the end of the stream. Only the thread whose turn it is calls it.
   */
  private boolean readSome(int timeoutMillis) throws IOException {
    if (timeoutMillis != soTimeoutMillis) {
      socket.setSoTimeout(timeoutMillis);
      soTimeoutMillis = timeoutMillis;
    }
    if (in.writableBytes() < CHUNK_BYTES / 4) {
      in.discardReadBytes();
      in.ensureWritable(CHUNK_BYTES);
    }
    int read = input.read(in.array(), in.arrayOffset() + in.writerIndex(), in.writableBytes());
    if (read < 0) {
      return false;
    }
    in.writerIndex(in.writerIndex() + read);
    ProtocolException unreadable = null;
    try {
      frames.read(in, decoded);
    } catch (ProtocolException e) {
      unreadable = e;
    }
    try {
      for (Object frame : decoded) {
        connection.received(frame);
      }
    } finally {
      decoded.clear();
    }
    if (unreadable != null) {
      throw unreadable;
    }
    if (in.capacity() > CHUNK_BYTES * 4 && in.readableBytes() < CHUNK_BYTES / 2) {
      in = Unpooled.buffer(CHUNK_BYTES).writeBytes(in); // a huge frame came in: do not keep its buffer
    }
    return true;
  }

  /**
   * Reading is over (the end of the stream, an error, or the link closed): the connection hears why, once, from
   * whichever thread found out.
   */
  private void endReading(Throwable error) {
    if (!readingEnded.compareAndSet(false, true)) {
      return;
    }
    try {
      Throwable cause = failure != null ? failure
          : error instanceof IOException && closed.get() ? null : error;
      if (cause != null) {
        connection.linkFailed(cause);
      }
    } finally {
      close();
      connection.linkClosed();
      turns.wakeAnswered(); // their answers failed with the connection
    }
  }

  /** A write failed: the socket closes, and the reader reports this cause to the connection. */
  private void fail(Throwable cause) {
    if (failure == null) {
      failure = cause;
    }
    close();
  }

  @Override
  public void authenticated() {
    frames.authenticated();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway; nothing to tell anyone
      }
      LockSupport.unpark(writer);
      turns.wakeReader(); // it may be waiting for callers to leave the socket to it: now it reports the end
    }
  }

  private record Refusal(int requestId, RuntimeException why) {}

}
