package io.taskmaster.examples;

// tag::quickstart[]
import io.taskmaster.Taskmaster;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.task.TaskType;
import io.taskmaster.worker.Worker;
import java.util.List;

public class QuickStart {
  // Declared once, shared by producers and workers.
  static final TaskType<Integer, Integer> SQUARE = TaskType.of("square", Integer.class, Integer.class);

  public static void main(String[] args) {
    // "embedded:" runs the queues in this JVM; "taskmaster://host:5000" uses a master (key: TASKMASTER_AUTHKEY).
    try (Taskmaster tm = Taskmaster.connect("embedded:");
        Worker worker = tm.worker().handle(SQUARE, n -> n * n).start()) {
      List<TaskHandle<Integer>> handles = tm.producer().submitAll(SQUARE, List.of(1, 2, 3, 4, 5));
      for (TaskHandle<Integer> handle : handles) {
        System.out.println(handle.join()); // 1, 4, 9, 16, 25
      }
    }
  }
}
// end::quickstart[]
