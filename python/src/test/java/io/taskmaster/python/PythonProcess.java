package io.taskmaster.python;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A Python script run to its end, with its output. */
record PythonProcess(int exitCode, String stdout, String stderr) {
  static PythonProcess run(Path python, Path script, Object... args) {
    List<String> command = new ArrayList<>(List.of(python.toString(), script.toString()));
    for (Object arg : args) {
      command.add(String.valueOf(arg));
    }
    try {
      ProcessBuilder builder = new ProcessBuilder(command);
      builder.environment().put("PYTHONIOENCODING", "utf-8");
      Process process = builder.start();
      CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(process.getInputStream()));
      CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(process.getErrorStream()));
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError(command + " did not finish within 60 s");
      }
      return new PythonProcess(process.exitValue(), out.join(), err.join());
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static String read(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
