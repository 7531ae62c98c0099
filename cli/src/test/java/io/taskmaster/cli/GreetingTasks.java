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

  /** Sleeps a minute on its first attempt; on a later one answers at once with the attempt's number. */
  public static final TaskType<Integer, Integer> RERUN = TaskType.of("rerun", Integer.class, Integer.class);

  /** Ignores every interruption and never ends: no time limit or cancellation can stop it. */
  public static final TaskType<String, String> DEAF = TaskType.of("deaf", String.class, String.class);

  @Override
  public void register(Handlers handlers) {
    handlers.on(RERUN, ignored -> {
      int attempt = io.taskmaster.worker.TaskContext.current().attempt();
      if (attempt == 1) {
        Thread.sleep(60_000);
      }
      return attempt;
    });
    handlers.on(DEAF, ignored -> {
      while (true) {
        try {
          Thread.sleep(60_000);
        } catch (InterruptedException swallowed) {
          // on purpose
        }
      }
    });
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
