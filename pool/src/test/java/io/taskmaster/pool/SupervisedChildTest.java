package io.taskmaster.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.Names;
import org.junit.jupiter.api.Test;

class SupervisedChildTest {
  @Test
  void aConnectionNameCarriesTheWorkerIdAndThePid() {
    assertThat(SupervisedChild.connectionName("worker-3", 4711)).isEqualTo("worker-3 (pid 4711)");
  }

  @Test
  void aWorkerIdNearTheNameLimitIsCutSoThatTheNameStaysValid() {
    String name = SupervisedChild.connectionName("w".repeat(Names.MAX_LENGTH), 4711);
    assertThat(name).hasSize(Names.MAX_LENGTH).endsWith("w (pid 4711)");
    assertThat(Names.requireValid("client name", name)).isEqualTo(name);
  }
}
