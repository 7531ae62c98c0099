package io.taskmaster.broker;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Resolving broker URIs: clear errors that never repeat a password written into a URI. */
class BrokersTest {
  @Test
  void anUnknownSchemeNamesTheKnownOnesAndHidesCredentials() {
    assertThatThrownBy(() -> Brokers.open("amqp://guest:s3cret@localhost:5672", BrokerOptions.defaults()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown broker scheme 'amqp'")
        .hasMessageContaining("//***@localhost")
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void anInvalidUriSaysHowToWriteOneAndHidesCredentials() {
    assertThatThrownBy(() -> Brokers.open("taskmaster://user:s3cret@host:notaport", BrokerOptions.defaults()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("s3cret");
    assertThatThrownBy(() -> Brokers.open("no scheme here", BrokerOptions.defaults()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("taskmaster://127.0.0.1:5000");
  }

  @Test
  void aKnownSchemeWithoutItsModuleSaysWhichDependencyToAdd() {
    assertThatThrownBy(() -> Brokers.open("redis://localhost:6379", BrokerOptions.defaults()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("io.taskmaster:taskmaster-redis");
  }
}
