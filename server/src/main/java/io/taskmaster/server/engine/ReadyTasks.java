package io.taskmaster.server.engine;

import io.taskmaster.broker.TaskOptions;
import java.util.ArrayDeque;

/**
 * The ready tasks of one queue: one FIFO per priority, the highest non-empty one served first. With ten fixed
 * priorities this is as cheap as a single deque and keeps FIFO order within a priority exactly. Guarded by the
 * engine's lock.
 */
final class ReadyTasks {
  @SuppressWarnings("unchecked")
  private final ArrayDeque<StoredTask>[] byPriority = new ArrayDeque[TaskOptions.MAX_PRIORITY + 1];
  private int size;

  /** Made on first use: most queues use one priority, and a queue that holds nothing is dropped and made again. */
  private ArrayDeque<StoredTask> at(int priority) {
    ArrayDeque<StoredTask> tasks = byPriority[priority];
    if (tasks == null) {
      tasks = new ArrayDeque<>();
      byPriority[priority] = tasks;
    }
    return tasks;
  }

  /** Behind the tasks of its priority: a new or retried task. */
  void addLast(StoredTask task) {
    at(task.message.options().priority()).addLast(task);
    size++;
  }

  /** Ahead of the tasks of its priority: a task given back or lost before it could run. */
  void addFirst(StoredTask task) {
    at(task.message.options().priority()).addFirst(task);
    size++;
  }

  StoredTask peekFirst() {
    for (int i = byPriority.length - 1; i >= 0; i--) {
      if (byPriority[i] != null && !byPriority[i].isEmpty()) {
        return byPriority[i].peekFirst();
      }
    }
    return null;
  }

  StoredTask pollFirst() {
    for (int i = byPriority.length - 1; i >= 0; i--) {
      if (byPriority[i] != null && !byPriority[i].isEmpty()) {
        size--;
        return byPriority[i].pollFirst();
      }
    }
    return null;
  }

  /** Takes a task out wherever it stands (a cancellation); O(n) in its priority. */
  boolean remove(StoredTask task) {
    ArrayDeque<StoredTask> tasks = byPriority[task.message.options().priority()];
    boolean removed = tasks != null && tasks.remove(task);
    if (removed) {
      size--;
    }
    return removed;
  }

  /** Visits the tasks in the order they would be served. */
  void forEach(java.util.function.Consumer<StoredTask> action) {
    for (int i = byPriority.length - 1; i >= 0; i--) {
      if (byPriority[i] != null) {
        byPriority[i].forEach(action);
      }
    }
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }
}
