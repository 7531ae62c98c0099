package io.taskmaster.cli.command;

import io.taskmaster.backoff.Backoff;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.cli.ExitCodes;
import io.taskmaster.cli.lifecycle.Termination;
import io.taskmaster.cli.options.ConnectOptions;
import io.taskmaster.cli.options.DurationConverter;
import io.taskmaster.worker.Concurrency;
import io.taskmaster.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "worker", mixinStandardHelpOptions = true,
    description = {
        "Connects to a master, takes tasks from its queues and runs them.",
        "Built-in task types: square (n -> n*n), sleep (ms -> ms, after sleeping), fail (always fails).",
        "SIGTERM or Ctrl-C: stop taking tasks, finish the ones in hand (within --grace), exit 0."
    })
public final class WorkerCommand extends LoggedCommand {
  private static final Logger log = LoggerFactory.getLogger(WorkerCommand.class);

  @Mixin
  ConnectOptions connect;

  @Option(names = "--tasks", paramLabel = "CLASS",
      description = "A TaskSet class on the classpath whose handlers to serve (repeatable).")
  List<String> taskSets = new ArrayList<>();

  @Option(names = "--queue", paramLabel = "NAME", description = "A queue to serve (repeatable; default: tasks).")
  List<String> queues = new ArrayList<>();

  @Option(names = "--concurrency", paramLabel = "N",
      description = "Tasks run at once (default: cores for cpu mode, 1000 for io mode).")
  Integer concurrency;

  @Option(names = "--prefetch", paramLabel = "N", defaultValue = "0",
      description = "Tasks leased ahead of those running; worth it for many short tasks (default: ${DEFAULT-VALUE}).")
  int prefetch;

  @Option(names = "--mode", defaultValue = "cpu",
      description = "cpu: platform threads, one per core; io: virtual threads on JDK 21+ (default: ${DEFAULT-VALUE}).")
  String mode;

  @Option(names = "--id", description = "Worker name in logs and errors (default: host-pid-n).")
  String id;

  @Option(names = "--grace", paramLabel = "DURATION", defaultValue = "30s", converter = DurationConverter.class,
      description = "On shutdown, how long tasks in hand may take to finish before they are released to other "
          + "workers (default: ${DEFAULT-VALUE}).")
  Duration grace;

  @Override
  int execute() throws Exception {
    Termination termination = Termination.install();
    Concurrency concurrencyMode = switch (mode.toLowerCase(Locale.ROOT)) {
      case "cpu" -> Concurrency.CPU_BOUND;
      case "io" -> Concurrency.IO_BOUND;
      default -> throw new IllegalArgumentException("--mode '" + mode + "' is not a mode; use cpu or io");
    };
    Broker broker = connectPatiently(termination);
    if (broker == null) {
      return ExitCodes.OK;
    }
    try (broker) {
      Worker.Builder builder = Worker.builder(broker).mode(concurrencyMode).prefetch(prefetch);
      queues.forEach(builder::queue);
      taskSets.forEach(builder::register);
      if (concurrency != null) {
        builder.concurrency(concurrency);
      }
      if (id != null) {
        builder.id(id);
      }
      Worker worker = builder.start();
      termination.await();
      boolean drained = worker.shutdown(grace);
      log.info("worker {} exiting{}", worker.id(), drained ? "" : " (some tasks were released unfinished)");
    }
    return ExitCodes.OK;
  }

  /** Waits for the master to come up, saying so once; null when a signal arrived first. */
  private Broker connectPatiently(Termination termination) throws InterruptedException {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5));
    boolean said = false;
    while (true) {
      try {
        return connect.open();
      } catch (BrokerUnavailableException e) {
        if (!said) {
          log.warn("{}; retrying until it is up (Ctrl-C to give up)", e.getMessage());
          said = true;
        }
      }
      if (termination.awaitFor(backoff.next().toNanos(), TimeUnit.NANOSECONDS)) {
        return null;
      }
    }
  }
}
