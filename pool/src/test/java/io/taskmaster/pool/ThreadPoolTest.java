package io.taskmaster.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.task.RemoteTaskException;
import io.taskmaster.task.TaskType;
import io.taskmaster.worker.TaskSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The pool API on threads of this JVM: apply, map order, unordered results, close and join, errors, the task id in
 * handlers' log lines.
 */
class ThreadPoolTest {
  @Test
  void applyMapAndImapUnorderedGiveEveryResult() {
    try (TaskPool pool = TaskPool.threads(2, new PoolTasks())) {
      assertThat(pool.apply(PoolTasks.SQUARE, 7)).isEqualTo(49);
      CompletableFuture<Integer> later = pool.applyAsync(PoolTasks.SQUARE, 9);
      List<Integer> inputs = IntStream.rangeClosed(1, 200).boxed().toList();
      assertThat(pool.map(PoolTasks.SQUARE, inputs)).as("in the order of the arguments")
          .containsExactlyElementsOf(inputs.stream().map(n -> n * n).toList());
      List<Integer> unordered = new ArrayList<>();
      pool.imapUnordered(PoolTasks.SQUARE, inputs).forEach(unordered::add);
      assertThat(unordered).containsExactlyInAnyOrderElementsOf(inputs.stream().map(n -> n * n).toList());
      assertThat(later).isCompletedWithValue(81);
    }
  }

  @Test
  void imapUnorderedYieldsAQuickResultBeforeASlowOne() {
    try (TaskPool pool = TaskPool.threads(2, new PoolTasks())) {
      Iterable<Integer> results = pool.imapUnordered(PoolTasks.SLOW, List.of(3_000, 1));
      assertThat(results.iterator().next()).as("the 1 ms task ends first").isEqualTo(1);
    }
  }

  @Test
  void aFailingHandlerFailsItsTaskOnlyAndThePoolGoesOn() {
    try (TaskPool pool = TaskPool.threads(1, new PoolTasks())) {
      assertThatThrownBy(() -> pool.apply(PoolTasks.BOOM, "bad input")).isInstanceOf(RemoteTaskException.class)
          .hasMessageContaining("bad input");
      assertThat(pool.apply(PoolTasks.SQUARE, 3)).isEqualTo(9);
    }
  }

  @Test
  void aTasksOwnOptionsCanMakeItFailAtItsFirstError() {
    AtomicInteger runs = new AtomicInteger();
    TaskType<String, String> boom = TaskType.of("pool-counted-boom", String.class, String.class);
    TaskSet counted = handlers -> handlers.on(boom, message -> {
      runs.incrementAndGet();
      throw new IllegalStateException(message);
    });
    try (TaskPool pool = TaskPool.threads(1, counted)) {
      // The queue named is ignored: a pool's tasks always go to its own workers.
      TaskFuture<String> once = pool.applyAsync(boom, "no retry", SubmitOptions.defaults().maxAttempts(1)
          .onQueue("elsewhere"));
      assertThat(once).failsWithin(Duration.ofSeconds(30)).withThrowableThat().havingCause()
          .isInstanceOf(RemoteTaskException.class).withMessageContaining("no retry");
      assertThat(runs).as("one attempt, where the default is three").hasValue(1);
    }
  }

  @Test
  void closeLetsSubmittedTasksFinishAndAClosedPoolRefusesWork() {
    TaskPool pool = TaskPool.threads(2, new PoolTasks());
    CompletableFuture<Integer> slow = pool.applyAsync(PoolTasks.SLOW, 300);
    pool.close();
    assertThat(slow).as("close waits for the submitted tasks").isCompletedWithValue(300);
    assertThatThrownBy(() -> pool.apply(PoolTasks.SQUARE, 2)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    pool.close(); // idempotent
  }

  @Test
  void joinWaitsForTheTasksSubmittedSoFar() {
    try (TaskPool pool = TaskPool.threads(2, new PoolTasks())) {
      List<CompletableFuture<Integer>> slow = List.of(pool.applyAsync(PoolTasks.SLOW, 200),
          pool.applyAsync(PoolTasks.SLOW, 100));
      pool.join();
      assertThat(slow).allSatisfy(future -> assertThat(future).isDone());
      assertThat(pool.apply(PoolTasks.SQUARE, 5)).as("still open after join").isEqualTo(25);
    }
  }

  @Test
  void joinWithATimeoutGivesUpOnAHandlerThatIgnoresInterruptionAndTerminateEndsIt() throws InterruptedException {
    TaskType<String, String> deaf = TaskType.of("pool-deaf", String.class, String.class);
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    TaskPool pool = TaskPool.threads(1, handlers -> handlers.on(deaf, text -> {
      started.countDown();
      while (release.getCount() > 0) {
        try {
          release.await();
        } catch (InterruptedException swallowed) {
          // on purpose: neither a cancellation nor a shutdown can stop this handler
        }
      }
      return text;
    }).on(PoolTasks.SQUARE, n -> n * n));
    try {
      TaskFuture<Integer> quick = pool.applyAsync(PoolTasks.SQUARE, 3);
      assertThat(pool.join(Duration.ofSeconds(30))).as("every task done").isTrue();
      assertThat(quick).isCompletedWithValue(9);

      TaskFuture<String> stuck = pool.applyAsync(deaf, "never");
      assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
      assertThat(stuck.cancel(true)).as("interrupted, and ignores it").isTrue();
      TaskFuture<Integer> behind = pool.applyAsync(PoolTasks.SQUARE, 4);

      assertThat(pool.join(Duration.ofMillis(200))).as("a task behind the stuck handler cannot run").isFalse();
      assertThat(behind).isNotDone();
      pool.terminate();
      assertThat(behind).isCompletedExceptionally();
    } finally {
      release.countDown();
    }
  }

  @Test
  void cancellingAFutureCancelsItsTaskWhetherQueuedOrRunning() {
    try (TaskPool pool = TaskPool.threads(1, new PoolTasks())) {
      TaskFuture<Integer> running = pool.applyAsync(PoolTasks.SLOW, 600_000);
      TaskFuture<Integer> queued = pool.applyAsync(PoolTasks.SQUARE, 6);
      org.awaitility.Awaitility.await("the slow task's first report").atMost(java.time.Duration.ofSeconds(30))
          .until(() -> running.progress().isPresent());
      assertThat(running.progress().orElseThrow().message()).isEqualTo("started");

      assertThat(queued.cancel(true)).as("a task not started is cancelled on the master").isTrue();
      assertThat(queued).isCancelled();
      assertThat(running.cancel(true)).as("a running task has its handler interrupted").isTrue();
      assertThat(running).isCancelled();

      assertThat(pool.apply(PoolTasks.SQUARE, 5)).as("the one thread is free again").isEqualTo(25);
      assertThat(running.cancel(true)).as("already cancelled").isFalse();
    }
  }

  @Test
  void terminateFailsWhatIsNotDone() {
    TaskPool pool = TaskPool.threads(1, new PoolTasks());
    CompletableFuture<Integer> hanging = pool.applyAsync(PoolTasks.SLOW, 60_000);
    CompletableFuture<Integer> queued = pool.applyAsync(PoolTasks.SQUARE, 2);
    pool.terminate();
    assertThat(hanging).isCompletedExceptionally();
    assertThat(queued).isCompletedExceptionally();
    assertThatThrownBy(() -> pool.apply(PoolTasks.SQUARE, 2)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void linesAHandlerLogsCarryItsTaskIdInTheMdc() {
    LineRecorder recorder = new LineRecorder();
    Logger taskLog = (Logger) LoggerFactory.getLogger("io.taskmaster.task." + PoolTasks.LOG.name());
    Logger handlerLog = (Logger) PoolTasks.HANDLER_LOG;
    try (TaskPool pool = TaskPool.threads(2, new PoolTasks())) {
      recorder.attachTo(taskLog, handlerLog);
      TaskFuture<String> first = pool.applyAsync(PoolTasks.LOG, "first");
      TaskFuture<String> second = pool.applyAsync(PoolTasks.LOG, "second");
      pool.join();

      assertThat(recorder.lines).containsExactlyInAnyOrder(
          "task log: first [taskId=" + first.taskId() + "]", "handler log: first [taskId=" + first.taskId() + "]",
          "task log: second [taskId=" + second.taskId() + "]", "handler log: second [taskId=" + second.taskId() + "]");
    } finally {
      recorder.detachFrom(taskLog, handlerLog);
    }
  }

  /**
   * Records each line with the MDC task id it had when it was logged, on the handler's thread: an event whose MDC is
   * read later, on the test's thread, would show that thread's.
   */
  private static final class LineRecorder extends AppenderBase<ILoggingEvent> {
    final List<String> lines = new CopyOnWriteArrayList<>();

    @Override
    protected void append(ILoggingEvent event) {
      lines.add(event.getFormattedMessage() + " [taskId=" + event.getMDCPropertyMap().get("taskId") + "]");
    }

    void attachTo(Logger... loggers) {
      start();
      for (Logger logger : loggers) {
        logger.setLevel(Level.INFO);
        logger.setAdditive(false); // the test's lines stay out of the console
        logger.addAppender(this);
      }
    }

    void detachFrom(Logger... loggers) {
      for (Logger logger : loggers) {
        logger.detachAppender(this);
        logger.setAdditive(true);
        logger.setLevel(null);
      }
      stop();
    }
  }
}
