package io.taskmaster.cli.command;

import picocli.CommandLine;

/** The version from the jar manifest, and the JDK it runs on. */
public final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = TaskmasterCommand.class.getPackage().getImplementationVersion();
    return new String[] {
        "taskmaster " + (version == null ? "(development build)" : version),
        "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"
    };
  }
}
