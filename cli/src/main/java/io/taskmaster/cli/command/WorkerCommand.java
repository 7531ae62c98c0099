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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import io.taskmaster.broker.AuthKey;
import io.taskmaster.pool.SupervisedChild;
import io.taskmaster.pool.WorkerProcesses;
import io.taskmaster.python.bridge.PythonMasterWorker;
import io.taskmaster.worker.BuiltinTasks;
import io.taskmaster.worker.Handlers;
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
  private static final String SUPERVISED = "--supervised";

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

  @Option(names = "--prefetch", paramLabel = "N|auto", defaultValue = "0",
      description = "Tasks leased ahead of those running; worth it for many short tasks. auto: about a millisecond "
          + "of work per thread, judged from the tasks run so far (default: ${DEFAULT-VALUE}).")
  String prefetch;

  @Option(names = "--mode", defaultValue = "cpu",
      description = "cpu: platform threads, one per core; io: virtual threads on JDK 21+ (default: ${DEFAULT-VALUE}).")
  String mode;

  @Option(names = "--id", description = "Worker name in logs and errors (default: host-pid-n).")
  String id;

  @Option(names = "--grace", paramLabel = "DURATION", defaultValue = "30s", converter = DurationConverter.class,
      description = "On shutdown, how long tasks in hand may take to finish before they are released to other "
          + "workers (default: ${DEFAULT-VALUE}).")
  Duration grace;

  @Option(names = "--processes", paramLabel = "N",
      description = "Run N worker processes (child JVMs with the same options) and supervise them: one that dies "
          + "(a crash, OutOfMemoryError, kill -9, a handler ignoring its time limit for 2 s) is replaced, and its "
          + "task goes to another. Their output is prefixed [NAME-K pid P]. SIGTERM stops them all in order; so "
          + "does the supervisor's death.")
  Integer processes;

  /** Set by a --processes supervisor on the command lines of its children. */
  @Option(names = SUPERVISED, hidden = true)
  boolean supervised;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec commandSpec;

  @Option(names = "--python-master", paramLabel = "HOST:PORT",
      description = "Serve a Python master (multiprocessing.managers BaseManager, such as the tutorial's "
          + "task_master.py) instead of a Taskmaster one: take the values of its task queue, run --python-task on "
          + "each, put each result on its result queue. The key is its authkey. Not encrypted: loopback or a tunnel.")
  String pythonMaster;

  @Option(names = "--python-task", paramLabel = "TYPE",
      description = "With --python-master: the task type (handler) to run on each value, built-in or from --tasks.")
  String pythonTask;

  @Option(names = "--python-task-queue", paramLabel = "TYPEID", defaultValue = "get_task_queue",
      description = "With --python-master: the typeid of its task queue (default: ${DEFAULT-VALUE}).")
  String pythonTaskQueue;

  @Option(names = "--python-result-queue", paramLabel = "TYPEID", defaultValue = "get_result_queue",
      description = "With --python-master: the typeid of its result queue (default: ${DEFAULT-VALUE}).")
  String pythonResultQueue;

  @Override
  int execute() throws Exception {
    Termination termination = Termination.install();
    java.util.function.Consumer<Worker.Builder> prefetching = prefetchSetting(); // a bad value fails before any start
    if (supervised) {
      SupervisedChild.onSupervisorExit(termination::release); // an orderly stop, as on SIGTERM
    }
    if (processes != null) {
      return superviseProcesses(termination);
    }
    if (pythonMaster != null) {
      return servePythonMaster(termination);
    }
    if (pythonTask != null) {
      throw new IllegalArgumentException("--python-task needs --python-master HOST:PORT");
    }
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
      Worker.Builder builder = Worker.builder(broker).mode(concurrencyMode);
      if (supervised) {
        SupervisedChild.exitWhenAHandlerIsStuck(builder); // its supervisor replaces it
      }
      prefetching.accept(builder);
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

  private java.util.function.Consumer<Worker.Builder> prefetchSetting() {
    if ("auto".equals(prefetch)) {
      return Worker.Builder::adaptivePrefetch;
    }
    int count;
    try {
      count = Integer.parseInt(prefetch);
    } catch (NumberFormatException e) {
      count = -1;
    }
    if (count < 0) {
      throw new IllegalArgumentException("--prefetch '" + prefetch + "' is neither a number of tasks (0 or more) nor "
          + "auto");
    }
    int tasks = count;
    return builder -> builder.prefetch(tasks);
  }

  /**
   * Runs this same command N times as child JVMs, without --processes and with --supervised, and replaces the ones
   * that die. Like a pool's workers, a child exits when a handler ignores its time limit or cancellation (to be
   * replaced), and stops in order when the supervisor dies.
   */
  private int superviseProcesses(Termination termination) throws InterruptedException {
    if (processes < 1) {
      throw new IllegalArgumentException("--processes must be at least 1, was " + processes);
    }
    List<String> childArgs = new ArrayList<>();
    List<String> original = commandSpec.root().commandLine().getParseResult().originalArgs();
    for (int i = 0; i < original.size(); i++) {
      String arg = original.get(i);
      if (arg.equals("--processes") || arg.equals("--id")) {
        i++; // and its value
      } else if (!arg.startsWith("--processes=") && !arg.startsWith("--id=")) {
        childArgs.add(arg);
      }
    }
    childArgs.add(SUPERVISED);
    String name = id != null ? id : "worker";
    WorkerProcesses children = WorkerProcesses.start(processes, new WorkerProcesses.Spec(
        io.taskmaster.cli.Main.class.getName(), childArgs, Map.of(), List.of(), null, name));
    log.info("supervising {} worker process(es) named {}-1 to {}-{}", processes, name, name, processes);
    termination.await();
    log.info("stopping {} worker process(es)", processes);
    children.stop(grace.plusSeconds(5));
    return ExitCodes.OK;
  }

  private int servePythonMaster(Termination termination) throws InterruptedException {
    if (pythonTask == null) {
      throw new IllegalArgumentException("--python-master needs --python-task TYPE: the handler to run on each value "
          + "(e.g. --python-task square)");
    }
    int colon = pythonMaster.lastIndexOf(':');
    int port;
    try {
      port = Integer.parseInt(pythonMaster.substring(colon + 1));
    } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
      throw new IllegalArgumentException("--python-master must be HOST:PORT (e.g. 127.0.0.1:5000), was '"
          + pythonMaster + "'");
    }
    String host = colon > 0 ? pythonMaster.substring(0, colon) : "127.0.0.1";
    AuthKey key = connect.key.key();
    if (key == null) {
      throw new IllegalArgumentException("--python-master needs the master's authkey: --authkey-file FILE (its bytes "
          + "without the trailing newline) or TASKMASTER_AUTHKEY");
    }
    Handlers handlers = new Handlers().add(new BuiltinTasks());
    taskSets.forEach(handlers::add);
    PythonMasterWorker worker = new PythonMasterWorker(new PythonMasterWorker.Settings(host, port, key.bytes(),
        pythonTaskQueue, pythonResultQueue, pythonTask, concurrency == null ? 1 : concurrency), handlers);
    Thread stopper = new Thread(() -> {
      try {
        termination.await();
        worker.stop();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "python-worker-stop");
    stopper.setDaemon(true);
    stopper.start();
    worker.run(wait -> termination.awaitFor(wait.toNanos(), TimeUnit.NANOSECONDS));
    return ExitCodes.OK;
  }

  /** The connection's name on the master: the worker id, with the process id for a supervised child. */
  private String clientName() {
    if (id == null) {
      return null;
    }
    return supervised ? SupervisedChild.connectionName(id, ProcessHandle.current().pid()) : id;
  }

  /** Waits for the master to come up, saying so once; null when a signal arrived first. */
  private Broker connectPatiently(Termination termination) throws InterruptedException {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5));
    boolean said = false;
    while (true) {
      try {
        return connect.open(clientName());
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
