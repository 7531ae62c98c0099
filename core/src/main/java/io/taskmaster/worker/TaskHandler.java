package io.taskmaster.worker;

/**
 * Runs one task. Throwing fails the task: the exception's type, message and stack trace travel to the producer, and
 * the worker carries on with its next task.
 */
@FunctionalInterface
public interface TaskHandler<A, R> {
  R handle(A argument) throws Exception;
}
