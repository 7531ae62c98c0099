package io.taskmaster.cli.command;

import picocli.CommandLine.Command;

@Command(
    name = "taskmaster",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Distributed task queues: a master hosts named queues, workers run tasks, producers submit them.",
    subcommands = {
        DemoCommand.class, MasterCommand.class, WorkerCommand.class, SubmitCommand.class, CancelCommand.class, DeadCommand.class,
        picocli.CommandLine.HelpCommand.class
    },
    footer = {
        "",
        "Also: taskmaster bench, the end-to-end load test (taskmaster bench --help).",
        "",
        "Exit codes: 0 ok, 1 task or runtime failure, 2 bad usage or input, 65 the master's journal is damaged, "
            + "69 master unreachable, 77 auth key refused.",
        "The auth key is read from --authkey-file or TASKMASTER_AUTHKEY, never from the command line."
    })
public final class TaskmasterCommand implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
        "name a command: demo, master, worker, submit, cancel or dead (see taskmaster --help)");
  }
}
