package io.taskmaster.examples;

import io.taskmaster.Taskmaster;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.queue.RawQueue;
import io.taskmaster.task.TaskType;
import io.taskmaster.worker.Worker;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A pipeline: stage 1 workers take lines from queue {@code lines}, split them, and put each word onto a further
 * queue, {@code words}; stage 2 drains {@code words} and counts. Each stage scales on its own (more stage 1 workers
 * for more lines), and a crash in one stage leaves the other's queue intact.
 */
public final class WordPipeline {
  static final TaskType<String, Integer> SPLIT = TaskType.of("split-line", String.class, Integer.class);

  private WordPipeline() {}

  public static void main(String[] args) throws InterruptedException {
    System.out.println(count("embedded:pipeline", List.of("the quick brown fox", "jumps over the lazy dog",
        "the end")));
  }

  /** Word counts of {@code lines}, through two stages on the broker at {@code uri}. */
  public static Map<String, Integer> count(String uri, List<String> lines) throws InterruptedException {
    try (Taskmaster tm = Taskmaster.connect(uri)) {
      RawQueue words = tm.queue("words");
      try (Worker stage1 = tm.worker().queue("lines").concurrency(2).handle(SPLIT, line -> {
        String[] split = line.toLowerCase(Locale.ROOT).split("\\W+");
        for (String word : split) {
          words.putJson(word); // onto the next stage's queue
        }
        return split.length;
      }).start()) {
        int total = tm.producer().submitAll(SPLIT, lines, SubmitOptions.queue("lines")).stream()
            .mapToInt(handle -> handle.join()).sum();
        Map<String, Integer> counts = new TreeMap<>();
        for (int i = 0; i < total; i++) {
          Optional<String> word = words.takeJson(Duration.ofSeconds(10), String.class);
          word.ifPresent(w -> counts.merge(w, 1, Integer::sum));
        }
        return counts;
      }
    }
  }
}
