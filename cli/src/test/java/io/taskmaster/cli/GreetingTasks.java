package io.taskmaster.cli;

import io.taskmaster.task.TaskType;
import io.taskmaster.worker.Handlers;
import io.taskmaster.worker.TaskSet;

/** A user's task set, loaded by {@code taskmaster worker --tasks io.taskmaster.cli.GreetingTasks}. */
public final class GreetingTasks implements TaskSet {
  public static final TaskType<String, String> GREET = TaskType.of("greet", String.class, String.class);
  /** Kills the worker's JVM on the spot: a poison task. */
  public static final TaskType<String, String> CRASH = TaskType.of("crash", String.class, String.class);

  /** Counts to its argument, reporting progress at each step. */
  public static final TaskType<Integer, Integer> COUNT = TaskType.of("count", Integer.class, Integer.class);

  @Override
  public void register(Handlers handlers) {
    handlers.on(GREET, name -> "hello, " + name);
    handlers.on(COUNT, steps -> {
      for (int step = 1; step <= steps; step++) {
        io.taskmaster.worker.TaskContext.current().progress(step, steps, "step " + step);
      }
      return steps;
    });
    handlers.on(CRASH, ignored -> {
      Runtime.getRuntime().halt(3);
      return "unreachable";
    });
  }
}
