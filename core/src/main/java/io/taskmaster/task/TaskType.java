package io.taskmaster.task;

import io.taskmaster.broker.TaskOptions;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.taskmaster.json.JsonCodec;
import java.util.Objects;

/**
 * A named, typed task, declared once and shared by producers and workers:
 *
 * <pre>{@code static final TaskType<Integer, Integer> SQUARE = TaskType.of("square", Integer.class, Integer.class);}</pre>
 *
 * <p>Arguments and results cross the wire as JSON, so a producer's {@code TaskType<Integer, Integer>} and a worker's
 * {@code TaskType<Long, Long>} of the same name interoperate.
 *
 * <p>A type can carry its own retry policy, used for every task submitted with it unless the submit says otherwise:
 * {@code TaskType.of("charge", Order.class, Receipt.class).withMaxAttempts(5)}.
 *
 * @param <A> the argument type
 * @param <R> the result type
 */
public final class TaskType<A, R> {
  private final String name;
  private final JavaType argumentType;
  private final JavaType resultType;
  // Readers and writers bound to a type once: cheaper per call than the mapper's lookups.
  private final ObjectReader argumentReader;
  private final ObjectReader resultReader;
  private final ObjectWriter argumentWriter;
  private final ObjectWriter resultWriter;
  /** Attempts before the dead letters for tasks of this type; 0: the master's default. */
  private final int maxAttempts;

  private TaskType(String name, JavaType argumentType, JavaType resultType) {
    this(name, argumentType, resultType, 0);
  }

  private TaskType(String name, JavaType argumentType, JavaType resultType, int maxAttempts) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a task type needs a name, e.g. TaskType.of(\"square\", ...)");
    }
    if (name.length() > 255) {
      throw new IllegalArgumentException("task type name is " + name.length() + " characters; the limit is 255");
    }
    this.name = name;
    this.argumentType = Objects.requireNonNull(argumentType, "argumentType");
    this.resultType = Objects.requireNonNull(resultType, "resultType");
    this.argumentReader = JsonCodec.mapper().readerFor(argumentType);
    this.resultReader = JsonCodec.mapper().readerFor(resultType);
    this.argumentWriter = JsonCodec.mapper().writerFor(argumentType);
    this.resultWriter = JsonCodec.mapper().writerFor(resultType);
    this.maxAttempts = maxAttempts;
  }

  /**
   * This type with its own number of attempts (1 to {@value TaskOptions#MAX_ATTEMPTS}) before a task goes to the
   * dead letters, instead of the master's default; {@code SubmitOptions.maxAttempts} still overrides it per submit.
   * It is applied by the producer that submits.
   */
  public TaskType<A, R> withMaxAttempts(int attempts) {
    if (attempts < 1 || attempts > TaskOptions.MAX_ATTEMPTS) {
      throw new IllegalArgumentException("maxAttempts of task type '" + name + "' must be 1 to "
          + TaskOptions.MAX_ATTEMPTS + ", was " + attempts);
    }
    return new TaskType<>(name, argumentType, resultType, attempts);
  }

  /** Attempts of this type's tasks, or 0 for the master's default. */
  public int maxAttempts() {
    return maxAttempts;
  }

  public static <A, R> TaskType<A, R> of(String name, Class<A> argumentType, Class<R> resultType) {
    return new TaskType<>(name, JsonCodec.type(argumentType), JsonCodec.type(resultType));
  }

  /** For generic argument or result types: {@code TaskType.of("sum", new TypeReference<List<Integer>>() {}, ...)}. */
  public static <A, R> TaskType<A, R> of(
      String name, TypeReference<A> argumentType, TypeReference<R> resultType) {
    return new TaskType<>(name, JsonCodec.type(argumentType), JsonCodec.type(resultType));
  }

  public String name() {
    return name;
  }

  public byte[] encodeArgument(A argument) {
    return JsonCodec.encode(argumentWriter, argument);
  }

  public A decodeArgument(byte[] json) {
    return JsonCodec.decode(argumentReader, json, () -> "argument of task type '" + name + "'");
  }

  public byte[] encodeResult(R result) {
    return JsonCodec.encode(resultWriter, result);
  }

  public R decodeResult(byte[] json) {
    return JsonCodec.decode(resultReader, json, () -> "result of task type '" + name + "'");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TaskType<?, ?> other
        && name.equals(other.name)
        && argumentType.equals(other.argumentType)
        && resultType.equals(other.resultType);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, argumentType, resultType);
  }

  @Override
  public String toString() {
    return "TaskType[" + name + ": " + argumentType.toCanonical() + " -> " + resultType.toCanonical()
        + (maxAttempts > 0 ? ", " + maxAttempts + " attempts" : "") + "]";
  }
}
