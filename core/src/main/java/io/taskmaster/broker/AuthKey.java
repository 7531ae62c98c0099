package io.taskmaster.broker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The shared secret that masters, workers and producers prove to each other. It never crosses the wire and never
 * appears in {@link #toString()}, logs or error messages.
 *
 * <p>A key file's bytes are used as they are, less trailing line breaks, so that {@code echo secret > key.txt} and a
 * Python script's {@code open('key.txt','rb').read().strip()} agree.
 */
public final class AuthKey {
  /** The environment variable read by {@link #fromEnvironment()}. */
  public static final String ENV = "TASKMASTER_AUTHKEY";

  private final byte[] bytes;

  private AuthKey(byte[] bytes) {
    if (bytes.length == 0) {
      throw new IllegalArgumentException("the auth key is empty; put at least 16 random bytes in the key file");
    }
    this.bytes = bytes.clone();
  }

  public static AuthKey of(byte[] bytes) {
    return new AuthKey(bytes);
  }

  public static AuthKey of(String secret) {
    return new AuthKey(secret.getBytes(StandardCharsets.UTF_8));
  }

  /** Reads a key file; the message of the error names the file, never its content. */
  public static AuthKey fromFile(Path file) {
    byte[] content;
    try {
      content = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the auth key file " + file + ": " + e.getMessage(), e);
    }
    int end = content.length;
    while (end > 0 && (content[end - 1] == '\n' || content[end - 1] == '\r')) {
      end--;
    }
    if (end == 0) {
      throw new IllegalArgumentException("the auth key file " + file + " is empty; write a secret into it, e.g. "
          + "'head -c 32 /dev/urandom | base64 > " + file + "'");
    }
    return new AuthKey(Arrays.copyOf(content, end));
  }

  /** The key in {@value #ENV}, or null when the variable is unset or empty. */
  public static AuthKey fromEnvironment() {
    String value = System.getenv(ENV);
    return value == null || value.isEmpty() ? null : of(value.strip());
  }

  /** A copy of the secret bytes, for HMAC computation. */
  public byte[] bytes() {
    return bytes.clone();
  }

  public int length() {
    return bytes.length;
  }

  @Override
  public String toString() {
    return "AuthKey[redacted]";
  }
}
