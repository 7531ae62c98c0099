package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.server.master.Master;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A worker's SETTLED may wait for the answer to the lease sent behind it (protocol.md 7.3), over a real socket: it
 * still comes when no task does, and before that lease's LEASED when one does.
 */
class DeferredSettledTest {
  private static final AuthKey KEY = AuthKey.of("deferred-settled-test-key");

  @Test
  void aSettlementIsAnsweredWhileTheLeaseBehindItWaitsAndBeforeThatLeasesTask() throws IOException {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RawClient producer = RawClient.connect(master.port());
        RawClient worker = RawClient.connect(master.port())) {
      producer.authenticate(KEY);
      worker.authenticate(KEY);
      put(producer, "first");
      worker.send(1, new Message.Lease("q", 1, 30_000));
      Delivery first = worker.read(Message.Leased.class).deliveries().get(0);

      // The settlement and the next lease in one write, as the reference worker sends them.
      worker.write(RawClient.concat(
          RawClient.frame(new Envelope(2, new Message.Settle(List.of(
              Settlement.ack(first.leaseId(), "1".getBytes(StandardCharsets.UTF_8)))))),
          RawClient.frame(new Envelope(3, new Message.Lease("q", 1, 30_000)))));
      Envelope settled = worker.readFrame(); // no task comes: only the deferral's bound can send it
      assertThat(settled.requestId()).isEqualTo(2);
      assertThat(((Message.Settled) settled.message()).statuses()).containsExactly(SettleStatus.OK);

      put(producer, "second");
      Envelope leased = worker.readFrame();
      assertThat(leased.requestId()).isEqualTo(3);
      assertThat(((Message.Leased) leased.message()).deliveries()).extracting(Delivery::taskId)
          .containsExactly("second");
    }
  }

  private static void put(RawClient producer, String id) throws IOException {
    producer.send(1, new Message.Put(List.of(new TaskMessage(id, "q", "t", Map.of(),
        "{}".getBytes(StandardCharsets.UTF_8)))));
    producer.read(Message.PutOk.class);
  }
}
