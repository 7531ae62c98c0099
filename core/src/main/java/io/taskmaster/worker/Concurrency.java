package io.taskmaster.worker;

/** What a worker's tasks mostly wait on, which decides how it runs them. */
public enum Concurrency {
  /**
   * Tasks compute: a pool of platform threads, as many as cores by default. More threads than cores would only add
   * switching.
   */
  CPU_BOUND,
  /**
   * Tasks wait on IO (network, disk, sleeps): one virtual thread per task on JDK 21 and later, so thousands can wait
   * at once cheaply; a growing pool of platform threads on older JDKs. The concurrency limit still bounds how many
   * tasks are leased at a time.
   */
  IO_BOUND
}
