package io.taskmaster.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./taskmaster} launcher's search for a usable Java, run as a user runs it, against stand-in JDKs that
 * print what a real one prints. The script is copied beside prebuilt (empty) jars, so it never starts a build.
 */
class LauncherTest {
  @TempDir
  Path dir;
  private Path launcher;

  @BeforeEach
  void copyLauncherBesideBuiltJars() throws IOException {
    Path script = Path.of(System.getProperty("user.dir")).getParent().resolve("taskmaster");
    launcher = dir.resolve("taskmaster");
    Files.copy(script, launcher);
    executable(launcher);
    for (String jar : new String[] {"cli/target/taskmaster.jar", "bench/target/taskmaster-bench.jar"}) {
      Files.createDirectories(dir.resolve(jar).getParent());
      Files.write(dir.resolve(jar), new byte[0]);
    }
  }

  @Test
  void aJavaToolOptionsLineBeforeTheVersionDoesNotHideTheVersion() throws Exception {
    Path jdk = fakeJdk("Picked up JAVA_TOOL_OPTIONS: -Dfile.encoding=UTF-8", "openjdk version \"17.0.15\" 2025-04-15");

    Result run = run(jdk, "--version");

    assertThat(run.stderr).doesNotContain("needs Java");
    assertThat(run.exitCode).isZero();
    assertThat(run.stdout).contains("ran io.taskmaster.cli.Main --version");
  }

  @Test
  void aJavaTooOldIsRefusedNamingItsVersion() throws Exception {
    Path jdk = fakeJdk("Picked up JAVA_TOOL_OPTIONS: -Xmx1g", "openjdk version \"11.0.22\" 2024-01-16");

    Result run = run(jdk, "--version");

    assertThat(run.exitCode).isEqualTo(1);
    assertThat(run.stderr).contains("Taskmaster needs Java 17 or newer, but " + jdk.resolve("bin/java")
        + " is: openjdk version \"11.0.22\" 2024-01-16 (set JAVA_HOME to a JDK 17+)");
    assertThat(run.stdout).doesNotContain("ran ");
  }

  @Test
  void anOldStyleVersionIsReadAsItsJavaRelease() throws Exception {
    Path jdk = fakeJdk("java version \"1.8.0_392\"");

    Result run = run(jdk, "--version");

    assertThat(run.exitCode).isEqualTo(1);
    assertThat(run.stderr).contains("needs Java 17 or newer").contains("java version \"1.8.0_392\"");
  }

  @Test
  void withoutJavaHomeTheJavaOnThePathIsUsed() throws Exception {
    Path jdk = fakeJdk("openjdk version \"21.0.5\" 2024-10-15");

    Result run = runWithPath(null, jdk.resolve("bin") + ":" + System.getenv("PATH"), "--version");

    assertThat(run.exitCode).as(run.stderr).isZero();
    assertThat(run.stdout).contains("ran io.taskmaster.cli.Main --version");
  }

  @Test
  void aJreCannotBuildAndIsToldToUseAJdk() throws Exception {
    Path jre = fakeJdk("openjdk version \"17.0.15\" 2025-04-15");
    Files.delete(dir.resolve("cli/target/taskmaster.jar")); // not built yet: the launcher would build

    Result run = run(jre, "--version");

    assertThat(run.exitCode).isEqualTo(1);
    assertThat(run.stderr).contains("building Taskmaster on first use needs a JDK, but " + jre + " has no javac")
        .contains("set JAVA_HOME to a JDK 17 or newer").doesNotContain("building (first run");
  }

  /**
   * Maven rewrites a built jar in place (same inode), under any JVM still running from it: a master started before
   * a rebuild would then fail to load its next class. The launcher runs a copy instead, refreshed by renaming a new
   * copy into place once the built jar is newer, so that a file a JVM holds open never changes.
   */
  @Test
  void theLauncherRunsACopyOfTheBuiltJarThatARebuildDoesNotRewrite() throws Exception {
    Path jdk = fakeJdk("openjdk version \"17.0.15\" 2025-04-15");
    Path built = dir.resolve("cli/target/taskmaster.jar");
    Files.writeString(built, "build 1");

    Path firstCopy = Path.of(classpathOf(run(jdk, "--version")));
    assertThat(firstCopy).isNotEqualTo(built).hasContent("build 1");
    try (var runningJvm = Files.newBufferedReader(firstCopy)) {
      Files.writeString(built, "build 2"); // a rebuild, in place
      Files.setLastModifiedTime(built, FileTime.fromMillis(System.currentTimeMillis() + 10_000));

      Path secondCopy = Path.of(classpathOf(run(jdk, "--version")));

      assertThat(secondCopy).hasContent("build 2");
      assertThat(runningJvm.readLine()).as("what the running JVM reads").isEqualTo("build 1");
    }
    assertThat(classpathOf(run(jdk, "bench", "--help"))).endsWith("taskmaster-bench.jar")
        .doesNotContain("bench/target");
  }

  private static String classpathOf(Result run) {
    assertThat(run.exitCode).as(run.stderr).isZero();
    return run.stdout.lines().filter(line -> line.startsWith("classpath ")).findFirst().orElseThrow()
        .substring("classpath ".length());
  }

  /** A JDK whose java prints the given lines for -version and otherwise says what it was asked to run. */
  private Path fakeJdk(String... versionLines) throws IOException {
    Path jdk = dir.resolve("jdk");
    Files.createDirectories(jdk.resolve("bin"));
    StringBuilder script = new StringBuilder("#!/usr/bin/env bash\nif [[ \"$1\" == -version ]]; then\n");
    for (String line : versionLines) {
      script.append("  echo '").append(line).append("' >&2\n");
    }
    script.append("  exit 0\nfi\necho \"classpath $2\"\nshift 2 # -cp JAR\necho \"ran $*\"\n");
    Path java = jdk.resolve("bin/java");
    Files.writeString(java, script.toString());
    executable(java);
    return jdk;
  }

  private Result run(Path javaHome, String... args) throws Exception {
    return runWithPath(javaHome, System.getenv("PATH"), args);
  }

  /** Runs the launcher with this JAVA_HOME (none when null) and PATH. */
  private Result runWithPath(Path javaHome, String path, String... args) throws Exception {
    ProcessBuilder builder = new ProcessBuilder();
    builder.command().add(launcher.toString());
    builder.command().addAll(java.util.List.of(args));
    if (javaHome == null) {
      builder.environment().remove("JAVA_HOME");
    } else {
      builder.environment().put("JAVA_HOME", javaHome.toString());
    }
    builder.environment().put("PATH", path);
    builder.environment().remove("TASKMASTER_JAVA_OPTS");
    Path out = dir.resolve("stdout.txt");
    Path err = dir.resolve("stderr.txt");
    Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the launcher finished").isTrue();
    return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  private static void executable(Path file) throws IOException {
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private record Result(int exitCode, String stdout, String stderr) {}
}
