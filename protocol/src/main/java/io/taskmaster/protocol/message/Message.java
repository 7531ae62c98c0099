package io.taskmaster.protocol.message;

import io.taskmaster.broker.CancelOutcome;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import java.util.List;

/**
 * Every message of the Taskmaster protocol, one record per opcode. {@code docs/protocol.md} is the specification;
 * {@link io.taskmaster.protocol.wire.MessageCodec} is its byte layout.
 */
public sealed interface Message {

  Opcode opcode();

  // -- handshake ---------------------------------------------------------------------------------------------

  /** Server, first frame: the protocol version it speaks, whether it wants proof of the key, and its nonce. */
  record Hello(int version, boolean authRequired, byte[] serverNonce, String serverName) implements Message {
    public Opcode opcode() {
      return Opcode.HELLO;
    }
  }

  /** Client: its own nonce and its proof of the key over both nonces. */
  record Auth(byte[] clientNonce, byte[] clientProof) implements Message {
    public Opcode opcode() {
      return Opcode.AUTH;
    }
  }

  /**
   * Server: the client is in; the server's proof of the key lets the client check the server in turn, and
   * {@code maxFrameBytes} tells it the longest frame the master accepts (0: not said, as by masters before it).
   */
  record AuthOk(byte[] serverProof, int maxFrameBytes) implements Message {
    public AuthOk(byte[] serverProof) {
      this(serverProof, 0);
    }

    public Opcode opcode() {
      return Opcode.AUTH_OK;
    }
  }

  // -- requests ----------------------------------------------------------------------------------------------

  record Put(List<TaskMessage> tasks) implements Message {
    public Opcode opcode() {
      return Opcode.PUT;
    }
  }

  /** As PUT, and the server pushes each task's RESULT (request id 0) on this connection once it is settled. */
  record Submit(List<TaskMessage> tasks) implements Message {
    public Opcode opcode() {
      return Opcode.SUBMIT;
    }
  }

  record Lease(String queue, int max, int waitMillis) implements Message {
    public Opcode opcode() {
      return Opcode.LEASE;
    }
  }

  record Settle(List<Settlement> settlements) implements Message {
    public Opcode opcode() {
      return Opcode.SETTLE;
    }
  }

  /** Extends leases by their timeout from now. */
  record Extend(List<Long> leaseIds) implements Message {
    public Opcode opcode() {
      return Opcode.EXTEND;
    }
  }

  record Cancel(String taskId) implements Message {
    public Opcode opcode() {
      return Opcode.CANCEL;
    }
  }

  record Cancelled(CancelOutcome outcome) implements Message {
    public Opcode opcode() {
      return Opcode.CANCELLED;
    }
  }

  record DeadList(String queue, int offset, int limit) implements Message {
    public Opcode opcode() {
      return Opcode.DEAD_LIST;
    }
  }

  /** Retries the named dead letters, or all of the queue's when {@code taskIds} is empty. */
  record DeadRetry(String queue, List<String> taskIds) implements Message {
    public Opcode opcode() {
      return Opcode.DEAD_RETRY;
    }
  }

  record DeadPurge(String queue) implements Message {
    public Opcode opcode() {
      return Opcode.DEAD_PURGE;
    }
  }

  record AwaitResult(String taskId) implements Message {
    public Opcode opcode() {
      return Opcode.AWAIT_RESULT;
    }
  }

  record Size(String queue) implements Message {
    public Opcode opcode() {
      return Opcode.SIZE;
    }
  }

  record Ping() implements Message {
    public Opcode opcode() {
      return Opcode.PING;
    }
  }

  /** A name for this connection (a worker's id, say), valid as a queue name is. */
  record Name(String clientName) implements Message {
    public Opcode opcode() {
      return Opcode.NAME;
    }
  }

  // -- responses ---------------------------------------------------------------------------------------------

  record PutOk(int count) implements Message {
    public Opcode opcode() {
      return Opcode.PUT_OK;
    }
  }

  record Leased(List<Delivery> deliveries) implements Message {
    public Opcode opcode() {
      return Opcode.LEASED;
    }
  }

  record Settled(List<SettleStatus> statuses) implements Message {
    public Opcode opcode() {
      return Opcode.SETTLED;
    }
  }

  /** A worker's progress report for a task it holds the lease of. */
  record Progress(long leaseId, long done, long total, String message) implements Message {
    public Opcode opcode() {
      return Opcode.PROGRESS;
    }
  }

  record Progressed(SettleStatus status) implements Message {
    public Opcode opcode() {
      return Opcode.PROGRESSED;
    }
  }

  /** Pushed with request id 0 to clients waiting for the task's result. */
  record ProgressUpdate(io.taskmaster.broker.TaskProgress progress) implements Message {
    public Opcode opcode() {
      return Opcode.PROGRESS_UPDATE;
    }
  }

  /**
   * Pushed with request id 0 to the client holding a lease whose task its producer cancelled: the worker should
   * stop the handler, then fail or release the lease.
   */
  record StopTask(long leaseId) implements Message {
    public Opcode opcode() {
      return Opcode.STOP_TASK;
    }
  }

  record Extended(List<SettleStatus> statuses) implements Message {
    public Opcode opcode() {
      return Opcode.EXTENDED;
    }
  }

  record DeadListed(DeadLetters deadLetters) implements Message {
    public Opcode opcode() {
      return Opcode.DEAD_LISTED;
    }
  }

  record DeadRetried(long count) implements Message {
    public Opcode opcode() {
      return Opcode.DEAD_RETRIED;
    }
  }

  record DeadPurged(long count) implements Message {
    public Opcode opcode() {
      return Opcode.DEAD_PURGED;
    }
  }

  record Result(TaskResult result) implements Message {
    public Opcode opcode() {
      return Opcode.RESULT;
    }
  }

  record SizeOk(long size) implements Message {
    public Opcode opcode() {
      return Opcode.SIZE_OK;
    }
  }

  record Pong() implements Message {
    public Opcode opcode() {
      return Opcode.PONG;
    }
  }

  record Named() implements Message {
    public Opcode opcode() {
      return Opcode.NAMED;
    }
  }

  /** The answer to a request that failed; when {@code code.fatal()} the server closes the connection after it. */
  record Error(ErrorCode code, String message) implements Message {
    public Opcode opcode() {
      return Opcode.ERROR;
    }
  }
}
