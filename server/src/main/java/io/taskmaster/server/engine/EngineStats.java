package io.taskmaster.server.engine;

/**
 * A snapshot of the engine's counts. {@code heldBytes} estimates the memory its pending tasks and stored results
 * take, which {@link EngineSettings#maxHeldBytes()} bounds.
 */
public record EngineStats(
    int queues, long ready, long leased, long waitingConsumers, long storedResults, long delayed, long dead,
    long heldBytes) {}
