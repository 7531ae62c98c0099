package io.taskmaster.cli.options;

import io.taskmaster.broker.AuthKey;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where the auth key comes from: {@code --authkey-file}, else the {@code TASKMASTER_AUTHKEY} variable. There is
 * deliberately no option that takes the key itself: argv is visible to every user of the machine.
 */
public final class KeyOptions {
  @Option(names = "--authkey-file", paramLabel = "FILE",
      description = "File holding the shared auth key (trailing newlines ignored). Default: the TASKMASTER_AUTHKEY "
          + "environment variable.")
  Path file;

  /** The key, or null when neither source has one. */
  public AuthKey key() {
    return file != null ? AuthKey.fromFile(file) : AuthKey.fromEnvironment();
  }
}
