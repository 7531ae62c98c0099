package io.taskmaster.producer;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.Submission;
import io.taskmaster.broker.TaskIds;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskOptions;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.task.RemoteTaskException;
import io.taskmaster.task.TaskType;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Submits tasks and hands back their results as futures. Thread-safe; one producer can serve a whole application.
 *
 * <p>A submit puts tasks and subscribes to their results in one request (see {@link Broker#submit}): a task costs one
 * round trip to be accepted, and its result is pushed when it is settled, without polling.
 */
public final class Producer {
  private final Broker broker;
  private final SubmitOptions defaults;

  private Producer(Broker broker, SubmitOptions defaults) {
    this.broker = Objects.requireNonNull(broker, "broker");
    this.defaults = Objects.requireNonNull(defaults, "defaults");
  }

  public static Producer on(Broker broker) {
    return new Producer(broker, SubmitOptions.defaults());
  }

  /** A producer whose submits use {@code options} unless told otherwise. */
  public Producer withDefaults(SubmitOptions options) {
    return new Producer(broker, options);
  }

  public <A, R> TaskHandle<R> submit(TaskType<A, R> type, A argument) {
    return submit(type, argument, defaults);
  }

  public <A, R> TaskHandle<R> submit(TaskType<A, R> type, A argument, SubmitOptions options) {
    return submitAll(type, List.of(argument), options).get(0);
  }

  /** Submits many tasks in one batch: one put request, acknowledged as a whole. */
  public <A, R> List<TaskHandle<R>> submitAll(TaskType<A, R> type, List<? extends A> arguments) {
    return submitAll(type, arguments, defaults);
  }

  public <A, R> List<TaskHandle<R>> submitAll(
      TaskType<A, R> type, List<? extends A> arguments, SubmitOptions options) {
    List<TaskMessage> messages = new ArrayList<>(arguments.size());
    TaskOptions taskOptions = options.task();
    if (taskOptions.maxAttempts() == 0 && type.maxAttempts() > 0) {
      taskOptions = taskOptions.withMaxAttempts(type.maxAttempts());
    }
    for (A argument : arguments) {
      messages.add(new TaskMessage(TaskIds.next(), options.queue(), type.name(), options.headers(),
          type.encodeArgument(argument), taskOptions));
    }
    List<ProgressFeed> feeds = new ArrayList<>(messages.size());
    for (TaskMessage message : messages) {
      ProgressFeed feed = new ProgressFeed();
      broker.watchProgress(message.id(), feed);
      feeds.add(feed);
    }
    Submission submission = broker.submit(messages);
    CompletableFuture<Void> accepted = submission.accepted();
    List<TaskHandle<R>> handles = new ArrayList<>(messages.size());
    for (int i = 0; i < messages.size(); i++) {
      // A refused put explains itself better than whatever its result wait then reports.
      CompletableFuture<R> result = accepted.thenCombine(submission.results().get(i),
          (ok, taskResult) -> decode(type, taskResult));
      handles.add(new TaskHandle<>(messages.get(i).id(), type.name(), accepted, result, broker, feeds.get(i)));
    }
    return handles;
  }

  private static <R> R decode(TaskType<?, R> type, TaskResult result) {
    if (!result.succeeded()) {
      throw new RemoteTaskException(result.taskId(), result.error());
    }
    return type.decodeResult(result.value());
  }
}
