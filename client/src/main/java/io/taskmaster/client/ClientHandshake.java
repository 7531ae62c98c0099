package io.taskmaster.client;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.AuthenticationException;
import io.taskmaster.protocol.auth.Handshake;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.Wire;

/**
 * The client's half of the handshake (docs/protocol.md, "Authentication"): answer the server's HELLO with proof of
 * the key, then check the server's proof in turn. Not thread-safe; one per connection attempt, driven by its reader
 * thread.
 */
final class ClientHandshake {
  private final AuthKey key;
  private final String target;
  private byte[] serverNonce;
  private final byte[] clientNonce = Handshake.nonce(Wire.NONCE_BYTES);

  /** Where the master's frame limit goes once it has proved the key. */
  private final FrameLimit frameLimit;

  ClientHandshake(AuthKey key, String target, FrameLimit frameLimit) {
    this.key = key;
    this.target = target;
    this.frameLimit = frameLimit;
  }

  /** Returns the AUTH to send, or null when the server wants none (it runs with --insecure). */
  Message.Auth onHello(Message.Hello hello) {
    if (hello.version() != Wire.VERSION) {
      throw new IllegalStateException("the master at " + target + " speaks protocol version " + hello.version()
          + " but this client speaks version " + Wire.VERSION + "; use a client and master of matching releases");
    }
    if (!hello.authRequired()) {
      if (key != null) {
        // A master that skips authentication cannot prove it knows the key: it may be an impostor collecting tasks.
        throw new AuthenticationException("authentication failed: the master at " + target + " runs without "
            + "authentication (--insecure) but this client has an auth key; refusing to trust it. Start the master "
            + "with the key, or connect without one");
      }
      frameLimit.announced(0); // no AUTH_OK to say it: this client's own limit stands
      return null;
    }
    if (key == null) {
      throw new AuthenticationException("authentication failed: the master at " + target + " requires an auth key; "
          + "pass --authkey-file or set " + AuthKey.ENV);
    }
    serverNonce = hello.serverNonce();
    return new Message.Auth(clientNonce, Handshake.clientProof(key, serverNonce, clientNonce));
  }

  /** Checks the server's proof; a server that cannot prove the key is not trusted with any task. */
  void onAuthOk(Message.AuthOk ok) {
    if (!Handshake.matches(Handshake.serverProof(key, serverNonce, clientNonce), ok.serverProof())) {
      throw new AuthenticationException("authentication failed: the master at " + target
          + " could not prove it knows the auth key; check that both sides use the same key file");
    }
    frameLimit.announced(ok.maxFrameBytes());
  }

  static RuntimeException refused(String target, Message.Error error) {
    if (error.code() == ErrorCode.AUTH_FAILED || error.code() == ErrorCode.AUTH_BLOCKED) {
      return new AuthenticationException("authentication failed: the master at " + target
          + " rejected this client's auth key (" + error.message() + ")");
    }
    return new io.taskmaster.broker.BrokerException(error.code().name(),
        "the master at " + target + " refused the connection: " + error.message());
  }
}
