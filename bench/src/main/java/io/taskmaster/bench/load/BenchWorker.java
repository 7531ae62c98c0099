package io.taskmaster.bench.load;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.worker.Worker;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * A worker process for the load tool: serves {@link BenchTasks#SQUARE} on queue {@code bench}. Arguments: URI,
 * worker id, concurrency, prefetch. The key comes from {@code TASKMASTER_AUTHKEY}. Runs until its parent closes its
 * stdin.
 */
public final class BenchWorker {
  private BenchWorker() {}

  public static void main(String[] args) throws Exception {
    String uri = args[0];
    String id = args[1];
    int concurrency = Integer.parseInt(args[2]);
    int prefetch = Integer.parseInt(args[3]);
    AuthKey key = AuthKey.fromEnvironment();
    try (Broker broker = Brokers.open(uri, BrokerOptions.withKey(key))) {
      Worker worker = Worker.builder(broker).id(id).queue("bench").concurrency(concurrency).prefetch(prefetch)
          .handle(BenchTasks.SQUARE, task -> new BenchTasks.Squared(task.id(), task.n() * task.n(), id))
          .start();
      System.out.println("ready");
      System.out.flush();
      // The parent asks for this JVM's JIT time with a line "jit", and ends the worker by closing our stdin: no
      // signals, works the same on every OS.
      BufferedReader parent = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = parent.readLine()) != null; ) {
        if (line.equals("jit")) {
          System.out.println("jit " + JitTime.millis());
          System.out.flush();
        }
      }
      worker.shutdown(java.time.Duration.ofSeconds(5));
    }
  }
}
