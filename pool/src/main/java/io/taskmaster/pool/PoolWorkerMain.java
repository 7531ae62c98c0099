package io.taskmaster.pool;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.worker.Concurrency;
import io.taskmaster.worker.Worker;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * The main class of a pool's worker process: {@code URI QUEUE CONCURRENCY MODE TASKSET... --id NAME}, the key in
 * {@code TASKMASTER_AUTHKEY}. Serves until SIGTERM (finishing the tasks in hand) or until its parent dies, which it
 * notices by its standard input closing, so that no worker outlives its pool.
 */
public final class PoolWorkerMain {
  /** The exit code of a worker process that killed itself over a handler ignoring its time limit. */
  static final int STUCK_EXIT_CODE = 70;
  private static final Duration STUCK_GRACE = Duration.ofSeconds(2);

  private PoolWorkerMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 6 || !"--id".equals(args[args.length - 2])) {
      System.err.println("usage: PoolWorkerMain URI QUEUE CONCURRENCY cpu|io TASKSET... --id NAME");
      System.exit(2);
    }
    String id = args[args.length - 1];
    Broker broker = Brokers.open(args[0], BrokerOptions.withKey(AuthKey.fromEnvironment()));
    Worker.Builder builder = Worker.builder(broker).queue(args[1]).id(id).adaptivePrefetch()
        .onStuckHandler(STUCK_GRACE, delivery -> {
          // A thread that ignores interruption cannot be stopped: the process goes, and the pool replaces it.
          System.err.println("task " + delivery.taskId() + " (" + delivery.type() + ") ignored its interruption (time limit or cancellation); "
              + "this worker process exits with code " + STUCK_EXIT_CODE + " to be replaced");
          Runtime.getRuntime().halt(STUCK_EXIT_CODE);
        })
        .concurrency(Integer.parseInt(args[2]))
        .mode("io".equals(args[3]) ? Concurrency.IO_BOUND : Concurrency.CPU_BOUND);
    for (int i = 4; i < args.length - 2; i++) {
      builder.register(args[i]);
    }
    Worker worker = builder.start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      worker.shutdown(Duration.ofSeconds(10));
      broker.close();
      stopped.countDown();
    }, "pool-worker-stop"));
    Thread orphanWatch = new Thread(() -> {
      try {
        while (System.in.read() != -1) {
          // the parent writes nothing; any byte is ignored
        }
      } catch (IOException e) {
        // the pipe broke: the parent is gone as well
      }
      System.exit(0);
    }, "pool-parent-watch");
    orphanWatch.setDaemon(true);
    orphanWatch.start();
    stopped.await();
  }
}
