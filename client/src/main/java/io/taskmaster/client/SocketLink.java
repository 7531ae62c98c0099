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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Link} on a blocking socket, as Jedis and JDBC drivers do it: the thread that sends a request writes it
 * to the socket itself, and one reader thread per connection blocks in {@code read} and hands each frame to the
 * connection. A request then wakes the master and the caller, not also an event loop in between (docs/benchmarks.md,
 * "the client on a blocking socket").
 *
 * <p>Writers combine: a thread that finds another writing leaves its frame in the outbox, and the one writing hands
 * what is left when it is done to the writer thread, so a burst from many threads leaves in few system calls and
 * no caller writes more than one batch of others' frames. A caller that writes blocks while the socket's send
 * buffer is full; the outbox itself is not bounded (frames of callers that did not get to write wait there).
 *
 * <p>Some threads never write themselves; they leave their frames to the writer thread. The reader thread
 * (callbacks of completed requests run on it): blocked in a write it would stop reading, and a master that stops
 * reading from a client who does not read its answers would then never drain the write - a deadlock. A
 * {@link NonBlockingThread}, such as the workers' timer. And virtual threads, where an interrupt closes a socket
 * blocked in IO (JDK 21+). {@code java.net.Socket} streams rather than an interruptible {@code SocketChannel} keep
 * interrupted platform threads (a handler cancelled by its worker) from closing the connection the same way.
 *
 * <p>The reader and writer are platform threads even where virtual threads exist: a virtual thread blocked in a
 * socket read is woken through the JDK's poller thread, one hand-off more per frame than the kernel waking ours.
 */
final class SocketLink implements Link {
  private static final int CHUNK_BYTES = 64 * 1024;
  private static final int WRITE_BATCH_BYTES = 256 * 1024;

  private final Connection connection;
  private final Socket socket;
  private final InputStream input;
  private final OutputStream output;
  private final FrameReader frames;
  private final ConcurrentLinkedQueue<Envelope> outbox = new ConcurrentLinkedQueue<>();
  private final ReentrantLock writing = new ReentrantLock();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Thread reader;
  private final Thread writer;
  /** Why the link failed, when a write found out first: the reader reports it. */
  private volatile Throwable failure;
  /** Only touched while holding {@link #writing}. */
  private ByteBuf writeBuffer = Unpooled.buffer(CHUNK_BYTES);

  private SocketLink(Connection connection, Socket socket, int maxFrameBytes, String target) throws IOException {
    this.connection = connection;
    this.socket = socket;
    this.input = socket.getInputStream();
    this.output = socket.getOutputStream();
    this.frames = new FrameReader(false, maxFrameBytes);
    this.reader = new Thread(this::readLoop, "taskmaster-client-reader-" + target);
    this.writer = new Thread(this::writeLoop, "taskmaster-client-writer-" + target);
    reader.setDaemon(true);
    writer.setDaemon(true);
    connection.attach(this);
  }

  /** Connects, sends the preface and starts reading; the handshake then runs on the reader thread. */
  static SocketLink connect(String host, int port, Duration timeout, int maxFrameBytes, Connection connection)
      throws IOException {
    Socket socket = new Socket();
    SocketLink link = null;
    try {
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(host, port), (int) Math.max(1, Math.min(Integer.MAX_VALUE,
          timeout.toMillis())));
      link = new SocketLink(connection, socket, maxFrameBytes, host + ":" + port);
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
    if (current == reader || current instanceof NonBlockingThread || VirtualThreads.isVirtual(current)) {
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

  /** Encodes and writes frames until the outbox is empty or a batch is full; returns the frames it could not encode. */
  private List<Refusal> writeQueued() throws IOException {
    ByteBuf out = writeBuffer;
    out.clear();
    List<Refusal> refusals = null;
    Envelope envelope;
    while (out.readableBytes() < WRITE_BATCH_BYTES && (envelope = outbox.poll()) != null) {
      int frameStart = out.writerIndex();
      try {
        FrameEncoder.writeFrame(envelope, out);
      } catch (RuntimeException unencodable) {
        out.writerIndex(frameStart);
        refusals = refusals == null ? new ArrayList<>() : refusals;
        refusals.add(new Refusal(envelope.requestId(), unencodable));
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

  private void readLoop() {
    ByteBuf in = Unpooled.buffer(CHUNK_BYTES);
    List<Object> decoded = new ArrayList<>();
    try {
      while (true) {
        if (in.writableBytes() < CHUNK_BYTES / 4) {
          in.discardReadBytes();
          in.ensureWritable(CHUNK_BYTES);
        }
        int read = input.read(in.array(), in.arrayOffset() + in.writerIndex(), in.writableBytes());
        if (read < 0) {
          return;
        }
        in.writerIndex(in.writerIndex() + read);
        ProtocolException unreadable = null;
        try {
          frames.read(in, decoded);
        } catch (ProtocolException e) {
          unreadable = e;
        }
        for (Object frame : decoded) {
          connection.received(frame);
        }
        decoded.clear();
        if (unreadable != null) {
          throw unreadable;
        }
        if (in.capacity() > CHUNK_BYTES * 4 && in.readableBytes() < CHUNK_BYTES / 2) {
          in = Unpooled.buffer(CHUNK_BYTES).writeBytes(in); // a huge frame came in: do not keep its buffer
        }
      }
    } catch (IOException e) {
      Throwable cause = failure != null ? failure : closed.get() ? null : e;
      if (cause != null) {
        connection.linkFailed(cause);
      }
    } catch (Throwable e) {
      connection.linkFailed(e);
      if (e instanceof Error error) {
        throw error;
      }
    } finally {
      close();
      connection.linkClosed();
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
    }
  }

  private record Refusal(int requestId, RuntimeException why) {}
}
