package io.taskmaster.pool;

import io.taskmaster.task.TaskType;
import io.taskmaster.worker.Handlers;
import io.taskmaster.worker.TaskContext;
import io.taskmaster.worker.TaskSet;
import java.util.ArrayList;
import java.util.List;

/** Handlers for the pool tests, loaded by name in worker processes. */
public final class PoolTasks implements TaskSet {
  static final TaskType<Integer, Integer> SQUARE = TaskType.of("pool-square", Integer.class, Integer.class);
  /** Reports progress 0 of its argument ("started"), sleeps the given milliseconds, then answers its argument. */
  static final TaskType<Integer, Integer> SLOW = TaskType.of("pool-slow", Integer.class, Integer.class);
  /** As SLOW, but its progress message is the id of the process it runs in. */
  static final TaskType<Integer, Integer> SLOW_SAYING_PID = TaskType.of("pool-slow-pid", Integer.class, Integer.class);
  static final TaskType<String, String> BOOM = TaskType.of("pool-boom", String.class, String.class);
  /** Ends its process with the given exit code, as a handler calling System.exit would. */
  static final TaskType<Integer, Integer> EXIT = TaskType.of("pool-exit", Integer.class, Integer.class);
  /** Prints its argument on the worker's stderr. */
  static final TaskType<String, String> SAY = TaskType.of("pool-say", String.class, String.class);
  /**
   * Reports progress 0 of its argument ("started"), then spins for the given milliseconds and ignores every
   * interruption: a handler no time limit or cancellation can stop.
   */
  static final TaskType<Integer, Integer> STUBBORN = TaskType.of("pool-stubborn", Integer.class, Integer.class);
  /** Logs its argument twice, with {@code TaskContext.log()} and with the handler's own SLF4J logger. */
  static final TaskType<String, String> LOG = TaskType.of("pool-log", String.class, String.class);
  /** The logger the {@link #LOG} handler uses besides its task's. */
  static final org.slf4j.Logger HANDLER_LOG = org.slf4j.LoggerFactory.getLogger(PoolTasks.class);
  /** Answers the name of the thread it runs on. */
  static final TaskType<String, String> THREAD = TaskType.of("pool-thread", String.class, String.class);
  /** Allocates until the heap is gone. */
  static final TaskType<Integer, Integer> HOG = TaskType.of("pool-hog", Integer.class, Integer.class);

  @Override
  public void register(Handlers handlers) {
    handlers.on(SQUARE, n -> n * n)
        .on(SLOW, ms -> {
          TaskContext.current().progress(0, ms, "started");
          Thread.sleep(ms);
          return ms;
        })
        .on(SLOW_SAYING_PID, ms -> {
          TaskContext.current().progress(0, ms, String.valueOf(ProcessHandle.current().pid()));
          Thread.sleep(ms);
          return ms;
        })
        .on(BOOM, message -> {
          throw new IllegalStateException(message);
        })
        .on(THREAD, ignored -> Thread.currentThread().getName())
        .on(LOG, text -> {
          TaskContext.current().log().info("task log: {}", text);
          HANDLER_LOG.info("handler log: {}", text);
          return text;
        })
        .on(SAY, text -> {
          System.err.println(text);
          return text;
        })
        .on(STUBBORN, millis -> {
          TaskContext.current().progress(0, millis, "started");
          long end = System.nanoTime() + millis * 1_000_000L;
          while (System.nanoTime() < end) {
            Thread.interrupted(); // swallowed, on purpose
          }
          return millis;
        })
        .on(EXIT, code -> {
          Runtime.getRuntime().halt(code);
          return code;
        })
        .on(HOG, megabytes -> {
          List<byte[]> held = new ArrayList<>();
          while (true) {
            held.add(new byte[megabytes << 20]);
          }
        });
  }
}
