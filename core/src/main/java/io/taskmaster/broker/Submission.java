package io.taskmaster.broker;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Tasks put together with the wait for their results.
 *
 * @param accepted completes once the broker acknowledged the put
 * @param results one future per task, in the order of the put, completed when that task is settled
 */
public record Submission(CompletableFuture<Void> accepted, List<CompletableFuture<TaskResult>> results) {}
