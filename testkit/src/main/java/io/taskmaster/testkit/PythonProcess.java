package io.taskmaster.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A Python script run to its end, with its output. */
public record PythonProcess(int exitCode, String stdout, String stderr) {
  public static PythonProcess run(Path python, Path script, Object... args) {
    try (Running running = start(python, script, args)) {
      int exitCode = running.awaitExit();
      return new PythonProcess(exitCode, running.stdout(), running.stderr());
    }
  }

  /** Starts a script that runs until it is stopped or ends by itself; its output is captured as it comes. */
  public static Running start(Path python, Path script, Object... args) {
    List<String> command = new ArrayList<>(List.of(python.toString(), script.toString()));
    for (Object arg : args) {
      command.add(String.valueOf(arg));
    }
    try {
      ProcessBuilder builder = new ProcessBuilder(command);
      builder.environment().put("PYTHONIOENCODING", "utf-8");
      return new Running(builder.start());
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command, e);
    }
  }

  /** A Python process still running. */
  public static final class Running implements AutoCloseable {
    private final Process process;
    private final StringBuffer stdout = new StringBuffer();
    private final StringBuffer stderr = new StringBuffer();
    private final Thread[] pumps;

    private Running(Process process) {
      this.process = process;
      this.pumps = new Thread[] {OutputPump.start(process.getInputStream(), stdout, "python-stdout"),
          OutputPump.start(process.getErrorStream(), stderr, "python-stderr")};
    }

    /** Waits until stdout contains {@code text}. */
    public void awaitStdout(String text) {
      org.awaitility.Awaitility.await("Python printing " + text).atMost(java.time.Duration.ofSeconds(60))
          .pollInterval(java.time.Duration.ofMillis(20)).until(() -> {
            if (!process.isAlive() && !stdout.toString().contains(text)) {
              throw new AssertionError("Python exited with " + process.exitValue() + " before printing " + text
                  + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr);
            }
            return stdout.toString().contains(text);
          });
    }

    /** Waits for the exit and returns its code. */
    public int awaitExit() {
      try {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
          throw new AssertionError("Python did not exit within 60 s\nstdout:\n" + stdout + "\nstderr:\n" + stderr);
        }
        for (Thread pump : pumps) {
          pump.join(10_000); // everything it printed, to the last line
        }
        return process.exitValue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }

    public String stdout() {
      return stdout.toString();
    }

    public String stderr() {
      return stderr.toString();
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }


}
