package io.taskmaster.bench.load;

import io.taskmaster.task.TaskType;

/**
 * The peer harness's workload (../shared/bench-peers): a ~50-byte JSON task, squared by the worker, answered with a
 * small JSON result, so our figures compare with the peers' one to one.
 */
public final class BenchTasks {
  /** {@code {"id":i,"n":i,"op":"square","pad":"abcd"}} */
  public record Square(long id, long n, String op, String pad) {}

  /** {@code {"id":i,"r":n*n,"w":worker}} */
  public record Squared(long id, long r, String w) {}

  public static final TaskType<Square, Squared> SQUARE = TaskType.of("bench-square", Square.class, Squared.class);

  private BenchTasks() {}

  /** The task body, padded so that its JSON is about {@code payloadBytes} long (never below the peers' 50). */
  public static Square task(long i, int payloadBytes) {
    int base = 40 + Long.toString(i).length() * 2;
    int pad = Math.max(4, payloadBytes - base);
    return new Square(i, i, "square", "abcd".repeat(pad / 4 + 1).substring(0, pad));
  }
}
