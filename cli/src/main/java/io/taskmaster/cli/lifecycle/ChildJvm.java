package io.taskmaster.cli.lifecycle;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Starts another JVM running this same program, with the same Java and classpath. */
public final class ChildJvm {
  private ChildJvm() {}

  /**
   * Starts {@code io.taskmaster.cli.Main} with {@code args}. Secrets go in {@code environment}, never in the
   * arguments, which other users of the machine can read.
   */
  public static Process start(List<String> args, Map<String, String> environment) throws IOException {
    String java = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> command = new ArrayList<>();
    command.add(java);
    command.add("-Xmx256m");
    command.add("-XX:TieredStopAtLevel=1");
    if (Runtime.version().feature() >= 22) {
      command.add("--enable-native-access=ALL-UNNAMED"); // Netty's native epoll transport
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("io.taskmaster.cli.Main");
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.INHERIT)
        .redirectError(ProcessBuilder.Redirect.INHERIT);
    builder.environment().putAll(environment);
    return builder.start();
  }
}
