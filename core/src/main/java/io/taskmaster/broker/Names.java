package io.taskmaster.broker;

/** Validation of the names that cross the wire: queue names and task ids. */
public final class Names {
  /** Wire strings carry a 16-bit length; names are kept well below it so logs stay readable. */
  public static final int MAX_LENGTH = 255;

  private Names() {}

  /** Returns {@code value} if it is a usable name, else throws an error naming what was wrong. */
  public static String requireValid(String what, String value) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
    if (value.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(
          what + " is " + value.length() + " characters long; the limit is " + MAX_LENGTH);
    }
    for (int i = 0; i < value.length(); i++) {
      if (Character.isISOControl(value.charAt(i))) {
        throw new IllegalArgumentException(what + " '" + value.replaceAll("\\p{Cntrl}", "?")
            + "' contains a control character at index " + i);
      }
    }
    return value;
  }
}
