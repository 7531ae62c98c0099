package io.taskmaster.examples;

import io.taskmaster.Taskmaster;
import io.taskmaster.broker.AuthKey;
import io.taskmaster.queue.RawQueue;
import io.taskmaster.server.master.Master;
import io.taskmaster.server.net.MasterSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/**
 * The study note's {@code task_master.py} / {@code task_worker.py} pair, line for line in Java: the master hosts a
 * task queue and a result queue on the network with an auth key and puts 10 random numbers; the worker connects,
 * takes each with a 1 s timeout, squares it, and puts {@code "n * n = r"} back; the master prints the results.
 *
 * <pre>
 * java ... TutorialPair master 5000     # terminal 1 (key: TASKMASTER_AUTHKEY)
 * java ... TutorialPair worker 5000     # terminal 2
 * </pre>
 */
public final class TutorialPair {
  private TutorialPair() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
    AuthKey key = AuthKey.fromEnvironment();
    if (args.length > 0 && args[0].equals("worker")) {
      worker("taskmaster://127.0.0.1:" + port, key, 10).forEach(System.out::println);
    } else {
      try (Master master = Master.start(MasterSettings.of(port, key))) {
        master(master.uri(), key).forEach(System.out::println);
      }
    }
  }

  /** Puts 10 tasks and returns the 10 results (waiting up to 10 s for each, as the note does). */
  public static List<String> master(String uri, AuthKey key) throws InterruptedException {
    try (Taskmaster tm = Taskmaster.connect(uri, key)) {
      RawQueue task = tm.queue("tasks");
      RawQueue result = tm.queue("results");
      Random random = new Random();
      for (int i = 0; i < 10; i++) {
        int n = random.nextInt(10_000);
        System.out.println("Put task " + n + "...");
        task.putJson(n);
      }
      System.out.println("Try get results...");
      List<String> results = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        results.add("Result: " + result.takeJson(Duration.ofSeconds(10), String.class).orElseThrow());
      }
      return results;
    }
  }

  /** Takes up to {@code count} tasks, 1 s each at most, and answers them; returns what it printed. */
  public static List<String> worker(String uri, AuthKey key, int count) throws InterruptedException {
    List<String> printed = new ArrayList<>();
    try (Taskmaster tm = Taskmaster.connect(uri, key)) {
      RawQueue task = tm.queue("tasks");
      RawQueue result = tm.queue("results");
      for (int i = 0; i < count; i++) {
        Optional<Integer> n = task.takeJson(Duration.ofSeconds(1), Integer.class);
        if (n.isEmpty()) {
          printed.add("task queue is empty.");
          continue;
        }
        printed.add("run task " + n.get() + " * " + n.get() + "...");
        result.putJson(n.get() + " * " + n.get() + " = " + (long) n.get() * n.get());
      }
    }
    printed.add("worker exit.");
    return printed;
  }
}
