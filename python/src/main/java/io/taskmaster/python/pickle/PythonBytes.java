package io.taskmaster.python.pickle;

/**
 * A Python {@code bytes} value to be written. Pyrolite writes a {@code byte[]} in its own way, which Python reads as
 * {@code bytearray}; this one is written as BINBYTES and read as {@code bytes}.
 */
public record PythonBytes(byte[] bytes) {}
