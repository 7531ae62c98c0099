package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.taskmaster.broker.AuthKey;
import io.taskmaster.protocol.auth.Handshake;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.message.Opcode;
import io.taskmaster.protocol.wire.FrameEncoder;
import io.taskmaster.protocol.wire.MessageCodec;
import io.taskmaster.protocol.wire.Wire;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/**
 * A protocol client driven by hand over a plain socket, for tests that send what no real client would: bad
 * prefaces, hostile length fields, requests before authentication, replayed proofs. Every read is bounded, so a
 * test waiting for a frame that never comes fails instead of hanging.
 */
final class RawClient implements AutoCloseable {
  /** How long a read may block before the test fails: generous, the machine is small and shared. */
  private static final int READ_TIMEOUT_MILLIS = 15_000;
  /** Frames a test expects are small; a bigger length means the stream is out of sync. */
  private static final int MAX_EXPECTED_FRAME = 1024 * 1024;

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final SocketChannel channel;

  private RawClient(Socket socket, SocketChannel channel) throws IOException {
    this.socket = socket;
    this.channel = channel;
    socket.setSoTimeout(READ_TIMEOUT_MILLIS);
    socket.setTcpNoDelay(true);
    this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
    this.out = socket.getOutputStream();
  }

  /** Connects to the master on loopback. */
  static RawClient connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), READ_TIMEOUT_MILLIS);
    return new RawClient(socket, null);
  }

  /**
   * Connects with a small receive buffer, so that little of what the master sends can hide in this side's kernel: a
   * client that never reads then backs up into the master's own buffers sooner.
   */
  static RawClient connectWithReceiveBuffer(int port, int receiveBufferBytes) throws IOException {
    Socket socket = new Socket();
    socket.setReceiveBufferSize(receiveBufferBytes); // before connecting, so that the window is agreed on it
    socket.connect(new InetSocketAddress("127.0.0.1", port), READ_TIMEOUT_MILLIS);
    return new RawClient(socket, null);
  }

  /** 127.0.0.{@code last}: on Linux all of 127.0.0.0/8 is loopback, so one test can play several client addresses. */
  static InetAddress loopback(int last) {
    try {
      return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) last});
    } catch (IOException e) {
      throw new IllegalArgumentException("no loopback address ending in " + last, e);
    }
  }

  /** Connects to the master on loopback from the given source address, such as {@link #loopback(int)}. */
  static RawClient connectFrom(InetAddress source, int port) throws IOException {
    Socket socket = new Socket();
    socket.bind(new InetSocketAddress(source, 0));
    socket.connect(new InetSocketAddress("127.0.0.1", port), READ_TIMEOUT_MILLIS);
    return new RawClient(socket, null);
  }

  /** Connects through a {@link SocketChannel}, which a test can later switch to non-blocking writes. */
  static RawClient connectChannel(int port) throws IOException {
    SocketChannel channel = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
    return new RawClient(channel.socket(), channel);
  }

  /** This end's address, as the master's log lines name the client. */
  InetSocketAddress localAddress() {
    return (InetSocketAddress) socket.getLocalSocketAddress();
  }

  SocketChannel channel() {
    if (channel == null) {
      throw new IllegalStateException("this client was opened with connect(), not connectChannel()");
    }
    return channel;
  }

  // -- writing -----------------------------------------------------------------------------------------------

  RawClient write(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
    return this;
  }

  RawClient writePreface() throws IOException {
    return writePreface(Wire.VERSION);
  }

  RawClient writePreface(int version) throws IOException {
    return write(preface(version));
  }

  RawClient send(int requestId, Message message) throws IOException {
    return write(frame(new Envelope(requestId, message)));
  }

  /** Only the 4-byte length field of a frame, as a hostile client sends it, with no body behind it. */
  RawClient writeLengthField(long length) throws IOException {
    return write(new byte[] {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8),
        (byte) length});
  }

  static byte[] preface(int version) {
    ByteBuf buf = Unpooled.buffer(Wire.PREFACE_BYTES);
    try {
      FrameEncoder.writePreface(buf, version);
      return ByteBufUtil.getBytes(buf);
    } finally {
      buf.release();
    }
  }

  static byte[] frame(Envelope envelope) {
    ByteBuf buf = Unpooled.buffer();
    try {
      FrameEncoder.writeFrame(envelope, buf);
      return ByteBufUtil.getBytes(buf);
    } finally {
      buf.release();
    }
  }

  /** Frames and bytes in one write, as a client that pipelines them sends them. */
  static byte[] concat(byte[]... parts) {
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    for (byte[] part : parts) {
      all.writeBytes(part);
    }
    return all.toByteArray();
  }

  // -- reading -----------------------------------------------------------------------------------------------

  /** Reads exactly one frame and decodes it with the production codec. */
  Envelope readFrame() throws IOException {
    int length = in.readInt();
    assertThat(length).as("length of the next frame from the master")
        .isBetween(Wire.FRAME_HEADER_BYTES, MAX_EXPECTED_FRAME);
    int opcodeByte = in.readUnsignedByte();
    int requestId = in.readInt();
    byte[] body = new byte[length - Wire.FRAME_HEADER_BYTES];
    in.readFully(body);
    Opcode opcode = Opcode.of(opcodeByte);
    assertThat(opcode).as("opcode 0x%02x from the master", opcodeByte).isNotNull();
    ByteBuf buf = Unpooled.wrappedBuffer(body);
    try {
      return new Envelope(requestId, MessageCodec.decode(opcode, buf));
    } finally {
      buf.release();
    }
  }

  <T extends Message> T read(Class<T> type) throws IOException {
    Message message = readFrame().message();
    assertThat(message).as("the next frame from the master").isInstanceOf(type);
    return type.cast(message);
  }

  Message.Hello readHello() throws IOException {
    return read(Message.Hello.class);
  }

  Message.Error readError() throws IOException {
    return read(Message.Error.class);
  }

  /** Reads an ERROR frame, checks its code, and returns its message. */
  String readError(ErrorCode expected) throws IOException {
    Message.Error error = readError();
    assertThat(error.code()).as("error code (message: %s)", error.message()).isEqualTo(expected);
    return error.message();
  }

  // -- handshake ---------------------------------------------------------------------------------------------

  /** Runs the whole client half of the handshake with {@code key} and checks the master's proof. */
  Message.AuthOk authenticate(AuthKey key) throws IOException {
    return authenticate(key, writePreface().readHello());
  }

  /** The client half of the handshake from the AUTH on, for a client that sent the preface and read HELLO before. */
  Message.AuthOk authenticate(AuthKey key, Message.Hello hello) throws IOException {
    byte[] clientNonce = Handshake.nonce(Wire.NONCE_BYTES);
    send(0, new Message.Auth(clientNonce, Handshake.clientProof(key, hello.serverNonce(), clientNonce)));
    Message.AuthOk ok = read(Message.AuthOk.class);
    assertThat(Handshake.matches(Handshake.serverProof(key, hello.serverNonce(), clientNonce), ok.serverProof()))
        .as("the master proves the key").isTrue();
    return ok;
  }

  // -- closing -----------------------------------------------------------------------------------------------

  /** Waits until the master closes the connection (end of stream or reset); any further byte fails the test. */
  void awaitClosedByPeer() {
    await("the master closes the connection").atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(20))
        .until(this::closedByPeer);
  }

  private boolean closedByPeer() throws IOException {
    try {
      socket.setSoTimeout(50);
      int next = in.read();
      if (next != -1) {
        throw new AssertionError("expected the master to close the connection, but it sent byte 0x"
            + Integer.toHexString(next));
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (SocketException e) {
      return true; // reset by the master: it closed with our bytes still unread
    } finally {
      if (!socket.isClosed()) {
        socket.setSoTimeout(READ_TIMEOUT_MILLIS);
      }
    }
  }

  /**
   * Reads and drops whatever the master sent until it closes the connection (end of stream or reset); returns the
   * bytes read. A master that keeps the connection open fails the test at the read timeout.
   */
  long readUntilClosed() throws IOException {
    byte[] chunk = new byte[64 * 1024];
    long total = 0;
    try {
      for (int n; (n = in.read(chunk)) != -1; ) {
        total += n;
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the master still holds the connection open after sending " + total + " bytes", e);
    } catch (SocketException e) {
      // reset by the master: it closed with our bytes still unread
    }
    return total;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
