package io.taskmaster.pool;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.worker.Concurrency;
import io.taskmaster.worker.Worker;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * The main class of a pool's worker process: {@code URI QUEUE CONCURRENCY MODE TASKSET... --id NAME}, the key in
 * {@code TASKMASTER_AUTHKEY}. Serves until SIGTERM (finishing the tasks in hand) or until its parent dies; a handler
 * that ignores its interruption ends the process (see {@link SupervisedChild}).
 */
public final class PoolWorkerMain {
  private PoolWorkerMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 6 || !"--id".equals(args[args.length - 2])) {
      System.err.println("usage: PoolWorkerMain URI QUEUE CONCURRENCY cpu|io TASKSET... --id NAME");
      System.exit(2);
    }
    String id = args[args.length - 1];
    Broker broker = Brokers.open(args[0], BrokerOptions.withKey(AuthKey.fromEnvironment())
        .clientName(SupervisedChild.connectionName(id, ProcessHandle.current().pid())));
    Worker.Builder builder = SupervisedChild.exitWhenAHandlerIsStuck(Worker.builder(broker)).queue(args[1]).id(id)
        .adaptivePrefetch()
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
    SupervisedChild.onSupervisorExit(() -> System.exit(0)); // the shutdown hook above drains the worker
    stopped.await();
  }
}
