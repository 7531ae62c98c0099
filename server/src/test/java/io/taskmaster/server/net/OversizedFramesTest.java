package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.Submission;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.master.Master;
import io.taskmaster.task.RemoteTaskException;
import io.taskmaster.task.TaskError;
import io.taskmaster.task.TaskType;
import io.taskmaster.worker.TaskContext;
import io.taskmaster.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A request whose frame is longer than the master's {@code --max-frame} used to be sent anyway, and the master
 * closed the connection: a handler's 2 MB result under a 1 MiB limit reached its producer as a misleading
 * {@code io.taskmaster.WorkerLost}, and every other task the worker held lost its lease and an attempt. Now such a
 * request is not sent: a result too large fails its task, as a normal failure that names the size and the limit; a
 * failure whose error is too large is sent cut short; a put too large fails alone; settlements that only together
 * are too large go in several frames. The connection, and everything else on it, carries on.
 *
 * <p>The master has a small limit here and its clients the default one (16 MiB), as with {@code taskmaster master
 * --max-frame 64KiB} and workers started without options: the clients learn the master's limit from its AUTH_OK.
 */
class OversizedFramesTest {
  private static final AuthKey KEY = AuthKey.of("oversized-frames-test-key-0123456789abcdef");
  private static final int LIMIT = 64 * 1024;
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final TaskType<Integer, String> BIG_RESULT = TaskType.of("big-result", Integer.class, String.class);
  private static final TaskType<Integer, String> BIG_ERROR = TaskType.of("big-error", Integer.class, String.class);
  /** Waits until the test lets it go, and answers with the attempt it ran on. */
  private static final TaskType<String, Integer> HOLD = TaskType.of("hold", String.class, Integer.class);

  private final CountDownLatch holding = new CountDownLatch(1);
  private final CountDownLatch letGo = new CountDownLatch(1);
  private Master master;
  private final List<AutoCloseable> opened = new ArrayList<>();

  @BeforeEach
  void startMaster() {
    // Short retry backoffs keep the retries quick; the rules are the same as in production.
    master = Master.start(MasterSettings.of(0, KEY).withMaxFrameBytes(LIMIT),
        EngineSettings.defaults().withRetryBackoff(Duration.ofMillis(50), Duration.ofMinutes(5)));
  }

  @AfterEach
  void stopAll() throws Exception {
    letGo.countDown();
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close(); // the worker before its broker
    }
    master.close();
  }

  @Test
  void aResultLargerThanTheLimitFailsItsTaskLikeAnyFailureAndTheWorkersOtherTaskCarriesOn() throws Exception {
    Producer producer = Producer.on(connect());
    TaskHandle<Integer> held = startWorkerHoldingATask(producer);

    TaskHandle<String> big = producer.submit(BIG_RESULT, 100_000);

    RemoteTaskException failure = remoteFailure(big);
    assertThat(failure.remoteType()).isEqualTo("io.taskmaster.ResultTooLarge");
    assertThat(failure.remoteMessage()).contains("result of 100,002 bytes")
        .contains("the limit of 65,536 bytes per frame (--max-frame)");
    // A failure like any other: retried up to the max attempts (3), then dead-lettered with each attempt's error.
    List<DeadLetter> dead = connect().deadLetters("tasks", 0, 10).get(WAIT.toSeconds(), TimeUnit.SECONDS).page();
    assertThat(dead).singleElement().satisfies(letter -> assertThat(letter.attempts()).extracting(TaskError::type)
        .containsExactly("io.taskmaster.ResultTooLarge", "io.taskmaster.ResultTooLarge",
            "io.taskmaster.ResultTooLarge"));

    assertTheOtherTaskKeptItsLease(held);
  }

  @Test
  void aFailureWhoseErrorIsLargerThanTheLimitIsSentCutShort() throws Exception {
    Producer producer = Producer.on(connect());
    TaskHandle<Integer> held = startWorkerHoldingATask(producer);

    TaskHandle<String> loud = producer.submit(BIG_ERROR, 100_000, SubmitOptions.defaults().maxAttempts(1));

    RemoteTaskException failure = remoteFailure(loud);
    assertThat(failure.remoteType()).isEqualTo(IllegalStateException.class.getName());
    assertThat(failure.remoteMessage()).startsWith("yyyy").hasSizeLessThan(2_000)
        .contains("(sent without its stack trace and cut to 1000 characters: error of this failure is too large");
    assertThat(failure.remoteStackTrace()).isEmpty();

    assertTheOtherTaskKeptItsLease(held);
  }

  @Test
  void aPutLargerThanTheLimitFailsAloneAndTheConnectionCarriesOn() throws Exception {
    RemoteBroker broker = connect();
    CompletableFuture<List<Delivery>> waiting = broker.lease("elsewhere", 1, WAIT);
    await().atMost(WAIT).until(() -> master.engine().stats().waitingConsumers() == 1);
    // Its payload alone fits; with its headers the frame does not.
    Map<String, String> headers = new HashMap<>();
    for (int i = 0; i < 10; i++) {
      headers.put("h" + i, "v".repeat(1000));
    }

    CompletableFuture<Void> put = broker.put(List.of(new TaskMessage("too-large", "q", "", headers,
        new byte[LIMIT - 3000])));
    Submission submit = broker.submit(List.of(new TaskMessage("too-large-too", "q", "", headers,
        new byte[LIMIT - 3000])));

    assertThat(refusal(put)).hasMessageContaining("a put of 1 task(s) is too large")
        .hasMessageContaining("the limit of 65,536 bytes per frame (--max-frame)");
    assertThat(refusal(submit.accepted())).hasMessageContaining("a put of 1 task(s) is too large");
    assertThat(refusal(submit.results().get(0))).hasMessageContaining("a put of 1 task(s) is too large");
    connect().put(List.of(new TaskMessage("small", "elsewhere", "", Map.of(), new byte[] {1})))
        .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(waiting).as("the lease that waited on the same connection meanwhile").succeedsWithin(WAIT)
        .satisfies(leased -> assertThat(leased).extracting(Delivery::taskId).containsExactly("small"));
    assertThat(broker.size("q").get(WAIT.toSeconds(), TimeUnit.SECONDS)).isZero();
  }

  @Test
  void settlementsThatOnlyTogetherExceedTheLimitAreSentInSeveralFrames() throws Exception {
    RemoteBroker broker = connect();
    List<Delivery> leased = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      broker.put(List.of(new TaskMessage("t" + i, "q", "", Map.of(), new byte[] {1}))).get(WAIT.toSeconds(),
          TimeUnit.SECONDS);
      leased.addAll(broker.lease("q", 1, WAIT).get(WAIT.toSeconds(), TimeUnit.SECONDS));
    }
    List<Settlement> acks = leased.stream().map(delivery -> Settlement.ack(delivery.leaseId(),
        new byte[30_000])).toList();

    assertThat(broker.settle(acks).get(WAIT.toSeconds(), TimeUnit.SECONDS))
        .containsExactly(SettleStatus.OK, SettleStatus.OK, SettleStatus.OK);
    for (Delivery delivery : leased) {
      TaskResult result = broker.result(delivery.taskId()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(result.value()).hasSize(30_000);
    }
  }

  /** Starts a worker of two threads, and a task that holds one of them until the test lets it go. */
  private TaskHandle<Integer> startWorkerHoldingATask(Producer producer) throws InterruptedException {
    Worker worker = Worker.builder(connect()).id("w").concurrency(2)
        .handle(HOLD, note -> {
          holding.countDown();
          letGo.await();
          return TaskContext.current().attempt();
        })
        .handle(BIG_RESULT, "x"::repeat)
        .handle(BIG_ERROR, length -> {
          throw new IllegalStateException("y".repeat(length));
        })
        .start();
    opened.add(worker);
    TaskHandle<Integer> held = producer.submit(HOLD, "held meanwhile");
    assertThat(holding.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the other task runs").isTrue();
    return held;
  }

  /** Had the worker's connection closed, the held task would have been delivered again, on its second attempt. */
  private void assertTheOtherTaskKeptItsLease(TaskHandle<Integer> held) {
    letGo.countDown();
    assertThat(held.result()).as("the other task's attempt").succeedsWithin(WAIT).isEqualTo(1);
  }

  private RemoteBroker connect() {
    RemoteBroker broker = RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY));
    assertThat(BrokerOptions.withKey(KEY).maxFrameBytes()).as("the client's own limit").isGreaterThan(LIMIT);
    opened.add(broker);
    return broker;
  }

  private static RemoteTaskException remoteFailure(TaskHandle<?> handle) {
    Throwable failure = failureOf(handle.result());
    assertThat(failure).isInstanceOf(RemoteTaskException.class);
    return (RemoteTaskException) failure;
  }

  private static BrokerException refusal(CompletableFuture<?> request) {
    Throwable failure = failureOf(request);
    assertThat(failure).isInstanceOf(BrokerException.class);
    BrokerException refused = (BrokerException) failure;
    assertThat(refused.code()).as("code of: %s", refused.getMessage()).isEqualTo("FRAME_TOO_LARGE");
    return refused;
  }

  private static Throwable failureOf(CompletableFuture<?> future) {
    try {
      Object value = future.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      throw new AssertionError("expected a failure, but it completed with " + value);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no outcome within " + WAIT, e);
    }
  }
}
