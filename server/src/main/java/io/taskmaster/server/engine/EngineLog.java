package io.taskmaster.server.engine;

import java.util.concurrent.CompletableFuture;

/**
 * Where the engine records its changes so that a restarted master can rebuild its state: the durable journal, or
 * nothing for an engine that lives in memory only. The engine calls {@link #append} under its lock, in the order
 * of the changes, so the implementation must only buffer there, never wait for a disk.
 */
public interface EngineLog {

  /** Buffers a change, in order. Never blocks on IO. */
  void append(EngineChange change);

  /**
   * Throws an {@link EngineException} with reason STORAGE when a new task could not be kept (the disk is full, or
   * the journal failed): puts are refused before they change anything, instead of being acknowledged and lost.
   */
  void checkWritable();

  /**
   * Completes once every change appended so far is as durable as the log promises (on disk for {@code fsync
   * always}); fails when it cannot become so. Front ends acknowledge a put or a settlement only then.
   */
  CompletableFuture<Void> durable();

  /** Keeps nothing: the state lives and dies with the process. */
  EngineLog IN_MEMORY = new EngineLog() {
    private final CompletableFuture<Void> done = CompletableFuture.completedFuture(null);

    @Override
    public void append(EngineChange change) {}

    @Override
    public void checkWritable() {}

    @Override
    public CompletableFuture<Void> durable() {
      return done;
    }
  };
}
