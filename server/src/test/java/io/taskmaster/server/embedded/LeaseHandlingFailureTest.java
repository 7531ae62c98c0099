package io.taskmaster.server.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.Broker;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.task.TaskType;
import io.taskmaster.time.Ticker;
import io.taskmaster.worker.Worker;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A broker that answers a lease with more tasks than were asked for: the worker keeps what it asked for, gives the
 * rest back, and keeps leasing (it used to stop for good, its slot count broken).
 */
class LeaseHandlingFailureTest {
  private static final TaskType<Integer, Integer> SQUARE = TaskType.of("square", Integer.class, Integer.class);
  private static final String QUEUE = "faulty";

  @Test
  void aWorkerGivesBackTasksItDidNotAskForAndKeepsLeasing() throws Exception {
    QueueEngine engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
    try (EmbeddedBroker workerSide = new EmbeddedBroker(engine, "worker");
        EmbeddedBroker producerSide = new EmbeddedBroker(engine, "producer")) {
      Producer producer = Producer.on(producerSide);
      List<TaskHandle<Integer>> handles = producer.submitAll(SQUARE, List.of(2, 3, 4), SubmitOptions.queue(QUEUE));

      try (Worker worker = Worker.builder(overDeliveringOnce(workerSide)).id("w").queue(QUEUE).concurrency(1)
          .handle(SQUARE, n -> n * n).start()) {
        // The first lease asks for 1 and gets 2: before, the worker's slot count went wrong and it never leased again.
        for (int i = 0; i < handles.size(); i++) {
          assertThat(handles.get(i).result()).succeedsWithin(Duration.ofSeconds(30)).isEqualTo((i + 2) * (i + 2));
        }
      }
    }
  }

  /** The first lease is answered with one task more than it asked for, as a broker that ignores the limit would. */
  private static Broker overDeliveringOnce(Broker real) {
    AtomicBoolean first = new AtomicBoolean(true);
    return (Broker) Proxy.newProxyInstance(Broker.class.getClassLoader(), new Class<?>[] {Broker.class},
        (proxy, method, args) -> {
          if (method.getName().equals("lease") && first.compareAndSet(true, false)) {
            args[1] = (Integer) args[1] + 1;
          }
          try {
            return method.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }
}
