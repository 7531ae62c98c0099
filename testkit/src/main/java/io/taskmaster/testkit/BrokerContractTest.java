package io.taskmaster.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.CancelOutcome;
import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskIds;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.queue.QueueEmptyException;
import io.taskmaster.queue.RawQueue;
import io.taskmaster.task.RemoteTaskException;
import io.taskmaster.task.TaskError;
import io.taskmaster.task.TaskType;
import io.taskmaster.worker.BuiltinTasks;
import io.taskmaster.worker.TaskContext;
import io.taskmaster.worker.Worker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * What every broker must do, whatever it runs on. A subclass supplies fresh, isolated brokers; each test gets its
 * own queue names, so brokers may share state between tests.
 */
public abstract class BrokerContractTest {
  private static final Duration SHORT_WAIT = Duration.ofMillis(200);
  private static final Duration LONG_WAIT = Duration.ofSeconds(10);
  private static final TaskType<Integer, Integer> SQUARE = TaskType.of("square", Integer.class, Integer.class);

  private final List<AutoCloseable> opened = new ArrayList<>();
  private String queue;

  /** A new client of the broker under test; every client of one test must see the same queues. */
  protected abstract Broker openBroker();

  protected Broker broker() {
    Broker broker = openBroker();
    opened.add(broker);
    return broker;
  }

  @BeforeEach
  void freshQueue() {
    queue = "q-" + TaskIds.next();
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close();
    }
  }

  private TaskMessage task(String payload) {
    return new TaskMessage(TaskIds.next(), queue, "echo", Map.of(), payload.getBytes(StandardCharsets.UTF_8));
  }

  private static String text(Delivery delivery) {
    return new String(delivery.payload(), StandardCharsets.UTF_8);
  }

  @Test
  void leasesInPutOrder() {
    Broker broker = broker();
    broker.put(List.of(task("1"), task("2"), task("3"))).join();

    List<Delivery> leased = broker.lease(queue, 10, SHORT_WAIT).join();

    assertThat(leased).extracting(BrokerContractTest::text).containsExactly("1", "2", "3");
    assertThat(leased).allSatisfy(delivery -> assertThat(delivery.attempt()).isEqualTo(1));
  }

  @Test
  void leaseReturnsEmptyWhenNothingArrivesInTime() {
    assertThat(broker().lease(queue, 1, SHORT_WAIT).join()).isEmpty();
  }

  @Test
  void waitingLeaseIsAnsweredByALaterPut() {
    Broker consumer = broker();
    var leased = consumer.lease(queue, 1, LONG_WAIT);
    broker().put(List.of(task("late"))).join();

    assertThat(leased.join()).extracting(BrokerContractTest::text).containsExactly("late");
  }

  @Test
  void leasedTaskIsInvisibleToOthersUntilReleased() {
    Broker first = broker();
    Broker second = broker();
    first.put(List.of(task("only"))).join();
    Delivery delivery = first.lease(queue, 1, SHORT_WAIT).join().get(0);

    assertThat(second.lease(queue, 1, SHORT_WAIT).join()).isEmpty();
    assertThat(first.settle(List.of(Settlement.release(delivery.leaseId()))).join())
        .containsExactly(SettleStatus.OK);
    Delivery again = second.lease(queue, 1, SHORT_WAIT).join().get(0);

    assertThat(again.taskId()).isEqualTo(delivery.taskId());
    assertThat(again.attempt()).as("a released task was not attempted").isEqualTo(1);
  }

  @Test
  void releasedTasksGoBackToTheHeadInTheirOrder() {
    Broker broker = broker();
    broker.put(List.of(task("1"), task("2"), task("3"))).join();
    List<Delivery> leased = broker.lease(queue, 2, SHORT_WAIT).join();

    broker.settle(List.of(Settlement.release(leased.get(0).leaseId()), Settlement.release(leased.get(1).leaseId())))
        .join();

    assertThat(broker.lease(queue, 3, SHORT_WAIT).join()).extracting(BrokerContractTest::text)
        .containsExactly("1", "2", "3");
  }

  @Test
  void higherPrioritiesAreLeasedFirst() {
    Broker broker = broker();
    Producer producer = Producer.on(broker);
    producer.submit(SQUARE, 1, SubmitOptions.queue(queue)).accepted().join();
    producer.submit(SQUARE, 2, SubmitOptions.queue(queue).priority(9)).accepted().join();
    producer.submit(SQUARE, 3, SubmitOptions.queue(queue).priority(4)).accepted().join();

    assertThat(broker.lease(queue, 10, SHORT_WAIT).join()).extracting(BrokerContractTest::text)
        .containsExactly("2", "3", "1");
  }

  @Test
  void aTaskWithALaterStartTimeIsNotDeliveredBeforeIt() {
    Broker broker = broker();
    TaskHandle<Integer> later = Producer.on(broker)
        .submit(SQUARE, 5, SubmitOptions.queue(queue).delay(Duration.ofHours(1)));
    later.accepted().join();

    assertThat(broker.lease(queue, 1, SHORT_WAIT).join()).isEmpty();
    assertThat(broker.size(queue).join()).as("a delayed task is not ready").isZero();
  }

  @Test
  void aTaskThatHasNotStartedCanBeCancelled() {
    Broker broker = broker();
    TaskHandle<Integer> later = Producer.on(broker)
        .submit(SQUARE, 5, SubmitOptions.queue(queue).delay(Duration.ofHours(1)));

    assertThat(later.cancel()).isEqualTo(CancelOutcome.CANCELLED);
    assertThatThrownBy(later::join).isInstanceOfSatisfying(RemoteTaskException.class,
        e -> assertThat(e.remoteType()).isEqualTo("io.taskmaster.TaskCancelled"));
    assertThat(later.cancel()).isEqualTo(CancelOutcome.NOT_FOUND);

  }

  @Test
  void cancellingALeasedTaskAsksItsHolderToStopAndTheTaskEndsCancelled() {
    Broker broker = broker();
    TaskHandle<Integer> held = Producer.on(broker).submit(SQUARE, 6, SubmitOptions.queue(queue));
    held.accepted().join();
    Broker holder = broker();
    List<Long> stops = new java.util.concurrent.CopyOnWriteArrayList<>();
    holder.onCancelRequested(stops::add);
    Delivery leased = holder.lease(queue, 1, SHORT_WAIT).join().get(0);

    assertThat(held.cancel()).isEqualTo(CancelOutcome.STOPPING);
    Awaitility.await("the stop request").atMost(LONG_WAIT).until(() -> stops.contains(leased.leaseId()));
    assertThat(held.result()).as("the holder has not answered yet").isNotDone();
    holder.settle(List.of(Settlement.fail(leased.leaseId(), TaskError.of("java.lang.InterruptedException",
        "sleep interrupted", "w-holder")))).join();

    assertThatThrownBy(held::join).isInstanceOfSatisfying(RemoteTaskException.class, e -> {
      assertThat(e.remoteType()).isEqualTo("io.taskmaster.TaskCancelled");
      assertThat(e.remoteMessage()).contains("while it ran");
      assertThat(e.workerId()).isEqualTo("w-holder");
    });
    assertThat(holder.lease(queue, 1, SHORT_WAIT).join()).as("a cancelled task is not tried again").isEmpty();
    assertThat(held.cancel()).isEqualTo(CancelOutcome.NOT_FOUND);
  }

  @Test
  void aCancelledTaskIsNotTriedAgainWhenItsHolderGoesAway() {
    Broker broker = broker();
    TaskHandle<Integer> held = Producer.on(broker).submit(SQUARE, 6, SubmitOptions.queue(queue));
    held.accepted().join();
    Broker holder = openBroker();
    holder.lease(queue, 1, SHORT_WAIT).join();

    assertThat(held.cancel()).isEqualTo(CancelOutcome.STOPPING);
    holder.close();

    assertThatThrownBy(held::join).isInstanceOfSatisfying(RemoteTaskException.class,
        e -> assertThat(e.remoteType()).isEqualTo("io.taskmaster.TaskCancelled"));
    assertThat(broker().lease(queue, 1, SHORT_WAIT).join()).isEmpty();
  }

  @Test
  void aTaskThatFinishesBeforeItsCancellationArrivesKeepsItsResult() {
    Broker broker = broker();
    TaskHandle<Integer> held = Producer.on(broker).submit(SQUARE, 6, SubmitOptions.queue(queue));
    held.accepted().join();
    Broker holder = broker();
    Delivery leased = holder.lease(queue, 1, SHORT_WAIT).join().get(0);

    assertThat(held.cancel()).isEqualTo(CancelOutcome.STOPPING);
    holder.settle(List.of(Settlement.ack(leased.leaseId(), "36".getBytes(StandardCharsets.UTF_8)))).join();

    assertThat(held.join()).isEqualTo(36);
  }

  @Test
  void aWorkerInterruptsTheHandlerOfATaskItsProducerCancels() throws InterruptedException {
    Broker broker = broker();
    TaskType<Integer, String> patient = TaskType.of("patient", Integer.class, String.class);
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    AtomicInteger sawCancelled = new AtomicInteger();
    try (Worker worker = Worker.builder(broker()).queue(queue).id("w-cancel").concurrency(1).handle(patient, seconds -> {
      started.countDown();
      try {
        Thread.sleep(seconds * 1000L);
      } catch (InterruptedException e) {
        if (TaskContext.current().isCancelled()) {
          sawCancelled.incrementAndGet();
        }
        throw e;
      }
      return "slept";
    }).start()) {
      TaskHandle<String> handle = Producer.on(broker).submit(patient, 600, SubmitOptions.queue(queue));
      assertThat(started.await(LONG_WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isTrue();

      assertThat(handle.cancel()).isEqualTo(CancelOutcome.STOPPING);

      assertThatThrownBy(handle::join).isInstanceOfSatisfying(RemoteTaskException.class, e -> {
        assertThat(e.remoteType()).isEqualTo("io.taskmaster.TaskCancelled");
        assertThat(e.workerId()).isEqualTo("w-cancel");
      });
      assertThat(sawCancelled).hasValue(1);
      assertThat(Producer.on(broker).submit(SQUARE, 4, SubmitOptions.queue(queue)).join())
          .as("the worker goes on, its thread not left interrupted").isEqualTo(16);
    }
  }

  @Test
  void aUniqueKeyRefusesADuplicateWhileTheFirstIsPending() {
    Broker broker = broker();
    Producer producer = Producer.on(broker);
    String key = "report-" + queue;
    TaskHandle<Integer> first = producer.submit(SQUARE, 1, SubmitOptions.queue(queue).uniqueKey(key));
    first.accepted().join();

    TaskHandle<Integer> second = producer.submit(SQUARE, 2, SubmitOptions.queue(queue).uniqueKey(key));
    assertThatThrownBy(() -> second.accepted().join()).cause().isInstanceOfSatisfying(BrokerException.class, e -> {
      assertThat(e.code()).isEqualTo("DUPLICATE_UNIQUE_KEY");
      assertThat(e.getMessage()).contains(key).contains(first.id());
    });

    Delivery delivery = broker.lease(queue, 1, SHORT_WAIT).join().get(0);
    broker.settle(List.of(Settlement.ack(delivery.leaseId(), "1".getBytes(StandardCharsets.UTF_8)))).join();
    TaskHandle<Integer> third = producer.submit(SQUARE, 3, SubmitOptions.queue(queue).uniqueKey(key));
    third.accepted().join();
  }

  @Test
  void aTaskPastItsTimeoutIsInterruptedAndFails() {
    Broker broker = broker();
    try (Worker worker = Worker.builder(broker()).queue(queue).id("w-timeout").start()) {
      TaskHandle<Long> slow = Producer.on(broker).submit(BuiltinTasks.SLEEP, 60_000L,
          SubmitOptions.queue(queue).timeout(Duration.ofMillis(200)).maxAttempts(1));

      assertThatThrownBy(slow::join).isInstanceOfSatisfying(RemoteTaskException.class, e -> {
        assertThat(e.remoteType()).isEqualTo("io.taskmaster.TaskTimeout");
        assertThat(e.remoteMessage()).contains("200 ms");
        assertThat(e.workerId()).isEqualTo("w-timeout");
      });
      assertThat(Producer.on(broker).submit(SQUARE, 4, SubmitOptions.queue(queue)).join()).isEqualTo(16);
    }
  }

  @Test
  void closingAClientReturnsItsLeases() {
    Broker leaving = openBroker();
    leaving.put(List.of(task("held"))).join();
    Delivery delivery = leaving.lease(queue, 1, SHORT_WAIT).join().get(0);
    leaving.close();

    Delivery again = broker().lease(queue, 1, LONG_WAIT).join().get(0);

    assertThat(again.taskId()).isEqualTo(delivery.taskId());
  }

  @Test
  void ackDeliversTheResultToTheWaiter() {
    Broker broker = broker();
    TaskMessage message = task("x");
    broker.put(List.of(message)).join();
    var result = broker().result(message.id());
    Delivery delivery = broker.lease(queue, 1, SHORT_WAIT).join().get(0);

    broker.settle(List.of(Settlement.ack(delivery.leaseId(), "42".getBytes(StandardCharsets.UTF_8)))).join();

    TaskResult outcome = result.join();
    assertThat(outcome.succeeded()).isTrue();
    assertThat(new String(outcome.value(), StandardCharsets.UTF_8)).isEqualTo("42");
    assertThat(broker.result(message.id()).join().succeeded()).as("results stay readable").isTrue();
  }

  /** A failure is final once the task's attempts are used up; each attempt is leased here by hand. */
  @Test
  void theLastFailureCarriesItsErrorToTheWaiter() {
    Broker broker = broker();
    TaskMessage message = task("x");
    broker.put(List.of(message)).join();
    var result = broker.result(message.id());
    TaskError error = new TaskError("java.lang.IllegalStateException", "boom", "at Somewhere.run", "w-7");

    int attempts = 0;
    while (!result.isDone() && attempts < 20) {
      List<Delivery> leased = broker.lease(queue, 1, SHORT_WAIT).join();
      if (!leased.isEmpty()) {
        attempts++;
        broker.settle(List.of(Settlement.fail(leased.get(0).leaseId(), error))).join();
      }
    }

    assertThat(result.join().error()).isEqualTo(error);
    assertThat(attempts).as("the broker's max attempts").isBetween(1, 10);
  }

  @Test
  void aLeaseIsSettledOnceOnlyAndOnlyByItsHolder() {
    Broker holder = broker();
    holder.put(List.of(task("x"))).join();
    Delivery delivery = holder.lease(queue, 1, SHORT_WAIT).join().get(0);

    assertThat(broker().settle(List.of(Settlement.ack(delivery.leaseId(), null))).join())
        .containsExactly(SettleStatus.UNKNOWN_LEASE);
    assertThat(holder.settle(List.of(Settlement.ack(delivery.leaseId(), null))).join())
        .containsExactly(SettleStatus.OK);
    assertThat(holder.settle(List.of(Settlement.ack(delivery.leaseId(), null))).join())
        .containsExactly(SettleStatus.UNKNOWN_LEASE);
  }

  @Test
  void duplicateTaskIdIsRefusedWholeBatch() {
    Broker broker = broker();
    TaskMessage first = task("a");
    broker.put(List.of(first)).join();

    assertThatThrownBy(() -> broker.put(List.of(task("b"), first)).join())
        .isInstanceOf(CompletionException.class)
        .cause().isInstanceOf(BrokerException.class)
        .hasMessageContaining(first.id());
    assertThat(broker.size(queue).join()).isEqualTo(1);
  }

  @Test
  void resultOfAnUnknownTaskIsAClearError() {
    assertThatThrownBy(() -> broker().result("no-such-task").join())
        .cause().isInstanceOf(BrokerException.class).hasMessageContaining("no-such-task");
  }

  @Test
  void sizeCountsReadyTasks() {
    Broker broker = broker();
    broker.put(List.of(task("1"), task("2"))).join();
    broker.lease(queue, 1, SHORT_WAIT).join();

    assertThat(broker.size(queue).join()).isEqualTo(1);
  }

  @Test
  void rawQueueTakesWithTimeout() throws InterruptedException {
    RawQueue raw = new RawQueue(broker(), queue);
    raw.putJson(Map.of("n", 7));

    assertThat(raw.size()).isEqualTo(1);
    assertThat(raw.takeJson(SHORT_WAIT, Map.class)).contains(Map.of("n", 7));
    assertThat(raw.take(SHORT_WAIT)).isEmpty();
    assertThatThrownBy(() -> raw.takeOrThrow(SHORT_WAIT))
        .isInstanceOf(QueueEmptyException.class)
        .hasMessageContaining(queue).hasMessageContaining("200 ms");
  }

  @Test
  void anInterruptedTakeEndsAtOnceAndTakesNothing() throws Exception {
    RawQueue raw = new RawQueue(broker(), queue);
    CompletableFuture<Throwable> ended = new CompletableFuture<>();
    Thread taker = new Thread(() -> {
      try {
        ended.complete(new AssertionError("took " + raw.take(Duration.ofMinutes(5))));
      } catch (Throwable e) {
        ended.complete(e);
      }
    }, "taker");
    taker.start();
    Awaitility.await().until(() -> waitsForItsLease(taker));

    taker.interrupt();
    assertThat(ended.get(10, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
    raw.putJson("after the interrupt");
    assertThat(raw.takeJson(Duration.ofSeconds(10), String.class))
        .as("the item is not kept by the take that was interrupted").contains("after the interrupt");
  }

  /** Whether {@code thread} is inside a RawQueue take, waiting on the future of its lease request. */
  private static boolean waitsForItsLease(Thread thread) {
    StackTraceElement[] stack = thread.getStackTrace();
    for (int i = 1; i < stack.length; i++) {
      if (stack[i].getClassName().equals(RawQueue.class.getName()) && stack[i - 1].getMethodName().equals("get")) {
        return true;
      }
    }
    return false;
  }

  @Test
  void producerAndWorkerRoundTrip() {
    Broker broker = broker();
    try (Worker worker = Worker.builder(broker()).queue(queue).concurrency(2).start()) {
      Producer producer = Producer.on(broker).withDefaults(SubmitOptions.queue(queue));

      assertThat(producer.submit(SQUARE, 12).join()).isEqualTo(144);
      List<TaskHandle<Integer>> handles = producer.submitAll(SQUARE, List.of(1, 2, 3, 4));
      assertThat(handles).extracting(TaskHandle::join).containsExactly(1, 4, 9, 16);
    }
  }

  @Test
  void aPrefetchingWorkerAnswersEveryTaskInItsBatches() {
    Broker broker = broker();
    try (Worker worker = Worker.builder(broker()).queue(queue).concurrency(2).prefetch(100).start()) {
      List<Integer> numbers = IntStream.range(0, 500).boxed().toList();
      List<TaskHandle<Integer>> handles =
          Producer.on(broker).submitAll(SQUARE, numbers, SubmitOptions.queue(queue));

      assertThat(handles).extracting(TaskHandle::join).containsExactlyElementsOf(
          numbers.stream().map(n -> n * n).toList());
      assertThat(worker.succeeded()).isEqualTo(500);
    }
  }

  @Test
  void handlerExceptionReachesTheProducerWithItsRemoteStackTrace() {
    Broker broker = broker();
    try (Worker worker = Worker.builder(broker()).queue(queue).id("w-contract").start()) {
      TaskHandle<Void> handle = Producer.on(broker).submit(BuiltinTasks.FAIL, "on purpose", SubmitOptions.queue(queue));

      assertThatThrownBy(handle::join)
          .isInstanceOfSatisfying(RemoteTaskException.class, e -> {
            assertThat(e.remoteType()).isEqualTo("java.lang.IllegalStateException");
            assertThat(e.remoteMessage()).isEqualTo("on purpose");
            assertThat(e.workerId()).isEqualTo("w-contract");
            assertThat(e.remoteStackTrace()).contains("BuiltinTasks");
            assertThat(e.getMessage()).contains(handle.id()).contains("w-contract").contains("on purpose");
          });
      assertThat(worker.isRunning()).as("a failing handler does not stop the worker").isTrue();
      assertThat(Producer.on(broker).submit(SQUARE, 3, SubmitOptions.queue(queue)).join()).isEqualTo(9);
    }
  }

  /** The broker under test must retry failed tasks within a few seconds (a short backoff in the fixture). */
  @Test
  void aFailingTaskIsRetriedAndItsLaterSuccessIsTheResult() {
    Broker broker = broker();
    AtomicInteger calls = new AtomicInteger();
    TaskType<Integer, Integer> flaky = TaskType.of("flaky", Integer.class, Integer.class);
    try (Worker worker = Worker.builder(broker()).queue(queue).handle(flaky, n -> {
      if (calls.incrementAndGet() < 3) {
        throw new IllegalStateException("not yet (call " + calls.get() + ")");
      }
      return n + 1;
    }).start()) {
      TaskHandle<Integer> handle = Producer.on(broker).submit(flaky, 41, SubmitOptions.queue(queue));

      assertThat(handle.join()).isEqualTo(42);
      assertThat(calls.get()).isEqualTo(3);
    }
  }

  @Test
  void aTaskThatAlwaysFailsEndsInTheDeadLettersWithEveryAttempt() {
    Broker broker = broker();
    TaskHandle<Void> handle;
    try (Worker worker = Worker.builder(broker()).queue(queue).id("w-dead").start()) {
      handle = Producer.on(broker).submit(BuiltinTasks.FAIL, "always", SubmitOptions.queue(queue));
      assertThatThrownBy(handle::join).isInstanceOf(RemoteTaskException.class).hasMessageContaining("always");
    }

    DeadLetters dead = broker.deadLetters(queue, 0, 10).join();
    assertThat(dead.total()).isEqualTo(1);
    assertThat(dead.page().get(0).task().id()).isEqualTo(handle.id());
    assertThat(dead.page().get(0).attempts()).hasSize(3).allSatisfy(error -> {
      assertThat(error.message()).isEqualTo("always");
      assertThat(error.workerId()).isEqualTo("w-dead");
    });
    assertThat(broker.size(queue).join()).isZero();

    assertThat(broker.retryDeadLetters(queue, List.of()).join()).isEqualTo(1);
    assertThat(broker.deadLetters(queue, 0, 10).join().total()).isZero();
    // The stopped worker's last long poll may catch the task and give it back; it is not an attempt.
    Delivery again = broker.lease(queue, 1, LONG_WAIT).join().get(0);
    assertThat(again.taskId()).isEqualTo(handle.id());
    assertThat(again.attempt()).isEqualTo(1);
    broker.settle(List.of(Settlement.fail(again.leaseId(), TaskError.of("Boom", "x", "")))).join();
  }

  @Test
  void aTaskTypeCarriesItsOwnAttemptsAndASubmitOverridesThem() {
    Broker broker = broker();
    TaskType<String, Void> fragile = TaskType.of(BuiltinTasks.FAIL.name(), String.class, Void.class)
        .withMaxAttempts(1);
    try (Worker worker = Worker.builder(broker()).queue(queue).id("w-type").start()) {
      TaskHandle<Void> once = Producer.on(broker).submit(fragile, "once", SubmitOptions.queue(queue));
      assertThatThrownBy(once::join).isInstanceOf(RemoteTaskException.class);
      TaskHandle<Void> twice = Producer.on(broker).submit(fragile, "twice", SubmitOptions.queue(queue).maxAttempts(2));
      assertThatThrownBy(twice::join).isInstanceOf(RemoteTaskException.class);
    }
    List<DeadLetter> dead = broker.deadLetters(queue, 0, 10).join().page();
    assertThat(dead).extracting(letter -> letter.attempts().size()).containsExactly(1, 2);
    assertThatThrownBy(() -> fragile.withMaxAttempts(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be 1 to");
  }

  @Test
  void aHandlerKnowsItsTaskThroughTaskContext() {
    Broker broker = broker();
    TaskType<String, String> whoAmI = TaskType.of("who-am-i", String.class, String.class);
    try (Worker worker = Worker.builder(broker()).queue(queue).id("w-context").handle(whoAmI, ignored -> {
      TaskContext task = TaskContext.current();
      task.checkCancelled();
      return String.join("|", task.taskId(), Integer.toString(task.attempt()), task.queue(), task.type(),
          task.workerId(), String.valueOf(task.deadline().isPresent()), task.headers().getOrDefault("h", ""));
    }).start()) {
      TaskHandle<String> handle = Producer.on(broker).submit(whoAmI, "x",
          SubmitOptions.queue(queue).header("h", "v").timeout(Duration.ofMinutes(1)));
      assertThat(handle.join()).isEqualTo(String.join("|", handle.id(), "1", queue, "who-am-i", "w-context", "true",
          "v"));
    }
    assertThatThrownBy(TaskContext::current).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("only available while a task handler runs");
    assertThat(TaskContext.find()).isEmpty();
  }

  @Test
  void progressReportedByAHandlerReachesTheProducer() {
    Broker broker = broker();
    TaskType<Integer, Integer> steps = TaskType.of("steps", Integer.class, Integer.class);
    java.util.concurrent.CountDownLatch seen = new java.util.concurrent.CountDownLatch(1);
    try (Worker worker = Worker.builder(broker()).queue(queue).handle(steps, count -> {
      TaskContext task = TaskContext.current();
      task.progress(0, count, "starting");
      // The producer acknowledges the first report before the handler goes on, so the test sees it whatever the
      // report rate limit drops.
      if (!seen.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
        throw new IllegalStateException("the producer never saw the first progress report");
      }
      task.progress(count, count, "all " + count + " done");
      return count;
    }).start()) {
      List<io.taskmaster.broker.TaskProgress> reports = new java.util.concurrent.CopyOnWriteArrayList<>();
      TaskHandle<Integer> handle = Producer.on(broker).submit(steps, 3, SubmitOptions.queue(queue));
      handle.onProgress(report -> {
        reports.add(report);
        seen.countDown();
      });
      assertThat(handle.result()).succeedsWithin(LONG_WAIT).isEqualTo(3);
      Awaitility.await("the last report").atMost(LONG_WAIT)
          .until(() -> handle.progress().map(p -> p.done() == 3).orElse(false));
      assertThat(reports.get(0).toString()).isEqualTo("0/3 (0%): starting");
      assertThat(handle.progress().orElseThrow().toString()).isEqualTo("3/3 (100%): all 3 done");
      assertThat(reports).allSatisfy(report -> assertThat(report.taskId()).isEqualTo(handle.id()));
    }
    assertThatThrownBy(() -> TaskContext.current().progress(1, 2, "outside")).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void deadLettersCanBePurged() {
    Broker broker = broker();
    try (Worker worker = Worker.builder(broker()).queue(queue).start()) {
      List<TaskHandle<Void>> handles =
          Producer.on(broker).submitAll(BuiltinTasks.FAIL, List.of("a", "b"), SubmitOptions.queue(queue));
      handles.forEach(h -> assertThatThrownBy(h::join).isInstanceOf(RemoteTaskException.class));
    }

    assertThat(broker.purgeDeadLetters(queue).join()).isEqualTo(2);
    assertThat(broker.deadLetters(queue, 0, 10).join().total()).isZero();
    assertThat(broker.purgeDeadLetters("no-such-queue-" + queue).join()).isZero();
  }

  @Test
  void unknownTaskTypeFailsWithTheWorkersName() {
    Broker broker = broker();
    TaskType<Integer, Integer> unknown = TaskType.of("no-such-type", Integer.class, Integer.class);
    try (Worker worker = Worker.builder(broker()).queue(queue).id("w-unknown").start()) {
      assertThatThrownBy(() -> Producer.on(broker).submit(unknown, 1, SubmitOptions.queue(queue)).join())
          .isInstanceOf(RemoteTaskException.class)
          .hasMessageContaining("no handler registered for 'no-such-type' on worker w-unknown");
    }
  }

  @Test
  void manyProducersAndWorkersAnswerEveryTaskExactlyOnce() throws Exception {
    int producers = 4;
    int perProducer = 250;
    AtomicInteger runs = new AtomicInteger();
    Set<Integer> seen = ConcurrentHashMap.newKeySet();
    TaskType<Integer, Integer> tracked = TaskType.of("tracked", Integer.class, Integer.class);
    List<Worker> workers = new ArrayList<>();
    for (int w = 0; w < 3; w++) {
      workers.add(Worker.builder(broker()).queue(queue).concurrency(4).handle(tracked, n -> {
        runs.incrementAndGet();
        if (!seen.add(n)) {
          throw new IllegalStateException("task " + n + " ran twice");
        }
        return n * 2;
      }).start());
    }
    try {
      List<Thread> threads = new ArrayList<>();
      Set<Integer> answered = ConcurrentHashMap.newKeySet();
      List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
      for (int p = 0; p < producers; p++) {
        int base = p * perProducer;
        Producer producer = Producer.on(broker()).withDefaults(SubmitOptions.queue(queue));
        Thread thread = new Thread(() -> {
          try {
            List<TaskHandle<Integer>> handles = new ArrayList<>();
            IntStream.range(base, base + perProducer).forEach(n -> handles.add(producer.submit(tracked, n)));
            for (int i = 0; i < handles.size(); i++) {
              assertThat(handles.get(i).join()).isEqualTo((base + i) * 2);
              answered.add(base + i);
            }
          } catch (Throwable e) {
            errors.add(e);
          }
        });
        threads.add(thread);
        thread.start();
      }
      for (Thread thread : threads) {
        thread.join();
      }
      assertThat(errors).isEmpty();
      assertThat(answered).hasSize(producers * perProducer);
      assertThat(runs.get()).as("no task ran twice").isEqualTo(producers * perProducer);
      assertThat(new HashSet<>(seen)).hasSize(producers * perProducer);
    } finally {
      workers.forEach(Worker::close);
    }
  }
}
