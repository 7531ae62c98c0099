package io.taskmaster.server.journal;

import io.taskmaster.server.duty.PeriodicDuty;
import io.taskmaster.server.engine.QueueEngine;
import java.time.Duration;

/** Compacts the journal in the background: a checkpoint whenever the history since the last one outweighs it. */
public final class CheckpointDuty extends PeriodicDuty {
  private final Journal journal;
  private final QueueEngine engine;

  private CheckpointDuty(Journal journal, QueueEngine engine, String owner) {
    super(owner + "-checkpoint", Duration.ofSeconds(1));
    this.journal = journal;
    this.engine = engine;
  }

  public static CheckpointDuty start(Journal journal, QueueEngine engine, String owner) {
    CheckpointDuty duty = new CheckpointDuty(journal, engine, owner);
    duty.start();
    return duty;
  }

  @Override
  protected void runOnce() {
    if (journal.checkpointDue()) {
      journal.checkpoint(engine);
    }
  }
}
