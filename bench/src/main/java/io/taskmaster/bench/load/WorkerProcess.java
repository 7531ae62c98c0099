package io.taskmaster.bench.load;

import io.taskmaster.broker.AuthKey;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A {@link BenchWorker} child JVM: started, asked how long its JIT has worked, and stopped by closing its stdin. */
final class WorkerProcess implements AutoCloseable {
  private final Process process;
  private final BufferedReader out;
  private final Writer in;

  private WorkerProcess(Process process) {
    this.process = process;
    this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
  }

  static WorkerProcess start(String uri, String id, int concurrency, int prefetch, String secret) throws IOException {
    String java = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> command = new ArrayList<>(List.of(java, "-Xmx256m"));
    if (Runtime.version().feature() >= 22) {
      command.add("--enable-native-access=ALL-UNNAMED"); // Netty's native epoll transport
    }
    // Tuning given to the bench (-Dtaskmaster.*) applies to its workers too.
    System.getProperties().stringPropertyNames().stream().filter(name -> name.startsWith("taskmaster."))
        .forEach(name -> command.add("-D" + name + "=" + System.getProperty(name)));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), BenchWorker.class.getName(), uri, id,
        Integer.toString(concurrency), Integer.toString(prefetch)));
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    builder.environment().put(AuthKey.ENV, secret);
    WorkerProcess worker = new WorkerProcess(builder.start());
    if (worker.nextLine("ready") == null) {
      worker.process.destroyForcibly();
      throw new IllegalStateException("worker " + id + " ended before it was ready (its errors are above)");
    }
    return worker;
  }

  Process process() {
    return process;
  }

  /** Milliseconds the worker's JIT compilers have worked so far, or -1 when it does not say. */
  long jitMillis() throws IOException {
    in.write("jit\n");
    in.flush();
    String line = nextLine("jit ");
    if (line == null) {
      throw new IllegalStateException("worker " + process.pid() + " ended instead of answering the JIT query");
    }
    return Long.parseLong(line.substring(4).strip());
  }

  /**
   * The worker's next line that starts with {@code prefix}, or null at its end. Other lines (a JVM agent's banner,
   * say) go to this process's stderr.
   */
  private String nextLine(String prefix) throws IOException {
    for (String line; (line = out.readLine()) != null; ) {
      if (line.startsWith(prefix)) {
        return line;
      }
      System.err.println("worker " + process.pid() + ": " + line);
    }
    return null;
  }

  /** Closes its stdin, which tells it to stop. */
  void stop() throws IOException {
    process.getOutputStream().close();
  }

  /** Stops it and waits for it to end (forcibly after 10 s). */
  @Override
  public void close() throws IOException, InterruptedException {
    stop();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
