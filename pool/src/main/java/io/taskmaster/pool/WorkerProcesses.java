package io.taskmaster.pool;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Supervises worker processes: n child JVMs on this JVM's classpath, each started with a main class and its
 * arguments. A child that dies while the supervisor runs is replaced at once (after a short pause if children die
 * in a burst). Each child's output is forwarded line by line with a {@code [worker-3 pid 1234]} prefix, or written
 * to a file per worker. A child notices its parent's death by its standard input closing.
 */
public final class WorkerProcesses implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WorkerProcesses.class);
  /** Crashes closer together than this slow the replacements down, so a crash loop does not spin. */
  private static final long BURST_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * What every child runs and where its output goes. Each child gets {@code --id NAME-K} after {@code args}.
   *
   * @param outputDirectory where each child's output goes as files, or null for this JVM's console, prefixed
   */
  public record Spec(String mainClass, List<String> args, Map<String, String> environment, List<String> jvmOptions,
      Path outputDirectory, String name) {}

  private final Spec spec;
  private final Map<Integer, Process> children = new ConcurrentHashMap<>();
  private final AtomicInteger crashes = new AtomicInteger();
  private volatile long lastCrashNanos;
  /** How each child that crashed recently went, by the name its connection gave the master. */
  private final Map<String, java.util.concurrent.CompletableFuture<String>> crashesByConnection =
      new ConcurrentHashMap<>();
  private volatile boolean stopping;

  private WorkerProcesses(Spec spec) {
    this.spec = spec;
  }

  /** Starts {@code count} children, named worker-1 to worker-count. */
  public static WorkerProcesses start(int count, Spec spec) {
    WorkerProcesses processes = new WorkerProcesses(spec);
    for (int i = 1; i <= count; i++) {
      processes.launch(i);
    }
    return processes;
  }

  /** Starts child {@code index}, unless the supervisor stops meanwhile: starts and stops never interleave. */
  private synchronized void launch(int index) {
    if (stopping) {
      return;
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java));
    if (Runtime.version().feature() >= 22) {
      command.add("--enable-native-access=ALL-UNNAMED"); // Netty's native transport
    }
    command.add("-XX:+ExitOnOutOfMemoryError"); // a child out of memory dies and is replaced, never limps on
    command.addAll(spec.jvmOptions());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), spec.mainClass()));
    command.addAll(spec.args());
    command.add("--id");
    command.add(name(index));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(spec.environment());
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start a worker process (" + java + "): " + e.getMessage(), e);
    }
    children.put(index, process);
    String prefix = "[" + name(index) + " pid " + process.pid() + "] ";
    forward(process.getInputStream(), System.out, prefix, index, "out");
    forward(process.getErrorStream(), System.err, prefix, index, "err");
    process.onExit().thenAccept(ended -> exited(index, ended));
  }

  private String name(int index) {
    return spec.name() + "-" + index;
  }

  private void forward(InputStream in, PrintStream console, String prefix, int index, String stream) {
    Thread thread = new Thread(() -> {
      PrintStream out = console;
      boolean toFile = false;
      if (spec.outputDirectory() != null) {
        Path file = spec.outputDirectory().resolve(name(index) + "." + stream + ".log");
        try {
          java.nio.file.Files.createDirectories(spec.outputDirectory());
          out = new PrintStream(java.nio.file.Files.newOutputStream(file, java.nio.file.StandardOpenOption.CREATE,
              java.nio.file.StandardOpenOption.APPEND), true, StandardCharsets.UTF_8);
          toFile = true;
        } catch (IOException e) {
          // The child's output must be read whatever happens, or it blocks once its pipe is full.
          log.warn("cannot write {} ({}); {}'s output goes to the console", file, e.toString(), name(index));
        }
      }
      boolean prefixed = !toFile;
      try {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
          for (String line; (line = reader.readLine()) != null; ) {
            out.println(prefixed ? prefix + line : line);
          }
        }
      } catch (IOException e) {
        // the child ended
      } finally {
        if (out != console) {
          out.close();
        }
      }
    }, "output-" + name(index) + "-" + stream);
    thread.setDaemon(true);
    thread.start();
  }

  private void exited(int index, Process process) {
    if (stopping) {
      return;
    }
    String connection = SupervisedChild.connectionName(name(index), process.pid());
    String crash = connection + " " + describeExit(process.exitValue());
    crashes.incrementAndGet();
    java.util.concurrent.CompletableFuture<String> recorded = crashOf(connection);
    recorded.complete(crash);
    forgetLater(connection, recorded);
    long now = System.nanoTime();
    boolean burst = now - lastCrashNanos < BURST_NANOS;
    lastCrashNanos = now;
    log.warn("{}; starting a replacement{}", crash, burst ? " in 1 s (crashes come in a burst)" : "");
    Runnable replace = () -> {
      try {
        launch(index);
      } catch (RuntimeException e) {
        log.error("cannot replace {} ({}); the pool runs with one process less", name(index), e.getMessage());
      }
    };
    if (burst) {
      java.util.concurrent.CompletableFuture.delayedExecutor(1, TimeUnit.SECONDS).execute(replace);
    } else {
      replace.run();
    }
  }

  /** An exit code as people read it: 137 is "killed by SIGKILL", 3 is the JVM's exit on OutOfMemoryError. */
  static String describeExit(int code) {
    if (code > 128 && code < 160) {
      String signal = switch (code - 128) {
        case 9 -> "SIGKILL";
        case 15 -> "SIGTERM";
        case 6 -> "SIGABRT";
        case 11 -> "SIGSEGV";
        case 2 -> "SIGINT";
        default -> "signal " + (code - 128);
      };
      return "was killed by " + signal + " (exit code " + code + ")";
    }
    if (code == SupervisedChild.STUCK_EXIT_CODE) {
      return "exited with code " + code + " (a handler ignored its interruption at its time limit or "
          + "cancellation; the process was replaced)";
    }
    if (code == 3) {
      return "exited with code 3 (out of memory, or a handler called System.exit(3))";
    }
    return "exited with code " + code;
  }

  /**
   * How the child whose connection was named {@code connection} crashed, once its supervisor has seen the exit: a
   * task lost with the connection waits for this (the master may see the connection close before the exit is seen).
   * Completes with an empty string if no such crash comes within a few seconds (it closed for another reason).
   */
  public java.util.concurrent.CompletableFuture<String> crashed(String connection) {
    java.util.concurrent.CompletableFuture<String> recorded = crashOf(connection);
    return recorded.copy().completeOnTimeout("", 5, TimeUnit.SECONDS)
        .whenComplete((how, error) -> forgetLater(connection, recorded));
  }

  /**
   * Drops a crash a minute after it was recorded or waited for: the tasks lost with a connection ask at once, so
   * the map holds only recent crashes however long a crash-looping pool runs.
   */
  private void forgetLater(String connection, java.util.concurrent.CompletableFuture<String> recorded) {
    java.util.concurrent.CompletableFuture.delayedExecutor(1, TimeUnit.MINUTES)
        .execute(() -> crashesByConnection.remove(connection, recorded));
  }

  private java.util.concurrent.CompletableFuture<String> crashOf(String connection) {
    return crashesByConnection.computeIfAbsent(connection, name -> new java.util.concurrent.CompletableFuture<>());
  }

  public int crashes() {
    return crashes.get();
  }

  /** The process ids of the children running now. */
  public List<Long> pids() {
    return children.values().stream().filter(Process::isAlive).map(Process::pid).toList();
  }

  /** Stops every child: SIGTERM, then SIGKILL for those still running after {@code grace}. */
  public void stop(java.time.Duration grace) {
    synchronized (this) {
      stopping = true; // no launch can start after this
    }
    children.values().forEach(Process::destroy);
    long deadline = System.nanoTime() + grace.toNanos();
    for (Process process : children.values()) {
      try {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !process.waitFor(left, TimeUnit.NANOSECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
  }

  /** Kills every child at once. */
  @Override
  public void close() {
    synchronized (this) {
      stopping = true;
    }
    children.values().forEach(Process::destroyForcibly);
  }
}
