package io.taskmaster.python.pickle;

/** A pickle that is refused before it builds anything dangerous or huge: a forbidden global, a bomb, a bad length. */
public final class PickleRefusedException extends RuntimeException {
  public PickleRefusedException(String message) {
    super(message);
  }
}
