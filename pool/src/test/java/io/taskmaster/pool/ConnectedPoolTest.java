package io.taskmaster.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.master.Master;
import io.taskmaster.server.net.MasterSettings;
import io.taskmaster.task.RemoteTaskException;
import io.taskmaster.worker.Worker;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * {@code TaskPool.connect}: the pool API over the workers of a running master, here a real one on a loopback port
 * with a worker serving its queue {@code pool}, both in this JVM.
 */
class ConnectedPoolTest {
  private static final AuthKey KEY = AuthKey.of("connected-pool-test-key-0123456789abcdef");

  @Test
  void aConnectedPoolRunsItsTasksOnTheWorkersOfTheMaster() {
    // One attempt: a failing task is not retried after a backoff, which would only slow the test.
    try (Master master = Master.start(MasterSettings.of(0, KEY), EngineSettings.defaults().withMaxAttempts(1));
        Broker workerSide = Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
        Worker worker = Worker.builder(workerSide).queue("pool").id("remote-worker").register(new PoolTasks())
            .start();
        TaskPool pool = TaskPool.connect(master.uri(), KEY)) {
      assertThat(pool.apply(PoolTasks.SQUARE, 7)).isEqualTo(49);
      List<Integer> inputs = IntStream.rangeClosed(1, 20).boxed().toList();
      assertThat(pool.map(PoolTasks.SQUARE, inputs)).containsExactlyElementsOf(
          inputs.stream().map(n -> n * n).toList());
      assertThatThrownBy(() -> pool.apply(PoolTasks.BOOM, "over the network"))
          .isInstanceOf(RemoteTaskException.class).hasMessageContaining("over the network");

      assertThat(worker.succeeded()).as("every task ran on the master's worker").isEqualTo(21);
      assertThat(worker.failed()).isEqualTo(1);
      assertThat(pool.workerPids()).as("the pool has no processes of its own").isEmpty();
      assertThat(pool).hasToString("TaskPool[" + master.uri() + "]");
    }
  }
}
