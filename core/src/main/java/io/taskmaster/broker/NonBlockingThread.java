package io.taskmaster.broker;

/**
 * A thread that must never wait for the network, such as a timer that other work depends on: a broker called from
 * it queues what it sends for a thread of its own instead of writing to a socket whose send buffer may be full.
 */
public class NonBlockingThread extends Thread {
  public NonBlockingThread(Runnable task, String name) {
    super(task, name);
  }
}
