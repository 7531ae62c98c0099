package io.taskmaster.python;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.python.wire.ManagersAuth;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Arrays;

/** A bare managers-protocol client over a socket, for tests that send what no well-behaved Python would. */
final class RawManagersClient implements AutoCloseable {
  private final Socket socket;
  private final DataInputStream in;
  private final DataOutputStream out;

  RawManagersClient(int port) throws IOException {
    socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(30_000);
    in = new DataInputStream(socket.getInputStream());
    out = new DataOutputStream(socket.getOutputStream());
  }

  /** Both directions of the challenge-response, as a Python 3.12+ client does it. */
  RawManagersClient authenticate(byte[] key) throws IOException {
    byte[] challenge = read();
    send(ManagersAuth.answer(key, ManagersAuth.challengeBody(challenge)));
    assertThat(read()).isEqualTo(ManagersAuth.WELCOME);
    byte[] mine = ManagersAuth.newChallenge();
    send(mine);
    assertThat(ManagersAuth.verify(key, mine, read())).as("the master proves the key").isTrue();
    send(ManagersAuth.WELCOME);
    return this;
  }

  void send(byte[] payload) throws IOException {
    out.writeInt(payload.length);
    out.write(payload);
    out.flush();
  }

  void sendRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  byte[] read() throws IOException {
    int length = in.readInt();
    byte[] payload = new byte[length];
    in.readFully(payload);
    return payload;
  }

  /** Whether the master closed the connection (reads until EOF, ignoring frames in flight). */
  boolean closedByPeer() throws IOException {
    try {
      while (true) {
        read();
      }
    } catch (EOFException | java.net.SocketException e) {
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    }
  }

  static String text(byte[] pickle) {
    return new String(pickle, java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  static byte[] concat(byte[]... parts) {
    int length = Arrays.stream(parts).mapToInt(part -> part.length).sum();
    byte[] joined = new byte[length];
    int at = 0;
    for (byte[] part : parts) {
      System.arraycopy(part, 0, joined, at, part.length);
      at += part.length;
    }
    return joined;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
