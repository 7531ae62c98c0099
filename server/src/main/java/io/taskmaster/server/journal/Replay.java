package io.taskmaster.server.journal;

import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.server.engine.EngineChange;
import io.taskmaster.server.engine.RecoveredState;
import io.taskmaster.task.TaskError;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Folds a stream of changes into the state they leave behind. A change about a task the replay does not know is
 * skipped: its earlier history was compacted away because the task was settled, or a checkpoint snapshot of it
 * follows.
 */
final class Replay implements Consumer<EngineChange> {
  private static final class Pending {
    final TaskMessage task;
    int deliveries;
    final List<TaskError> errors;
    long runAtEpochMillis;
    boolean leased;
    boolean cancelRequested;

    Pending(TaskMessage task, int deliveries, List<TaskError> errors, long runAtEpochMillis, boolean leased) {
      this.task = task;
      this.deliveries = deliveries;
      this.errors = new ArrayList<>(errors);
      this.runAtEpochMillis = runAtEpochMillis;
      this.leased = leased;
    }
  }

  private final Map<String, Pending> pending = new LinkedHashMap<>();
  private final Map<String, DeadLetter> dead = new LinkedHashMap<>();
  private final Map<String, RecoveredState.StoredResult> results = new LinkedHashMap<>();

  @Override
  public void accept(EngineChange change) {
    if (change instanceof EngineChange.Put put) {
      TaskMessage task = put.task();
      pending.remove(task.id());
      pending.put(task.id(), new Pending(task, 0, List.of(), task.options().runAtEpochMillis(), false));
    } else if (change instanceof EngineChange.Leased leased) {
      Pending task = pending.get(leased.taskId());
      if (task != null) {
        task.deliveries = leased.deliveries();
        task.leased = true;
      }
    } else if (change instanceof EngineChange.Returned returned) {
      // It keeps its place: the engine puts a task given back or lost at the head of its queue.
      Pending task = pending.get(returned.taskId());
      if (task != null) {
        task.deliveries = returned.deliveries();
        task.leased = false;
        if (returned.error() != null) {
          task.errors.add(returned.error());
        }
        task.runAtEpochMillis = returned.runAtEpochMillis();
      }
    } else if (change instanceof EngineChange.CancelRequested cancel) {
      Pending task = pending.get(cancel.taskId());
      if (task != null) {
        task.cancelRequested = true;
      }
    } else if (change instanceof EngineChange.Dead died) {
      Pending task = pending.remove(died.taskId());
      if (task != null) {
        task.errors.add(died.error());
        dead.put(died.taskId(), new DeadLetter(task.task, List.copyOf(task.errors),
            Instant.ofEpochMilli(died.atEpochMillis())));
        storeResult(TaskResult.failure(died.taskId(), died.error()), died.atEpochMillis());
      }
    } else if (change instanceof EngineChange.Done done) {
      pending.remove(done.taskId());
      if (done.result() != null) {
        storeResult(done.result(), done.atEpochMillis());
      }
    } else if (change instanceof EngineChange.DeadRetried retried) {
      DeadLetter letter = dead.remove(retried.taskId());
      if (letter != null) {
        results.remove(retried.taskId());
        pending.put(retried.taskId(), new Pending(letter.task(), 0, List.of(), 0, false));
      }
    } else if (change instanceof EngineChange.DeadPurged purged) {
      dead.values().removeIf(letter -> letter.task().queue().equals(purged.queue()));
    } else if (change instanceof EngineChange.TaskSnapshot snapshot) {
      String id = snapshot.task().id();
      pending.remove(id);
      Pending task = new Pending(snapshot.task(), snapshot.deliveries(), snapshot.errors(),
          snapshot.runAtEpochMillis(), snapshot.leased());
      task.cancelRequested = snapshot.cancelRequested();
      pending.put(id, task);
    } else if (change instanceof EngineChange.DeadSnapshot snapshot) {
      String id = snapshot.dead().task().id();
      dead.remove(id);
      dead.put(id, snapshot.dead());
    } else if (change instanceof EngineChange.ResultSnapshot snapshot) {
      storeResult(snapshot.result(), snapshot.storedAtEpochMillis());
    }
  }

  private void storeResult(TaskResult result, long atEpochMillis) {
    results.remove(result.taskId());
    results.put(result.taskId(), new RecoveredState.StoredResult(result, atEpochMillis));
  }

  RecoveredState state() {
    List<RecoveredState.PendingTask> tasks = new ArrayList<>(pending.size());
    for (Pending task : pending.values()) {
      tasks.add(new RecoveredState.PendingTask(task.task, task.deliveries, List.copyOf(task.errors),
          task.runAtEpochMillis, task.leased, task.cancelRequested));
    }
    return new RecoveredState(tasks, new ArrayList<>(dead.values()), new ArrayList<>(results.values()));
  }
}
