package io.taskmaster.server.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.TaskResult;
import io.taskmaster.task.TaskError;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ResultStoreTest {
  private static final long TTL = 1_000;

  private static TaskResult ok(String id, String value) {
    return TaskResult.success(id, value.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void keepsSuccessesAndFailuresWithEveryField() {
    ResultStore store = new ResultStore(TTL, 10);
    store.add(ok("a", "{\"r\":49}"), 0);
    store.add(TaskResult.failure("b", new TaskError("java.lang.IllegalStateException", "bad – ünïcode", "at x\n\tat y",
        "worker-1")), 0);
    store.add(new TaskResult("c", null, null), 0);
    store.add(TaskResult.failure("d", new TaskError("T", null, null, "w")), 0);

    assertThat(store.get("a", 1)).usingRecursiveComparison().isEqualTo(ok("a", "{\"r\":49}"));
    assertThat(store.get("b", 1).error()).isEqualTo(new TaskError("java.lang.IllegalStateException", "bad – ünïcode",
        "at x\n\tat y", "worker-1"));
    assertThat(store.get("b", 1).value()).isNull();
    assertThat(store.get("c", 1)).isEqualTo(new TaskResult("c", null, null));
    assertThat(store.get("d", 1).error()).isEqualTo(new TaskError("T", null, null, "w"));
    assertThat(store.get("e", 1)).isNull();
    assertThat(store.ids()).containsExactly("a", "b", "c", "d");
    assertThat(store.size()).isEqualTo(4);
  }

  @Test
  void expiresByTimeToLiveOldestFirst() {
    ResultStore store = new ResultStore(TTL, 10);
    store.add(ok("old", "1"), 0);
    store.add(ok("new", "2"), 500);
    assertThat(store.contains("old", TTL)).isTrue();
    assertThat(store.contains("old", TTL + 1)).isFalse(); // unreadable at once, dropped on the next insert
    assertThat(store.ageNanos("new", 700)).isEqualTo(200);
    long withTwo = store.bytes();
    store.add(ok("newest", "3"), TTL + 1);
    assertThat(store.ids()).containsExactly("new", "newest");
    assertThat(store.size()).isEqualTo(2);
    assertThat(store.bytes()).as("the expired entry's bytes are given back").isLessThan(withTwo + 8);
  }

  @Test
  void evictsTheOldestWhenFull() {
    ResultStore store = new ResultStore(TTL, 2);
    store.add(ok("1", "a"), 0);
    store.add(ok("2", "b"), 0);
    store.add(ok("3", "c"), 0);
    assertThat(store.ids()).containsExactly("2", "3");
    assertThat(store.get("1", 0)).isNull();
    assertThat(new String(store.get("3", 0).value(), StandardCharsets.UTF_8)).isEqualTo("c");
  }

  @Test
  void aNewResultForAnIdReplacesTheOldOne() {
    ResultStore store = new ResultStore(TTL, 10);
    store.add(ok("x", "first"), 0);
    store.add(ok("y", "other"), 0);
    store.add(ok("x", "second"), 10);
    assertThat(new String(store.get("x", 10).value(), StandardCharsets.UTF_8)).isEqualTo("second");
    assertThat(store.ids()).containsExactly("y", "x");
    assertThat(store.size()).isEqualTo(2);
    store.remove("x");
    assertThat(store.get("x", 10)).isNull();
    assertThat(store.size()).isEqualTo(1);
  }

  @Test
  void storesResultsLargerThanAChunk() {
    ResultStore store = new ResultStore(TTL, 10);
    byte[] big = new byte[3 << 20];
    new SplittableRandom(7).nextBytes(big);
    store.add(ok("small", "s"), 0);
    store.add(TaskResult.success("big", big), 0);
    store.add(ok("after", "t"), 0);
    assertThat(store.get("big", 0).value()).isEqualTo(big);
    assertThat(store.ids()).containsExactly("small", "big", "after");
    assertThat(store.bytes()).isGreaterThan(big.length);
  }

  @Test
  void aTimeToLiveOfZeroKeepsNothing() {
    ResultStore store = new ResultStore(0, 10);
    store.add(ok("a", "1"), 0);
    assertThat(store.size()).isZero();
    assertThat(store.get("a", 0)).isNull();
  }

  @Test
  void memoryGoesBackDownOnceResultsExpire() {
    ResultStore store = new ResultStore(TTL, 1_000_000);
    for (int i = 0; i < 200_000; i++) {
      store.add(ok("task-" + i, "{\"r\":" + i + "}"), 0);
    }
    long full = store.bytes();
    store.add(ok("late", "1"), TTL + 1);
    assertThat(store.size()).isEqualTo(1);
    assertThat(store.bytes()).isLessThan(full / 50);
  }

  /**
   * Random adds, replacements, removals and the passing of time, checked after every step against the obvious
   * implementation: a map in insertion order (a replaced id moves to the end, as it is stored again).
   */
  @Test
  void followsAnInsertionOrderedMap() {
    long fixed = Long.getLong("taskmaster.model.seed", 0L);
    SplittableRandom seeds = new SplittableRandom();
    for (int sequence = 0; sequence < 50; sequence++) {
      long seed = fixed != 0 ? fixed : seeds.nextLong();
      try {
        followModel(new SplittableRandom(seed));
      } catch (AssertionError e) {
        throw new AssertionError("replay with -Dtaskmaster.model.seed=" + seed + ": " + e.getMessage(), e);
      }
      if (fixed != 0) {
        return;
      }
    }
  }

  private record Kept(TaskResult result, long expiresAt) {}

  private static void followModel(SplittableRandom random) {
    int capacity = 1 + random.nextInt(3_000);
    long ttl = 1 + random.nextInt(5_000);
    ResultStore store = new ResultStore(ttl, capacity);
    LinkedHashMap<String, Kept> model = new LinkedHashMap<>();
    long now = 0;
    int ids = 1 + random.nextInt(6_000);
    for (int step = 0; step < 4_000; step++) {
      String id = "t" + random.nextInt(ids);
      int action = random.nextInt(10);
      if (action < 6) {
        // Sizes from empty to past a chunk, now and then.
        int size = random.nextInt(100) == 0 ? random.nextInt(1 << 21) : random.nextInt(300);
        byte[] value = new byte[size];
        random.nextBytes(value);
        TaskResult result = random.nextInt(4) == 0
            ? TaskResult.failure(id, new TaskError("E" + step, "m", random.nextBoolean() ? null : "trace", "w"))
            : TaskResult.success(id, value);
        store.add(result, now);
        expire(model, now);
        model.remove(id);
        while (model.size() >= capacity) {
          Iterator<?> oldest = model.values().iterator();
          oldest.next();
          oldest.remove();
        }
        model.put(id, new Kept(result, now + ttl));
      } else if (action < 7) {
        store.remove(id);
        model.remove(id);
      } else if (action < 9) {
        now += random.nextInt((int) Math.min(Integer.MAX_VALUE, ttl / 4 + 1));
      } else {
        Kept kept = model.get(id);
        TaskResult expected = kept == null || kept.expiresAt - now < 0 ? null : kept.result;
        assertSameResult(store.get(id, now), expected, "step " + step + ": get " + id);
        assertThat(store.contains(id, now)).isEqualTo(expected != null);
      }
      List<String> expectedIds = new ArrayList<>(model.keySet());
      if (step % 50 == 0 || step == 3_999) {
        assertThat(store.ids()).as("step %d: ids", step).isEqualTo(expectedIds);
      }
      assertThat(store.size()).as("step %d: size", step).isEqualTo(model.size());
    }
  }

  /** Field by field: AssertJ's recursive comparison walks a byte array element by element, too slow for MiBs. */
  private static void assertSameResult(TaskResult actual, TaskResult expected, String what) {
    if (expected == null) {
      assertThat(actual).as(what).isNull();
      return;
    }
    assertThat(actual).as(what).isNotNull();
    assertThat(actual.taskId()).as(what).isEqualTo(expected.taskId());
    assertThat(Arrays.equals(actual.value(), expected.value())).as(what + ": value").isTrue();
    assertThat(actual.error()).as(what).isEqualTo(expected.error());
  }

  private static void expire(LinkedHashMap<String, Kept> model, long now) {
    Iterator<Map.Entry<String, Kept>> it = model.entrySet().iterator();
    while (it.hasNext() && it.next().getValue().expiresAt - now < 0) {
      it.remove();
    }
  }
}
