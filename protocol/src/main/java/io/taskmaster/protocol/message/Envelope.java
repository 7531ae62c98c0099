package io.taskmaster.protocol.message;

/**
 * A message with its request id. A response carries the id of its request; handshake frames carry 0.
 */
public record Envelope(int requestId, Message message) {}
