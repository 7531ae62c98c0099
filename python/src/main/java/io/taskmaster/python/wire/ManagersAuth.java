package io.taskmaster.python.wire;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The challenge-response of {@code multiprocessing.connection}, both schemes: the legacy one (Python 3.6 to 3.11: a
 * 20-byte challenge answered by a raw 16-byte HMAC-MD5) and the 3.12+ one (a {@code {sha256}}-prefixed challenge
 * answered by {@code {name}} and the HMAC of the whole body). Legacy messages are recognised by their length
 * first, since random bytes can begin with {@code '{'}.
 */
public final class ManagersAuth {
  public static final byte[] CHALLENGE = ascii("#CHALLENGE#");
  public static final byte[] WELCOME = ascii("#WELCOME#");
  public static final byte[] FAILURE = ascii("#FAILURE#");
  private static final int LEGACY_CHALLENGE_BYTES = 20;
  private static final int LEGACY_DIGEST_BYTES = 16;
  private static final Map<String, String> DIGESTS = Map.of("md5", "HmacMD5", "sha256", "HmacSHA256",
      "sha384", "HmacSHA384", "sha3_256", "HmacSHA3-256", "sha3_384", "HmacSHA3-384");
  private static final SecureRandom RANDOM = new SecureRandom();

  private ManagersAuth() {}

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /** A 3.12-style challenge message: {@code #CHALLENGE#{sha256}} and 40 random bytes. */
  public static byte[] newChallenge() {
    byte[] random = new byte[40];
    RANDOM.nextBytes(random);
    return concat(CHALLENGE, concat(ascii("{sha256}"), random));
  }

  /** The body of a challenge message (what follows {@code #CHALLENGE#}), or null if it is not one. */
  public static byte[] challengeBody(byte[] message) {
    if (!startsWith(message, CHALLENGE)) {
      return null;
    }
    return Arrays.copyOfRange(message, CHALLENGE.length, message.length);
  }

  /**
   * Whether {@code reply} proves the key for {@code challengeMessage} (as sent, with its marker): a raw 16-byte
   * HMAC-MD5, or {@code {name}} and the HMAC of that digest, over the whole body. Constant time in the MAC.
   */
  public static boolean verify(byte[] key, byte[] challengeMessage, byte[] reply) {
    byte[] body = challengeBody(challengeMessage);
    if (reply.length == LEGACY_DIGEST_BYTES || reply.length == LEGACY_CHALLENGE_BYTES) {
      return MessageDigest.isEqual(hmac("HmacMD5", key, body), reply);
    }
    String name = digestName(reply);
    if (name == null) {
      return false;
    }
    byte[] mac = Arrays.copyOfRange(reply, name.length() + 2, reply.length);
    return MessageDigest.isEqual(hmac(DIGESTS.get(name), key, body), mac);
  }

  /**
   * The answer to a peer's challenge body, as the peer's version expects it: a raw HMAC-MD5 for a 20-byte legacy
   * body, else {@code {name}} and the HMAC named by the body's prefix.
   */
  public static byte[] answer(byte[] key, byte[] body) {
    if (body.length < LEGACY_CHALLENGE_BYTES) {
      throw new IllegalArgumentException("the challenge is too short (" + body.length + " bytes)");
    }
    if (body.length == LEGACY_CHALLENGE_BYTES) {
      return hmac("HmacMD5", key, body);
    }
    String name = digestName(body);
    if (name == null) {
      throw new IllegalArgumentException("the challenge names no supported digest");
    }
    return concat(ascii("{" + name + "}"), hmac(DIGESTS.get(name), key, body));
  }

  /** The digest named by a {@code {name}} prefix whose brace closes within the first 10 bytes, or null. */
  private static String digestName(byte[] message) {
    if (message.length == 0 || message[0] != '{') {
      return null;
    }
    for (int i = 1; i < Math.min(message.length, 10); i++) {
      if (message[i] == '}') {
        String name = new String(message, 1, i - 1, StandardCharsets.US_ASCII);
        return DIGESTS.containsKey(name) ? name : null;
      }
    }
    return null;
  }

  private static byte[] hmac(String algorithm, byte[] key, byte[] data) {
    try {
      Mac mac = Mac.getInstance(algorithm);
      // An empty key is refused at start-up; SecretKeySpec refuses it too.
      mac.init(new SecretKeySpec(key, algorithm));
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(algorithm + " is not available in this JDK", e);
    }
  }

  public static boolean startsWith(byte[] message, byte[] prefix) {
    return message.length >= prefix.length && Arrays.equals(message, 0, prefix.length, prefix, 0, prefix.length);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] joined = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, joined, a.length, b.length);
    return joined;
  }
}
