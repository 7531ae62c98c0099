package io.taskmaster.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Copies a child process's output into a buffer as it arrives, on a daemon thread, until the stream ends. */
final class OutputPump {
  private OutputPump() {}

  static Thread start(InputStream in, StringBuffer into, String name) {
    Thread thread = new Thread(() -> {
      byte[] buffer = new byte[8192];
      try {
        for (int n; (n = in.read(buffer)) != -1; ) {
          into.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
        }
      } catch (IOException e) {
        // the process ended
      }
    }, name);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }
}
