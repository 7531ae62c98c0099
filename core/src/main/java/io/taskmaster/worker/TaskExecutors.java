package io.taskmaster.worker;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** Builds the executor that runs a worker's handlers, for its concurrency mode and the running JDK. */
final class TaskExecutors {
  private TaskExecutors() {}

  static ExecutorService create(Concurrency mode, int concurrency, String workerId) {
    if (mode == Concurrency.CPU_BOUND) {
      return Executors.newFixedThreadPool(concurrency, named("taskmaster-task-" + workerId + "-"));
    }
    ExecutorService virtual = virtualThreadPerTask();
    // JDK 17 has no virtual threads: platform threads created on demand, bounded by the worker's lease permits.
    return virtual != null ? virtual : Executors.newCachedThreadPool(named("taskmaster-io-" + workerId + "-"));
  }

  /** True when this JDK can run a task per virtual thread (JDK 21 and later). */
  static boolean virtualThreadsAvailable() {
    return Runtime.version().feature() >= 21;
  }

  /** Compiled for Java 17, so the JDK 21 factory is found by lookup rather than linked. */
  private static ExecutorService virtualThreadPerTask() {
    if (!virtualThreadsAvailable()) {
      return null;
    }
    try {
      return (ExecutorService) MethodHandles.publicLookup()
          .findStatic(Executors.class, "newVirtualThreadPerTaskExecutor", MethodType.methodType(ExecutorService.class))
          .invoke();
    } catch (Throwable e) {
      return null;
    }
  }

  private static ThreadFactory named(String prefix) {
    AtomicInteger next = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + next.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
