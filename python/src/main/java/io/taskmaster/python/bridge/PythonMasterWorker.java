package io.taskmaster.python.bridge;

import io.taskmaster.backoff.Backoff;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.python.client.PythonManager;
import io.taskmaster.python.client.PythonQueue;
import io.taskmaster.worker.Handlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Taskmaster worker for a Python master (the tutorial's {@code task_master.py}): takes the bare values of its task
 * queue, runs a named Java handler on each, and puts each result on its result queue, as the tutorial's Python
 * worker does. Waits while the master is not up yet; ends when the master goes away after work was done, or when
 * asked to stop.
 */
public final class PythonMasterWorker {
  private static final Logger log = LoggerFactory.getLogger(PythonMasterWorker.class);
  private static final Duration POLL = Duration.ofSeconds(1);

  /** How the worker waits between attempts: returns true when it was asked to stop meanwhile. */
  @FunctionalInterface
  public interface Pause {
    boolean stopRequestedWithin(Duration wait) throws InterruptedException;
  }

  /**
   * @param host the Python master's address
   * @param port its port
   * @param key its authkey
   * @param taskQueue the typeid of the queue of tasks ({@code get_task_queue})
   * @param resultQueue the typeid of the queue of results ({@code get_result_queue})
   * @param taskType the handler to run on each task
   * @param threads tasks run at once, each on its own connection
   */
  public record Settings(String host, int port, byte[] key, String taskQueue, String resultQueue, String taskType,
      int threads) {
    @Override
    public String toString() {
      return "Settings[" + host + ":" + port + ", key=<redacted>, " + taskQueue + " -> " + taskType + " -> "
          + resultQueue + ", threads=" + threads + "]";
    }
  }

  private final Settings settings;
  private final Handlers handlers;
  private final AtomicLong done = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private volatile boolean stopping;

  public PythonMasterWorker(Settings settings, Handlers handlers) {
    if (!handlers.names().contains(settings.taskType())) {
      throw new IllegalArgumentException("no handler for task type '" + settings.taskType() + "'; known: "
          + handlers.names() + " (add yours with --tasks CLASS)");
    }
    this.settings = settings;
    this.handlers = handlers;
  }

  /** Serves until the master goes away after some work, or {@link #stop()}; returns the number of tasks done. */
  public long run(Pause pause) throws InterruptedException {
    PythonManager manager = connectPatiently(pause);
    if (manager == null) {
      return 0;
    }
    try (manager) {
      PythonQueue tasks = manager.queue(settings.taskQueue());
      PythonQueue results = manager.queue(settings.resultQueue());
      log.info("serving the Python master at {}: {} -> {} -> {}, {} thread(s)", manager.describe(),
          settings.taskQueue(), settings.taskType(), settings.resultQueue(), settings.threads());
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < settings.threads(); i++) {
        Thread thread = new Thread(() -> serve(tasks, results), "python-worker-" + i);
        thread.start();
        threads.add(thread);
      }
      for (Thread thread : threads) {
        thread.join();
      }
    }
    log.info("done with the Python master: {} task(s) succeeded, {} failed", done.get(), failed.get());
    return done.get();
  }

  /** Asks the loops to end after the task in hand. */
  public void stop() {
    stopping = true;
  }

  private void serve(PythonQueue tasks, PythonQueue results) {
    while (!stopping) {
      Optional<byte[]> task;
      try {
        task = tasks.getJson(POLL);
      } catch (BrokerUnavailableException e) {
        if (done.get() + failed.get() > 0) {
          log.info("the Python master went away after the work: {}", e.getMessage());
        } else {
          log.warn("the Python master went away before any task: {}", e.getMessage());
        }
        stopping = true;
        return;
      }
      if (task.isEmpty()) {
        continue; // queue.Empty: the master has nothing yet
      }
      byte[] argument = task.get();
      byte[] result;
      try {
        result = handlers.run(settings.taskType(), argument);
      } catch (Exception e) {
        failed.incrementAndGet();
        log.error("task {}({}) failed and has no result to give: {}", settings.taskType(),
            new String(argument, StandardCharsets.UTF_8), e.toString());
        continue;
      }
      try {
        results.putJson(result);
        done.incrementAndGet();
      } catch (BrokerUnavailableException e) {
        log.warn("the result of {}({}) could not be put, the Python master went away: {}", settings.taskType(),
            new String(argument, StandardCharsets.UTF_8), e.getMessage());
        stopping = true;
        return;
      }
    }
  }

  private PythonManager connectPatiently(Pause pause) throws InterruptedException {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5));
    boolean said = false;
    while (!stopping) {
      try {
        return PythonManager.connect(settings.host(), settings.port(), settings.key());
      } catch (BrokerUnavailableException e) {
        if (!said) {
          log.warn("{}; retrying until it is up (Ctrl-C to give up)", e.getMessage());
          said = true;
        }
      }
      if (pause.stopRequestedWithin(backoff.next())) {
        return null;
      }
    }
    return null;
  }
}
