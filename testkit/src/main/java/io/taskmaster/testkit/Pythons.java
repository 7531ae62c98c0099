package io.taskmaster.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The Python interpreters of this machine: pyenv's, else {@code python3.X} on the PATH. A test skips a version the
 * machine lacks, except under CI (the environment variable {@code CI} is set), which must have 3.6, 3.11 and 3.13.
 */
public final class Pythons {
  public static final List<String> VERSIONS = List.of("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13");
  public static final List<String> REQUIRED_IN_CI = List.of("3.6", "3.11", "3.13");

  private Pythons() {}

  public static Stream<String> versions() {
    return VERSIONS.stream();
  }

  /** The interpreter of {@code version}; skips the test when it is missing, fails when CI needs it. */
  public static Path require(String version) {
    Optional<Path> found = find(version);
    if (found.isEmpty() && System.getenv("CI") != null && REQUIRED_IN_CI.contains(version)) {
      throw new AssertionError("CI needs Python " + version + " (pyenv install " + version + ")");
    }
    assumeTrue(found.isPresent(), "Python " + version + " is not installed here");
    return found.get();
  }

  public static Optional<Path> find(String version) {
    Path pyenv = Path.of(System.getProperty("user.home"), ".pyenv", "versions");
    if (Files.isDirectory(pyenv)) {
      try (Stream<Path> installs = Files.list(pyenv)) {
        Optional<Path> match = installs
            .filter(dir -> dir.getFileName().toString().startsWith(version + "."))
            .map(dir -> dir.resolve("bin/python3"))
            .filter(Files::isExecutable)
            .sorted()
            .reduce((first, second) -> second);
        if (match.isPresent()) {
          return match;
        }
      } catch (IOException e) {
        // fall through to the PATH
      }
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path candidate = Path.of(dir, "python" + version);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** A script from the test resources, as a file Python can run. */
  public static Path script(String name) {
    try {
      Path file = Files.createTempFile("taskmaster-" + name.replace(".py", ""), ".py");
      try (var in = Pythons.class.getResourceAsStream("/python/" + name)) {
        assertThat(in).as("resource " + name).isNotNull();
        Files.write(file, in.readAllBytes());
      }
      file.toFile().deleteOnExit();
      return file;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
