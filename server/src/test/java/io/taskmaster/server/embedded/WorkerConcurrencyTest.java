package io.taskmaster.server.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.time.Ticker;
import io.taskmaster.worker.Concurrency;
import io.taskmaster.worker.Worker;
import org.junit.jupiter.api.Test;

/** A worker's default concurrency, as {@code Worker.Builder.concurrency} and {@code taskmaster worker} document it. */
class WorkerConcurrencyTest {
  private final QueueEngine engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());

  @Test
  void aCpuBoundWorkerRunsAsManyTasksAtOnceAsThereAreCores() {
    assertThat(defaultConcurrency(Concurrency.CPU_BOUND)).isEqualTo(Runtime.getRuntime().availableProcessors());
  }

  @Test
  void anIoBoundWorkerRunsAThousandTasksAtOnce() {
    assertThat(defaultConcurrency(Concurrency.IO_BOUND)).isEqualTo(1000);
  }

  private int defaultConcurrency(Concurrency mode) {
    try (EmbeddedBroker broker = new EmbeddedBroker(engine, "concurrency-test");
        Worker worker = Worker.builder(broker).mode(mode).start()) {
      return worker.concurrency();
    }
  }
}
