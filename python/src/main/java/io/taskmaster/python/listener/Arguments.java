package io.taskmaster.python.listener;

import java.util.Map;

/**
 * The arguments of {@code queue.Queue} methods as Python passes them, positionally or by keyword: {@code put(item,
 * block=True, timeout=None)}, {@code get(block=True, timeout=None)}.
 */
final class Arguments {
  private Arguments() {}

  /** A bad argument, to be raised in Python as {@code type}. */
  static final class BadArgument extends RuntimeException {
    private final String type;

    BadArgument(String type, String message) {
      super(message);
      this.type = type;
    }

    String type() {
      return type;
    }
  }

  static Object item(Object[] args, Map<?, ?> kwds) {
    if (args.length > 0) {
      return args[0];
    }
    if (kwds.containsKey("item")) {
      return kwds.get("item");
    }
    throw new BadArgument("TypeError", "put() missing 1 required positional argument: 'item'");
  }

  static boolean block(Object[] args, Map<?, ?> kwds) {
    Object block = args.length > 0 ? args[0] : kwds.containsKey("block") ? kwds.get("block") : Boolean.TRUE;
    if (block instanceof Boolean flag) {
      return flag;
    }
    if (block instanceof Number number) {
      return number.doubleValue() != 0;
    }
    return block != null;
  }

  /** The timeout in seconds, or null to wait for ever. */
  static Double timeout(Object[] args, Map<?, ?> kwds) {
    Object timeout = args.length > 1 ? args[1] : kwds.get("timeout");
    if (timeout == null) {
      return null;
    }
    if (!(timeout instanceof Number number)) {
      throw new BadArgument("TypeError", "'timeout' must be a number, was " + timeout.getClass().getSimpleName());
    }
    if (number.doubleValue() < 0) {
      throw new BadArgument("ValueError", "'timeout' must be a non-negative number");
    }
    return number.doubleValue();
  }
}
