package io.taskmaster.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/**
 * A child JVM started by a test, on the test's own classpath, with its stdout and stderr captured as they arrive.
 * Tests wait on what the child prints ({@link #awaitStderr}) rather than on time.
 */
public final class JavaProcess implements AutoCloseable {
  private final Process process;
  private final StringBuffer stdout = new StringBuffer();
  private final StringBuffer stderr = new StringBuffer();
  private final List<Thread> pumps = new ArrayList<>();

  private JavaProcess(Process process) {
    this.process = process;
    pumps.add(pump(process.getInputStream(), stdout, "stdout"));
    pumps.add(pump(process.getErrorStream(), stderr, "stderr"));
  }

  /** Starts {@code mainClass} with {@code args}; secrets go in {@code environment}. */
  public static JavaProcess start(String mainClass, List<String> args, Map<String, String> environment) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp",
        System.getProperty("java.class.path"), mainClass));
    if (Runtime.version().feature() >= 22) {
      command.add(1, "--enable-native-access=ALL-UNNAMED"); // Netty's native epoll transport
    }
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().remove("TASKMASTER_AUTHKEY");
    builder.environment().putAll(environment);
    try {
      return new JavaProcess(builder.start());
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + command, e);
    }
  }

  private static Thread pump(InputStream in, StringBuffer into, String name) {
    return OutputPump.start(in, into, "child-" + name);
  }


  public String stdout() {
    return stdout.toString();
  }

  public String stderr() {
    return stderr.toString();
  }

  public long pid() {
    return process.pid();
  }

  /** Waits until stderr matches {@code regex}; returns the match (group 1 when the pattern has a group). */
  public String awaitStderr(String regex, Duration timeout) {
    return awaitOutput(stderr, regex, timeout, "stderr");
  }

  public String awaitStdout(String regex, Duration timeout) {
    return awaitOutput(stdout, regex, timeout, "stdout");
  }

  private String awaitOutput(StringBuffer buffer, String regex, Duration timeout, String what) {
    Pattern pattern = Pattern.compile(regex);
    String[] found = new String[1];
    Awaitility.await(what + " matching " + regex).atMost(timeout).pollInterval(Duration.ofMillis(20))
        .until(() -> {
          Matcher matcher = pattern.matcher(buffer);
          if (matcher.find()) {
            found[0] = matcher.groupCount() > 0 ? matcher.group(1) : matcher.group();
            return true;
          }
          if (!process.isAlive() && !matcher.find()) {
            throw new AssertionError("the child exited with " + process.exitValue() + " before printing " + regex
                + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr);
          }
          return false;
        });
    return found[0];
  }

  /** Waits for the exit and returns its code, failing the test if it takes longer than {@code timeout}. */
  public int awaitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("the child did not exit within " + timeout + "\nstdout:\n" + stdout
            + "\nstderr:\n" + stderr);
      }
      for (Thread pumpThread : pumps) {
        pumpThread.join(timeout.toMillis());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
    return process.exitValue();
  }

  /**
   * SIGTERM, as an operator's {@code kill} or a service manager's stop. Sent through the process handle:
   * {@link Process#destroy()} would also close our ends of the child's pipes and lose what it prints while it stops.
   */
  public void terminate() {
    process.toHandle().destroy();
  }

  /** SIGKILL. */
  public void kill() {
    process.toHandle().destroyForcibly();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
