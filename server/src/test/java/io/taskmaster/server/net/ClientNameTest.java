package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Delivery;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.server.master.Master;
import io.taskmaster.task.RemoteTaskException;
import io.taskmaster.task.TaskType;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** NAME: a client names its connection, and the tasks lost with it say whose they were. */
class ClientNameTest {
  private static final AuthKey KEY = AuthKey.of("client-name-test-key-0123456789abcdef");
  private static final TaskType<Integer, Integer> SQUARE = TaskType.of("square", Integer.class, Integer.class);
  private static final long TIMEOUT_SECONDS = 15;

  @Test
  void aTaskLostWithANamedConnectionNamesItsWorker() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker producerBroker = RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY))) {
      TaskHandle<Integer> handle = Producer.on(producerBroker).submit(SQUARE, 3,
          SubmitOptions.queue("named").maxAttempts(1));
      try (RemoteBroker worker = RemoteBroker.connect("127.0.0.1", master.port(),
          BrokerOptions.withKey(KEY).clientName("worker-7 (pid 4242)"))) {
        List<Delivery> leased = worker.lease("named", 1, Duration.ofSeconds(5)).get(TIMEOUT_SECONDS,
            TimeUnit.SECONDS);
        assertThat(leased).hasSize(1);
      } // closed holding the lease, as a process that dies does

      assertThat(handle.result()).failsWithin(Duration.ofSeconds(TIMEOUT_SECONDS)).withThrowableThat()
          .havingCause().isInstanceOfSatisfying(RemoteTaskException.class, lost -> {
            assertThat(lost.remoteType()).isEqualTo("io.taskmaster.WorkerLost");
            assertThat(lost.workerId()).isEqualTo("worker-7 (pid 4242)");
          }).withMessageContaining("on worker worker-7 (pid 4242)");
    }
  }

  @Test
  void anInvalidNameIsRefusedAndTheConnectionStaysUsable() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY)); RawClient client = RawClient.connect(master.port())) {
      client.authenticate(KEY);
      client.send(7, new Message.Name("bad\nname"));
      Envelope refused = client.readFrame();
      assertThat(refused.requestId()).isEqualTo(7);
      assertThat(((Message.Error) refused.message()).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(((Message.Error) refused.message()).message())
          .contains("client name 'bad?name' contains a control character");

      client.send(8, new Message.Name("reports-worker"));
      Envelope named = client.readFrame();
      assertThat(named.requestId()).isEqualTo(8);
      assertThat(named.message()).isInstanceOf(Message.Named.class);
    }
  }

  @Test
  void aClientRefusesToSendAnInvalidName() {
    assertThatThrownBy(() -> BrokerOptions.defaults().clientName("x".repeat(256)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("client name is 256 characters long; the limit is 255");
  }
}
