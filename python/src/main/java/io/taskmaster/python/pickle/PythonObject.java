package io.taskmaster.python.pickle;

import java.util.Arrays;
import java.util.List;

/**
 * An instance of a Python class named by reference, such as {@code queue.Empty()} or {@code
 * builtins.TypeError('...')}: written as the class, its arguments and REDUCE; read back from the allowed globals.
 */
public record PythonObject(String module, String name, List<Object> args) {
  public static PythonObject of(String module, String name, Object... args) {
    return new PythonObject(module, name, Arrays.asList(args));
  }

  /** {@code queue.Empty} under the name every Python 3 resolves (3.7+ calls it {@code _queue.Empty}). */
  public static PythonObject queueEmpty() {
    return of("queue", "Empty");
  }

  public static PythonObject queueFull() {
    return of("queue", "Full");
  }

  /** A built-in exception, such as {@code TypeError('message')}. */
  public static PythonObject builtinError(String name, String message) {
    return of("builtins", name, message);
  }

  public String qualifiedName() {
    return module + "." + name;
  }

  /** The first argument as text, as Python's {@code str(exception)} mostly shows. */
  public String message() {
    return args.isEmpty() ? "" : String.valueOf(args.get(0));
  }

  @Override
  public String toString() {
    return qualifiedName() + "(" + message() + ")";
  }
}
