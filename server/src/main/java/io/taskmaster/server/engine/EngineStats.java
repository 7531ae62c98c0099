package io.taskmaster.server.engine;

/** A snapshot of the engine's counts. */
public record EngineStats(
    int queues, long ready, long leased, long waitingConsumers, long storedResults, long delayed, long dead) {}
