package io.taskmaster.server.journal;

import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskOptions;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.server.engine.EngineChange;
import io.taskmaster.task.TaskError;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The payload of a journal record: one {@link EngineChange}, as a kind byte and its fields. The layout of each kind
 * is in docs/journal-format.md; a kind is never reused or changed, only added.
 */
final class ChangeCodec {
  static final int PUT = 1;
  static final int LEASED = 2;
  static final int RETURNED = 3;
  static final int DEAD = 4;
  static final int DONE = 5;
  static final int DEAD_RETRIED = 6;
  static final int DEAD_PURGED = 7;
  static final int TASK_SNAPSHOT = 8;
  static final int DEAD_SNAPSHOT = 9;
  static final int RESULT_SNAPSHOT = 10;
  static final int CANCEL_REQUESTED = 11;
  /** Flags of a task snapshot. */
  private static final int SNAPSHOT_LEASED = 1;
  private static final int SNAPSHOT_CANCEL_REQUESTED = 2;

  private ChangeCodec() {}

  static void encode(EngineChange change, RecordBuffer out) {
    if (change instanceof EngineChange.Put put) {
      out.putByte(PUT);
      putTask(put.task(), out);
    } else if (change instanceof EngineChange.Leased leased) {
      out.putByte(LEASED);
      out.putString(leased.taskId());
      out.putInt(leased.deliveries());
    } else if (change instanceof EngineChange.Returned returned) {
      out.putByte(RETURNED);
      out.putString(returned.taskId());
      out.putInt(returned.deliveries());
      putError(returned.error(), out);
      out.putLong(returned.runAtEpochMillis());
    } else if (change instanceof EngineChange.Dead dead) {
      out.putByte(DEAD);
      out.putString(dead.taskId());
      putError(dead.error(), out);
      out.putLong(dead.atEpochMillis());
    } else if (change instanceof EngineChange.Done done) {
      out.putByte(DONE);
      out.putString(done.taskId());
      putResult(done.result(), out);
      out.putLong(done.atEpochMillis());
    } else if (change instanceof EngineChange.CancelRequested cancel) {
      out.putByte(CANCEL_REQUESTED);
      out.putString(cancel.taskId());
    } else if (change instanceof EngineChange.DeadRetried retried) {
      out.putByte(DEAD_RETRIED);
      out.putString(retried.taskId());
    } else if (change instanceof EngineChange.DeadPurged purged) {
      out.putByte(DEAD_PURGED);
      out.putString(purged.queue());
    } else if (change instanceof EngineChange.TaskSnapshot snapshot) {
      out.putByte(TASK_SNAPSHOT);
      putTask(snapshot.task(), out);
      out.putInt(snapshot.deliveries());
      putErrors(snapshot.errors(), out);
      out.putLong(snapshot.runAtEpochMillis());
      out.putByte((snapshot.leased() ? SNAPSHOT_LEASED : 0)
          | (snapshot.cancelRequested() ? SNAPSHOT_CANCEL_REQUESTED : 0));
    } else if (change instanceof EngineChange.DeadSnapshot snapshot) {
      out.putByte(DEAD_SNAPSHOT);
      putTask(snapshot.dead().task(), out);
      putErrors(snapshot.dead().attempts(), out);
      out.putLong(snapshot.dead().deadAt().toEpochMilli());
    } else if (change instanceof EngineChange.ResultSnapshot snapshot) {
      out.putByte(RESULT_SNAPSHOT);
      putResult(snapshot.result(), out);
      out.putLong(snapshot.storedAtEpochMillis());
    } else {
      throw new IllegalArgumentException("no journal encoding for " + change.getClass().getName());
    }
  }

  static EngineChange decode(RecordInput in) {
    int kind = in.getByte();
    EngineChange change;
    switch (kind) {
      case PUT -> change = new EngineChange.Put(getTask(in));
      case LEASED -> change = new EngineChange.Leased(in.getString(), in.getInt());
      case RETURNED -> change = new EngineChange.Returned(in.getString(), in.getInt(), getError(in), in.getLong());
      case DEAD -> change = new EngineChange.Dead(in.getString(), getError(in), in.getLong());
      case DONE -> change = new EngineChange.Done(in.getString(), getResult(in), in.getLong());
      case DEAD_RETRIED -> change = new EngineChange.DeadRetried(in.getString());
      case DEAD_PURGED -> change = new EngineChange.DeadPurged(in.getString());
      case TASK_SNAPSHOT -> {
        TaskMessage task = getTask(in);
        int deliveries = in.getInt();
        List<TaskError> errors = getErrors(in);
        long runAt = in.getLong();
        int flags = in.getByte();
        change = new EngineChange.TaskSnapshot(task, deliveries, errors, runAt, (flags & SNAPSHOT_LEASED) != 0,
            (flags & SNAPSHOT_CANCEL_REQUESTED) != 0);
      }
      case CANCEL_REQUESTED -> change = new EngineChange.CancelRequested(in.getString());
      case DEAD_SNAPSHOT -> change = new EngineChange.DeadSnapshot(
          new DeadLetter(getTask(in), getErrors(in), Instant.ofEpochMilli(in.getLong())));
      case RESULT_SNAPSHOT -> change = new EngineChange.ResultSnapshot(getResult(in), in.getLong());
      default -> throw new IllegalArgumentException("unknown record kind " + kind
          + " (written by a newer Taskmaster? start that version on this data directory)");
    }
    if (!in.exhausted()) {
      throw new IllegalArgumentException("record of kind " + kind + " has bytes left over after its fields");
    }
    return change;
  }

  private static void putTask(TaskMessage task, RecordBuffer out) {
    out.putString(task.id());
    out.putString(task.queue());
    out.putString(task.type());
    out.putInt(task.headers().size());
    for (Map.Entry<String, String> header : task.headers().entrySet()) {
      out.putString(header.getKey());
      out.putString(header.getValue());
    }
    out.putBytes(task.payload());
    TaskOptions options = task.options();
    out.putByte(options.priority());
    out.putInt(options.maxAttempts());
    out.putLong(options.runAtEpochMillis());
    out.putLong(options.timeoutMillis());
    out.putString(options.uniqueKey());
  }

  private static TaskMessage getTask(RecordInput in) {
    String id = in.getString();
    String queue = in.getString();
    String type = in.getString();
    int headerCount = in.getInt();
    if (headerCount < 0 || headerCount > 1_000_000) {
      throw new IllegalArgumentException("implausible header count " + headerCount);
    }
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 0; i < headerCount; i++) {
      headers.put(in.getString(), in.getString());
    }
    byte[] payload = in.getBytes();
    TaskOptions options = new TaskOptions(in.getByte(), in.getInt(), in.getLong(), in.getLong(), in.getString());
    return new TaskMessage(id, queue, type, headers, payload, options);
  }

  /** An error, or null, as a presence byte and its four strings. */
  private static void putError(TaskError error, RecordBuffer out) {
    if (error == null) {
      out.putByte(0);
      return;
    }
    out.putByte(1);
    out.putString(error.type());
    out.putString(error.message());
    out.putString(error.stackTrace());
    out.putString(error.workerId());
  }

  private static TaskError getError(RecordInput in) {
    return in.getByte() == 0 ? null : new TaskError(in.getString(), in.getString(), in.getString(), in.getString());
  }

  private static void putErrors(List<TaskError> errors, RecordBuffer out) {
    out.putInt(errors.size());
    errors.forEach(error -> putError(error, out));
  }

  private static List<TaskError> getErrors(RecordInput in) {
    int count = in.getInt();
    if (count < 0 || count > TaskOptions.MAX_ATTEMPTS + 10) {
      throw new IllegalArgumentException("implausible error count " + count);
    }
    List<TaskError> errors = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      errors.add(getError(in));
    }
    return errors;
  }

  /** A result, or null; its value is null for a failure (which carries an error instead). */
  private static void putResult(TaskResult result, RecordBuffer out) {
    if (result == null) {
      out.putByte(0);
      return;
    }
    out.putByte(1);
    out.putString(result.taskId());
    if (result.value() == null) {
      out.putInt(-1);
    } else {
      out.putBytes(result.value());
    }
    putError(result.error(), out);
  }

  private static TaskResult getResult(RecordInput in) {
    if (in.getByte() == 0) {
      return null;
    }
    String taskId = in.getString();
    int length = in.getInt();
    byte[] value = length == -1 ? null : in.getRaw(length);
    return new TaskResult(taskId, value, getError(in));
  }
}
