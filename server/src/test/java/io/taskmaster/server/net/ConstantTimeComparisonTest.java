package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.protocol.auth.Handshake;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Proofs of the key are compared in constant time (reliability-tests.md row 28: "code check plus unit test"). Time
 * itself is not measured here (no timing assertions on a shared machine): the check reads the compiled classes, so
 * a change that compares proofs another way, such as {@code Arrays.equals}, fails it.
 */
class ConstantTimeComparisonTest {
  @Test
  void handshakeComparesWithMessageDigestIsEqualOnly() throws IOException {
    String handshake = constantPool(Handshake.class);
    assertThat(handshake).contains("java/security/MessageDigest").contains("isEqual")
        .doesNotContain("java/util/Arrays");
  }

  @Test
  void bothEndsCompareProofsThroughTheHandshake() throws IOException, ClassNotFoundException {
    // The client's side is package-private in its module.
    for (Class<?> end : new Class<?>[] {ServerSession.class, Class.forName("io.taskmaster.client.ClientHandshake")}) {
      String pool = constantPool(end);
      assertThat(pool).as(end.getName()).contains("io/taskmaster/protocol/auth/Handshake").contains("matches")
          .doesNotContain("java/util/Arrays");
    }
  }

  @Test
  void matchesIsTrueOnlyForTheSameBytes() {
    byte[] proof = Handshake.nonce(Handshake.PROOF_BYTES);
    assertThat(Handshake.matches(proof, proof.clone())).isTrue();
    for (int at : new int[] {0, Handshake.PROOF_BYTES / 2, Handshake.PROOF_BYTES - 1}) {
      byte[] other = proof.clone();
      other[at] ^= 1;
      assertThat(Handshake.matches(proof, other)).as("differs at byte " + at).isFalse();
    }
    assertThat(Handshake.matches(proof, Arrays.copyOf(proof, Handshake.PROOF_BYTES - 1))).isFalse();
    assertThat(Handshake.matches(proof, new byte[0])).isFalse();
  }

  /** The class file as text: the names it refers to are in its constant pool as UTF-8. */
  private static String constantPool(Class<?> type) throws IOException {
    try (InputStream in = type.getResourceAsStream(type.getSimpleName() + ".class")) {
      assertThat(in).as(type.getName() + ".class").isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }
}
