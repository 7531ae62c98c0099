package io.taskmaster.broker;

import java.util.List;

/**
 * One page of a queue's dead letters.
 *
 * @param total how many dead letters the queue holds
 * @param page the requested slice, oldest first
 */
public record DeadLetters(long total, List<DeadLetter> page) {
  public DeadLetters {
    page = List.copyOf(page);
  }
}
