package io.taskmaster.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.wire.FrameEncoder;
import io.taskmaster.protocol.wire.FrameReader;
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
 * connection. A request then wakes the master and the caller, not also an event loop in between (single mode ran
 * 20-30% faster with one worker and 2.6 times faster with four than on a Netty event loop: docs/benchmarks.md).
 *
 * <p>Writers combine: a thread that finds another writing leaves its frame in the outbox, and the writer sends it
 * before it lets go, so a burst from many threads still leaves in few system calls. A caller blocks while the
 * socket's send buffer is full: the master's backpressure reaches the producer instead of a queue in memory.
 *
 * <p>Two kinds of caller never write themselves; they leave their frames to a writer thread. The reader thread
 * (callbacks of completed requests run on it): blocked in a write it would stop reading, and a master that stops
 * reading from a client who does not read its answers would then never drain the write - a deadlock. And virtual
 * threads, where an interrupt closes a socket blocked in IO (JDK 21+); {@code java.net.Socket} streams rather than
 * an interruptible {@code SocketChannel} keep interrupted platform threads (a handler cancelled by its worker) from
 * closing the connection the same way.
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
    try {
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
      SocketLink link = new SocketLink(connection, socket, maxFrameBytes, host + ":" + port);
      ByteBuf preface = Unpooled.buffer(Wire.PREFACE_BYTES);
      FrameEncoder.writePreface(preface, Wire.VERSION);
      link.output.write(preface.array(), preface.arrayOffset(), preface.readableBytes());
      link.reader.start();
      link.writer.start();
      return link;
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  @Override
  public void send(Envelope envelope) {
    outbox.add(envelope);
    Thread current = Thread.currentThread();
    if (current == reader || VirtualThreads.isVirtual(current)) {
      LockSupport.unpark(writer);
    } else {
      flush();
    }
  }

  /** Writes what the reader thread and virtual threads leave; waits for the lock like any writer. */
  private void writeLoop() {
    while (!closed.get()) {
      if (outbox.isEmpty()) {
        LockSupport.park(this);
        continue;
      }
      writing.lock();
      try {
        writeQueued();
      } catch (IOException e) {
        close();
      } finally {
        writing.unlock();
      }
    }
  }

  /** Writes what the outbox holds unless another thread is at it; that one then writes ours before it stops. */
  private void flush() {
    while (!outbox.isEmpty() && writing.tryLock()) {
      try {
        writeQueued();
      } catch (IOException e) {
        close(); // the reader sees the socket closed, and the connection fails what waits
      } finally {
        writing.unlock();
      }
    }
  }

  private void writeQueued() throws IOException {
    ByteBuf out = writeBuffer;
    out.clear();
    Envelope envelope;
    while ((envelope = outbox.poll()) != null) {
      int frameStart = out.writerIndex();
      try {
        FrameEncoder.writeFrame(envelope, out);
      } catch (RuntimeException unencodable) {
        out.writerIndex(frameStart);
        connection.refused(envelope.requestId(), unencodable);
        continue;
      }
      if (out.readableBytes() >= WRITE_BATCH_BYTES) {
        output.write(out.array(), out.arrayOffset() + out.readerIndex(), out.readableBytes());
        out.clear();
      }
    }
    if (out.isReadable()) {
      output.write(out.array(), out.arrayOffset() + out.readerIndex(), out.readableBytes());
    }
    if (out.capacity() > WRITE_BATCH_BYTES * 4) {
      writeBuffer = Unpooled.buffer(CHUNK_BYTES); // a huge frame went out: do not keep its buffer
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
        try {
          frames.read(in, decoded);
        } finally {
          for (Object frame : decoded) {
            connection.received(frame);
          }
          decoded.clear();
        }
        if (!in.isReadable() && in.capacity() > CHUNK_BYTES * 4) {
          in = Unpooled.buffer(CHUNK_BYTES); // a huge frame came in: do not keep its buffer
        }
      }
    } catch (IOException e) {
      if (!closed.get()) {
        connection.linkFailed(e);
      }
    } catch (RuntimeException e) {
      connection.linkFailed(e);
    } finally {
      close();
      connection.linkClosed();
    }
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
}
