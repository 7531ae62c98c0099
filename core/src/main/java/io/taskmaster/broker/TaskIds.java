package io.taskmaster.broker;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Task ids are chosen by producers so that a put and the wait for its result can be pipelined in one write. 122
 * random bits make collisions negligible; the broker still refuses a duplicate id while the first task is known.
 */
public final class TaskIds {
  /** Tasks named in one log line at most: enough to find them, not a page of ids when thousands move at once. */
  public static final int SAMPLE = 10;

  private TaskIds() {}

  public static String next() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long msb = (random.nextLong() & ~0xF000L) | 0x4000L; // version 4
    long lsb = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L; // IETF variant
    return new UUID(msb, lsb).toString();
  }

  /** The ids for a log line: all of them, or the first {@link #SAMPLE} and how many more. */
  public static String sample(List<String> ids) {
    if (ids.size() <= SAMPLE) {
      return String.join(", ", ids);
    }
    return String.join(", ", ids.subList(0, SAMPLE)) + " and " + (ids.size() - SAMPLE) + " more";
  }
}
