package io.taskmaster.python;

/** Must never be loaded by a pickle: its static initialiser leaves a mark a test looks for. */
public final class Canary {
  static {
    System.setProperty("taskmaster.canary.loaded", "yes");
  }

  public Canary() {
    System.setProperty("taskmaster.canary.constructed", "yes");
  }
}
