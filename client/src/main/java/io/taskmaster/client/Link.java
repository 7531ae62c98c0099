package io.taskmaster.client;

import io.taskmaster.protocol.message.Envelope;

/** What moves a {@link Connection}'s frames: it sends envelopes and hands back what it reads. */
interface Link extends CallerReads {
  /** Sends a frame, from any thread; frames from one thread leave in the order they were sent. */
  default void send(Envelope envelope) {
    queue(envelope);
    flush();
  }

  /** Queues a frame to leave with the next {@link #send} or {@link #flush}, in order with the others. */
  void queue(Envelope envelope);

  /** Sends the frames queued so far. */
  void flush();

  /** The handshake succeeded: frames may now be as large as the configured maximum. */
  void authenticated();

  /** Closes the link; the connection hears of it through {@link Connection#linkClosed()}. Idempotent. */
  void close();
}
