package io.taskmaster.pool;

import io.taskmaster.broker.Names;
import io.taskmaster.worker.Worker;
import java.io.IOException;
import java.time.Duration;

/**
 * What a worker process run by {@link WorkerProcesses} does to be supervised well, whether it is a pool's worker
 * ({@link PoolWorkerMain}) or a child of {@code taskmaster worker --processes N}: it exits when a handler cannot be
 * stopped, so that the supervisor replaces it, and it stops when its supervisor is gone, so that it never outlives
 * it.
 */
public final class SupervisedChild {
  /** The exit code of a worker process that ended itself over a handler ignoring its interruption. */
  static final int STUCK_EXIT_CODE = 70;
  /** How long a handler may ignore its interruption (time limit or cancellation) before its process exits. */
  private static final Duration STUCK_GRACE = Duration.ofSeconds(2);

  private SupervisedChild() {}

  /**
   * The name a child gives its connection to the master: its worker id and process id, so that the master's log
   * lines and the error of a task lost with the connection say which process it was, even after a replacement
   * took the same worker id.
   */
  public static String connectionName(String workerId, long pid) {
    String process = " (pid " + pid + ")";
    // A name is at most 255 characters; a worker id near that keeps its start.
    return workerId.substring(0, Math.min(workerId.length(), Names.MAX_LENGTH - process.length())) + process;
  }

  /**
   * Has the worker's process exit with {@link #STUCK_EXIT_CODE} when a handler still runs 2 s after it was
   * interrupted at its time limit or cancellation: a thread that ignores interruption cannot be stopped, a process
   * can, and the supervisor replaces it (naming the exit, see {@link WorkerProcesses}).
   */
  public static Worker.Builder exitWhenAHandlerIsStuck(Worker.Builder builder) {
    return builder.onStuckHandler(STUCK_GRACE, delivery -> {
      System.err.println("task " + delivery.taskId() + " (" + delivery.type() + ") ignored its interruption (time "
          + "limit or cancellation); this worker process exits with code " + STUCK_EXIT_CODE + " to be replaced");
      Runtime.getRuntime().halt(STUCK_EXIT_CODE);
    });
  }

  /**
   * Runs {@code stop} once the supervisor is gone, however it went (kill -9 included): it holds this process's
   * standard input open and writes nothing, so the end of that input is its death.
   */
  public static void onSupervisorExit(Runnable stop) {
    Thread watch = new Thread(() -> {
      try {
        while (System.in.read() != -1) {
          // the supervisor writes nothing; any byte is ignored
        }
      } catch (IOException e) {
        // the pipe broke: the supervisor is gone as well
      }
      stop.run();
    }, "supervisor-watch");
    watch.setDaemon(true);
    watch.start();
  }
}
