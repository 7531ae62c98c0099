package io.taskmaster.producer;

import io.taskmaster.broker.TaskProgress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** The progress reports of one submitted task: the latest, and the listeners that want the next ones. */
final class ProgressFeed implements Consumer<TaskProgress> {
  private final List<Consumer<TaskProgress>> listeners = new CopyOnWriteArrayList<>();
  private volatile TaskProgress latest;

  @Override
  public void accept(TaskProgress progress) {
    latest = progress;
    listeners.forEach(listener -> listener.accept(progress));
  }

  Optional<TaskProgress> latest() {
    return Optional.ofNullable(latest);
  }

  void listen(Consumer<TaskProgress> listener) {
    listeners.add(listener);
    TaskProgress now = latest;
    if (now != null) {
      listener.accept(now);
    }
  }
}
