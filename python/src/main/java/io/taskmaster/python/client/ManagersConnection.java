package io.taskmaster.python.client;

import io.taskmaster.broker.AuthenticationException;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.python.pickle.Pickles;
import io.taskmaster.python.pickle.PickleRefusedException;
import io.taskmaster.python.pickle.PythonObject;
import io.taskmaster.python.pickle.SafeUnpickler;
import io.taskmaster.python.wire.ManagersAuth;
import io.taskmaster.python.wire.ManagersFrameDecoder;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.razorvine.pickle.IObjectConstructor;

/**
 * One authenticated connection to a Python managers server, used the way Python's own client uses it: a request,
 * then exactly one reply. Blocking, like the protocol: no request ids, no pipelining.
 */
final class ManagersConnection implements AutoCloseable {
  private static final int CONNECT_TIMEOUT_MILLIS = 5000;
  /** What a Python server's replies may name: its exceptions, and byte strings in their older forms. */
  private static final Map<String, IObjectConstructor> REPLY_GLOBALS = replyGlobals();

  private final Socket socket;
  private final DataInputStream in;
  private final DataOutputStream out;
  private final int maxFrameBytes;

  private ManagersConnection(Socket socket, int maxFrameBytes) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(socket.getInputStream());
    this.out = new DataOutputStream(socket.getOutputStream());
    this.maxFrameBytes = maxFrameBytes;
  }

  private static Map<String, IObjectConstructor> replyGlobals() {
    Map<String, IObjectConstructor> globals = new HashMap<>();
    for (String module : List.of("queue", "_queue", "Queue")) {
      for (String name : List.of("Empty", "Full", "ShutDown")) {
        globals.put(module + "." + name, SafeUnpickler.instances(module, name));
      }
    }
    for (String name : List.of("Exception", "KeyError", "TypeError", "ValueError", "AttributeError",
        "RuntimeError", "OSError", "AssertionError", "EOFError", "IndexError", "NameError", "NotImplementedError",
        "ZeroDivisionError", "ConnectionError", "TimeoutError", "PermissionError", "LookupError")) {
      globals.put("builtins." + name, SafeUnpickler.instances("builtins", name));
    }
    globals.put("_codecs.encode", SafeUnpickler.CODECS_ENCODE);
    globals.put("builtins.bytearray", SafeUnpickler.BYTEARRAY);
    globals.put("builtins.set", SafeUnpickler.SET);
    globals.put("builtins.frozenset", SafeUnpickler.SET);
    return Map.copyOf(globals);
  }

  /** Connects and runs the challenge-response both ways; the Python server challenges first. */
  static ManagersConnection open(InetSocketAddress address, byte[] key, int maxFrameBytes) {
    Socket socket = new Socket();
    try {
      socket.setTcpNoDelay(true); // the client's WELCOME and first request would otherwise wait for a delayed ACK
      socket.connect(address, CONNECT_TIMEOUT_MILLIS);
      socket.setSoTimeout(CONNECT_TIMEOUT_MILLIS);
      ManagersConnection connection = new ManagersConnection(socket, maxFrameBytes);
      connection.authenticate(key, address);
      socket.setSoTimeout(0);
      return connection;
    } catch (IOException e) {
      closeQuietly(socket);
      throw new BrokerUnavailableException("cannot reach the Python master at " + address.getHostString() + ":"
          + address.getPort() + ": " + e.getMessage() + "; is it running, and is the port right?", e);
    } catch (RuntimeException e) {
      closeQuietly(socket);
      throw e;
    }
  }

  private void authenticate(byte[] key, InetSocketAddress address) throws IOException {
    byte[] challenge = readFrame(ManagersFrameDecoder.AUTH_FRAME_LIMIT);
    byte[] body = ManagersAuth.challengeBody(challenge);
    if (body == null) {
      throw new BrokerUnavailableException("the server at " + address + " does not speak Python's managers "
          + "protocol (no challenge)", null);
    }
    writeFrame(ManagersAuth.answer(key, body));
    byte[] verdict = readFrame(ManagersFrameDecoder.AUTH_FRAME_LIMIT);
    if (!Arrays.equals(verdict, ManagersAuth.WELCOME)) {
      throw new AuthenticationException("the Python master at " + address + " rejected the auth key (digest sent "
          + "was rejected); use the bytes of its authkey");
    }
    byte[] mine = ManagersAuth.newChallenge();
    writeFrame(mine);
    if (!ManagersAuth.verify(key, mine, readFrame(ManagersFrameDecoder.AUTH_FRAME_LIMIT))) {
      writeFrame(ManagersAuth.FAILURE);
      throw new AuthenticationException("the Python master at " + address + " could not prove it knows the auth "
          + "key; refusing to talk to it");
    }
    writeFrame(ManagersAuth.WELCOME);
  }

  /** Sends {@code (ident, method, args, kwds)} and returns what {@code #RETURN} carried. */
  Object call(String ident, String method, Object[] args, Map<String, Object> kwds) throws IOException {
    writeFrame(Pickles.dumps(new Object[] {ident, method, args, kwds}));
    Object reply;
    try {
      reply = new SafeUnpickler(REPLY_GLOBALS).read(readFrame(maxFrameBytes));
    } catch (PickleRefusedException e) {
      throw new PythonRemoteException("PickleRefused", "the Python master's reply to " + method + " was refused: "
          + e.getMessage());
    }
    if (!(reply instanceof Object[] pair) || pair.length != 2 || !(pair[0] instanceof String kind)) {
      throw new PythonRemoteException("ValueError", "the reply to " + method + " is not (kind, value)");
    }
    switch (kind) {
      case "#RETURN" -> {
        return pair[1];
      }
      case "#ERROR" -> throw pair[1] instanceof PythonObject error
          ? new PythonRemoteException(error.qualifiedName(), error.message())
          : new PythonRemoteException("Exception", String.valueOf(pair[1]));
      case "#TRACEBACK", "#UNSERIALIZABLE" -> throw new PythonRemoteException("RemoteError", String.valueOf(pair[1]));
      default -> throw new PythonRemoteException("ValueError", "unrecognized message type " + kind);
    }
  }

  private void writeFrame(byte[] payload) throws IOException {
    out.writeInt(payload.length);
    out.write(payload);
    out.flush();
  }

  private byte[] readFrame(int limit) throws IOException {
    int length;
    try {
      length = in.readInt();
    } catch (EOFException e) {
      throw new EOFException("the Python master closed the connection");
    }
    if (length < 0 || length > limit) {
      throw new IOException("the Python master announced a frame of " + length + " bytes; the limit is " + limit);
    }
    byte[] payload = new byte[length];
    in.readFully(payload);
    return payload;
  }

  @Override
  public void close() {
    closeQuietly(socket);
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing after use or after a failure
    }
  }
}
