package io.taskmaster.protocol.wire;

import io.taskmaster.protocol.message.ErrorCode;

/**
 * A well-framed request whose content was refused (an empty queue name, an over-long id): the stream is still in
 * sync, so the decoder hands this on instead of failing the connection, and the server answers the one request.
 */
public record Rejected(int requestId, ErrorCode code, String message) {}
