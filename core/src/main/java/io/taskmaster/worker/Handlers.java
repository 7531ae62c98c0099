package io.taskmaster.worker;

import io.taskmaster.task.TaskType;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** The handlers a worker knows, by task type name. */
public final class Handlers {
  private final Map<String, Registered<?, ?>> byName = new LinkedHashMap<>();

  /** Serves tasks of {@code type} with {@code handler}; a later registration of the same name replaces it. */
  public <A, R> Handlers on(TaskType<A, R> type, TaskHandler<A, R> handler) {
    byName.put(type.name(), new Registered<>(type, handler));
    return this;
  }

  /** Registers every handler of a task set. */
  public Handlers add(TaskSet set) {
    set.register(this);
    return this;
  }

  /**
   * Loads a {@link TaskSet} by class name from the context class loader; errors name the class and what to fix.
   */
  public Handlers add(String taskSetClassName) {
    Class<?> loaded;
    try {
      loaded = Class.forName(taskSetClassName, true, Thread.currentThread().getContextClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalArgumentException("task set class " + taskSetClassName + " is not on the classpath; add its "
          + "jar with the TASKMASTER_CLASSPATH variable (taskmaster launcher) or java -cp", e);
    }
    if (!TaskSet.class.isAssignableFrom(loaded)) {
      throw new IllegalArgumentException("class " + taskSetClassName + " does not implement "
          + TaskSet.class.getName());
    }
    try {
      return add((TaskSet) loaded.getConstructor().newInstance());
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("cannot create task set " + taskSetClassName
          + ": it needs a public no-argument constructor (" + e + ")", e);
    }
  }

  /**
   * Runs the handler of task type {@code name} on a JSON argument and returns its JSON result: for front ends that
   * carry tasks in another form than ours (a Python master's queue).
   */
  public byte[] run(String name, byte[] argumentJson) throws Exception {
    Registered<?, ?> registered = byName.get(name);
    if (registered == null) {
      throw new IllegalArgumentException("no handler for task type '" + name + "'; known: " + names());
    }
    return registered.run(argumentJson);
  }

  Registered<?, ?> get(String name) {
    return byName.get(name);
  }

  public Set<String> names() {
    return Collections.unmodifiableSet(byName.keySet());
  }

  /** Adds every handler of {@code other}, replacing those of the same name. */
  Handlers addAll(Handlers other) {
    byName.putAll(other.byName);
    return this;
  }

  record Registered<A, R>(TaskType<A, R> type, TaskHandler<A, R> handler) {
    byte[] run(byte[] argument) throws Exception {
      R result = handler.handle(type.decodeArgument(argument));
      return type.encodeResult(result);
    }
  }
}
