package io.taskmaster.cli.command;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.cli.ExitCodes;
import io.taskmaster.cli.lifecycle.ChildJvm;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.protocol.auth.Handshake;
import io.taskmaster.server.master.Master;
import io.taskmaster.server.net.MasterSettings;
import io.taskmaster.worker.BuiltinTasks;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {
        "Plays the distributed-processes tutorial on this machine.",
        "A master starts, worker processes connect with the auth key, 10 random integers are put on the task",
        "queue, the workers square them and each result is printed as it arrives; then everything stops."
    })
public final class DemoCommand extends LoggedCommand {
  @Spec
  CommandSpec spec;

  @Option(names = "--workers", defaultValue = "2", description = "Worker processes (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--tasks", defaultValue = "10", description = "Tasks to submit (default: ${DEFAULT-VALUE}).")
  int tasks;

  @Override
  int execute() throws Exception {
    if (workers < 1 || tasks < 1) {
      throw new IllegalArgumentException("--workers and --tasks must be at least 1");
    }
    PrintWriter out = spec.commandLine().getOut();
    // A fresh random key for this run only; the workers get it through their environment, not their arguments.
    String secret = Base64.getEncoder().encodeToString(Handshake.nonce(32));
    AuthKey key = AuthKey.of(secret);
    List<Process> children = new ArrayList<>();
    try (Master master = Master.start(MasterSettings.of(0, key))) {
      out.printf("master listening on %s%n", master.uri());
      for (int i = 1; i <= workers; i++) {
        children.add(ChildJvm.start(List.of("worker", "--connect", master.uri(), "--id", "worker-" + i,
            "--concurrency", "1", "--log-level", "WARN"), Map.of(AuthKey.ENV, secret)));
      }
      out.printf("started %d worker processes (pids %s)%n", workers,
          children.stream().map(p -> String.valueOf(p.pid())).toList());
      out.flush();
      try (Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(key))) {
        Producer producer = Producer.on(broker);
        List<CompletableFuture<?>> printed = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
          long n = ThreadLocalRandom.current().nextLong(10_000);
          out.printf("Put task %d...%n", n);
          TaskHandle<Long> handle = producer.submit(BuiltinTasks.SQUARE, n);
          printed.add(handle.result().thenAccept(r -> {
            synchronized (out) {
              out.printf("%d * %d = %d%n", n, n, r);
              out.flush();
            }
          }));
        }
        out.println("Try get results...");
        out.flush();
        CompletableFuture.allOf(printed.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      }
      return stopWorkers(children, out);
    } finally {
      children.forEach(Process::destroyForcibly);
    }
  }

  /** SIGTERM to each worker, as an operator would; each drains and exits 0. */
  private static int stopWorkers(List<Process> children, PrintWriter out) throws InterruptedException {
    children.forEach(Process::destroy);
    int code = ExitCodes.OK;
    for (Process child : children) {
      if (!child.waitFor(30, TimeUnit.SECONDS)) {
        out.printf("worker pid %d did not stop within 30 s%n", child.pid());
        code = ExitCodes.FAILED;
      } else if (child.exitValue() != 0) {
        out.printf("worker pid %d exited with %d%n", child.pid(), child.exitValue());
        code = ExitCodes.FAILED;
      }
    }
    out.println(code == ExitCodes.OK ? "workers stopped; master exit." : "demo finished with errors");
    out.flush();
    return code;
  }
}
