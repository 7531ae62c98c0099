package io.taskmaster.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TaskIdsTest {
  @Test
  void idsAreVersion4UuidsAndDiffer() {
    String id = TaskIds.next();
    assertThat(id).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    assertThat(TaskIds.next()).isNotEqualTo(id);
  }

  @Test
  void aSampleNamesAFewIdsAndCountsTheRest() {
    assertThat(TaskIds.sample(List.of("a"))).isEqualTo("a");
    List<String> ten = IntStream.rangeClosed(1, 10).mapToObj(i -> "t" + i).toList();
    assertThat(TaskIds.sample(ten)).isEqualTo(String.join(", ", ten));
    List<String> many = IntStream.rangeClosed(1, 1000).mapToObj(i -> "t" + i).toList();
    assertThat(TaskIds.sample(many)).isEqualTo(String.join(", ", many.subList(0, 10)) + " and 990 more");
  }
}
