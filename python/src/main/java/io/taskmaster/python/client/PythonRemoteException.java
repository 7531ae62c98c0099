package io.taskmaster.python.client;

/**
 * An exception raised in the Python master by a call, with its Python class (such as {@code builtins.KeyError}) or,
 * for a {@code #TRACEBACK} reply, the traceback text.
 */
public final class PythonRemoteException extends RuntimeException {
  private final String pythonType;

  public PythonRemoteException(String pythonType, String message) {
    super(pythonType + ": " + message);
    this.pythonType = pythonType;
  }

  /** {@code module.Name} of the Python exception, or {@code RemoteError} for a traceback. */
  public String pythonType() {
    return pythonType;
  }
}
