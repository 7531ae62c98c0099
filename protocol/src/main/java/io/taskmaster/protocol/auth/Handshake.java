package io.taskmaster.protocol.auth;

import io.taskmaster.broker.AuthKey;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Mutual challenge-response on the shared key (docs/protocol.md, "Authentication").
 *
 * <p>Each side sends a fresh random nonce; each proves the key with HMAC-SHA256 over a role label and both nonces.
 * The key never crosses the wire. The labels differ per role, so a server's proof can never be reflected back as a
 * client's, and the server's fresh nonce makes a recorded client proof useless on any other connection.
 */
public final class Handshake {
  public static final int PROOF_BYTES = 32;
  private static final byte[] CLIENT_LABEL = "taskmaster-client-v1".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SERVER_LABEL = "taskmaster-server-v1".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  private Handshake() {}

  /** A fresh nonce from {@link SecureRandom}. */
  public static byte[] nonce(int length) {
    byte[] nonce = new byte[length];
    RANDOM.nextBytes(nonce);
    return nonce;
  }

  public static byte[] clientProof(AuthKey key, byte[] serverNonce, byte[] clientNonce) {
    return hmac(key, CLIENT_LABEL, serverNonce, clientNonce);
  }

  public static byte[] serverProof(AuthKey key, byte[] serverNonce, byte[] clientNonce) {
    return hmac(key, SERVER_LABEL, serverNonce, clientNonce);
  }

  /** Compares in time independent of where the first difference is. */
  public static boolean matches(byte[] expected, byte[] actual) {
    return MessageDigest.isEqual(expected, actual);
  }

  private static byte[] hmac(AuthKey key, byte[] label, byte[] serverNonce, byte[] clientNonce) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key.bytes(), "HmacSHA256"));
      mac.update(label);
      mac.update(serverNonce);
      mac.update(clientNonce);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
    }
  }
}
