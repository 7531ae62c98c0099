package io.taskmaster.server.journal;

import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskOptions;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.time.Ticker;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A journal and the engine over it, as a master holds them, with shorthands for the tests. */
final class JournaledEngine implements AutoCloseable {
  static final long WORKER = 7;
  /** Retries wait an hour: a retried task stays delayed for the whole test. */
  static final EngineSettings SETTINGS = EngineSettings.defaults().withRetryBackoff(Duration.ofHours(1),
      Duration.ofHours(2));

  final Journal journal;
  final QueueEngine engine;

  private JournaledEngine(Journal journal) {
    this.journal = journal;
    this.engine = new QueueEngine(SETTINGS, Ticker.system(), Clock.systemUTC(), journal);
    engine.restore(journal.recovered());
  }

  static JournaledEngine open(JournalSettings settings) {
    return new JournaledEngine(Journal.open(settings));
  }

  static JournaledEngine open(JournalSettings settings, SegmentChannels channels) {
    return new JournaledEngine(Journal.open(settings, channels));
  }

  static TaskMessage task(String id, String queue) {
    return task(id, queue, TaskOptions.DEFAULTS);
  }

  static TaskMessage task(String id, String queue, TaskOptions options) {
    return new TaskMessage(id, queue, "square", Map.of("origin", "test"),
        ("{\"n\":\"" + id + "\"}").getBytes(StandardCharsets.UTF_8), options);
  }

  /** Puts and waits for the acknowledgement, as a front end does before answering. */
  void put(TaskMessage... tasks) {
    engine.put(List.of(tasks));
    await(engine.durable());
  }

  List<Delivery> lease(String queue, int max) {
    List<Delivery> leased = new ArrayList<>();
    engine.lease(WORKER, queue, max, false, leased::addAll);
    return leased;
  }

  void settle(Settlement settlement) {
    engine.settle(WORKER, List.of(settlement));
    await(engine.durable());
  }

  /** The stored result, or null while there is none. */
  TaskResult result(String taskId) {
    CompletableFuture<TaskResult> result = new CompletableFuture<>();
    engine.awaitResult(WORKER + 1, taskId, result::complete);
    return result.getNow(null);
  }

  static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("not acknowledged: " + e, e);
    }
  }

  @Override
  public void close() {
    journal.close();
  }
}
