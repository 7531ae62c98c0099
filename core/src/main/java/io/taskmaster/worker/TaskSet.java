package io.taskmaster.worker;

/**
 * A group of handlers a worker can load by class name ({@code taskmaster worker --tasks com.example.MyTasks}). The
 * class needs a public no-argument constructor.
 *
 * <pre>{@code
 * public final class MyTasks implements TaskSet {
 *   public void register(Handlers handlers) {
 *     handlers.on(Tasks.RESIZE, image -> resize(image));
 *   }
 * }
 * }</pre>
 */
public interface TaskSet {
  void register(Handlers handlers);
}
