package io.taskmaster.cli.command;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Names;
import io.taskmaster.cli.ExitCodes;
import io.taskmaster.cli.lifecycle.Termination;
import io.taskmaster.cli.options.ByteSize;
import io.taskmaster.cli.options.DurationConverter;
import io.taskmaster.cli.options.KeyOptions;
import io.taskmaster.time.Durations;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.python.listener.PythonListener;
import io.taskmaster.python.listener.PythonListenerSettings;
import io.taskmaster.server.journal.FsyncMode;
import io.taskmaster.server.journal.JournalSettings;
import io.taskmaster.server.master.Master;
import io.taskmaster.server.net.MasterSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "master", mixinStandardHelpOptions = true,
    description = {
        "Hosts task queues on the network. Workers and producers connect with the shared auth key.",
        "With --data-dir every acknowledged task and result is kept in a journal and survives a crash (kill -9,",
        "power loss with --fsync always); without it queues live in memory and die with the master.",
        "SIGTERM stops in order: acknowledgements in flight land, leases go back untried, the journal is flushed.",
        "With --python-port, unmodified Python scripts using multiprocessing.managers (BaseManager) use the queues",
        "too, with the same key. That protocol is NOT encrypted: keep it on loopback or use an SSH tunnel."
    })
public final class MasterCommand extends LoggedCommand {
  private static final Logger log = LoggerFactory.getLogger(MasterCommand.class);
  /** Keys shorter than this are easy to guess offline from a captured handshake. */
  private static final int WEAK_KEY_BYTES = 16;

  @Option(names = "--host", defaultValue = "127.0.0.1",
      description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 for all).")
  String host;

  @Option(names = "--port", defaultValue = "5000", description = "Port to listen on; 0 picks a free one "
      + "(default: ${DEFAULT-VALUE}).")
  int port;

  @Mixin
  KeyOptions key;

  @Option(names = "--insecure", description = "Run without an auth key: anyone who can reach the port can put, "
      + "take and settle tasks. For throw-away experiments only.")
  boolean insecure;

  @Option(names = "--max-frame", paramLabel = "SIZE", defaultValue = "16MiB", converter = ByteSize.class,
      description = "Largest frame (and so task or result) accepted (default: ${DEFAULT-VALUE}).")
  int maxFrame;

  @Option(names = "--handshake-timeout", paramLabel = "DURATION", defaultValue = "10s",
      converter = DurationConverter.class,
      description = "Time a new connection has to authenticate (default: ${DEFAULT-VALUE}).")
  Duration handshakeTimeout;

  @Option(names = "--max-connections", defaultValue = "10000",
      description = "Connections served at once (default: ${DEFAULT-VALUE}).")
  int maxConnections;

  @Option(names = "--max-unauthenticated", paramLabel = "N", defaultValue = "0",
      description = "Connections that may be authenticating at once, so that idle or slow handshakes leave the rest "
          + "of --max-connections to authenticated clients; when they are all taken a new connection displaces the "
          + "oldest from the address holding the most, or is refused if its own address is that one. 0 means half "
          + "of --max-connections (default: ${DEFAULT-VALUE}).")
  int maxUnauthenticated;

  @Option(names = "--max-handshakes-per-address", paramLabel = "N", defaultValue = "64",
      description = "Connections from one address that may be authenticating at once, counting wrong keys whose "
          + "verdict is still held back (2 s): this bounds key guessing to N/2 attempts a second per address. Raise "
          + "it when more workers than this share one address (a NAT, one big machine) and reconnect together after "
          + "a master restart; the others retry with backoff (default: ${DEFAULT-VALUE}).")
  int maxHandshakesPerAddress;

  @Option(names = "--max-output-buffer", paramLabel = "SIZE", defaultValue = "0", converter = ByteSize.Large.class,
      description = "Bytes of answers one connection may have waiting for its client to read; a client that lets more "
          + "pile up does not read its answers and is closed, as on any disconnect (its leases go back to their "
          + "queues, the results of its tasks stay stored). At least twice --max-frame; 0 means the larger of 64MiB "
          + "and 4 x --max-frame (default: ${DEFAULT-VALUE}).")
  long maxOutputBuffer;

  @Option(names = "--lease-timeout", paramLabel = "DURATION", defaultValue = "30s", converter = DurationConverter.class,
      description = "How long a leased task stays invisible unless its worker extends the lease (workers do so "
          + "while the task runs); then it goes to another worker (default: ${DEFAULT-VALUE}).")
  Duration leaseTimeout;

  @Option(names = "--queue-lease-timeout", paramLabel = "QUEUE=DURATION",
      description = "A queue's own lease timeout, for queues whose tasks are much longer or shorter than most "
          + "(repeatable: --queue-lease-timeout reports=10m --queue-lease-timeout pings=5s).")
  Map<String, String> queueLeaseTimeouts = new LinkedHashMap<>();

  @Option(names = "--max-attempts", paramLabel = "N", defaultValue = "3",
      description = "Attempts a task gets (failures, lost workers and expired leases count) before it goes to the "
          + "dead letters; 1 means no retry (default: ${DEFAULT-VALUE}).")
  int maxAttempts;

  @Option(names = "--retry-backoff", paramLabel = "DURATION", defaultValue = "1s", converter = DurationConverter.class,
      description = "Delay before the first retry; it doubles for each further one, with jitter, up to "
          + "--max-retry-backoff (default: ${DEFAULT-VALUE}).")
  Duration retryBackoff;

  @Option(names = "--max-retry-backoff", paramLabel = "DURATION", defaultValue = "5m",
      converter = DurationConverter.class, description = "Longest delay between two attempts (default: ${DEFAULT-VALUE}).")
  Duration maxRetryBackoff;

  @Option(names = "--max-memory", paramLabel = "SIZE", converter = ByteSize.Large.class,
      description = "Memory the pending tasks, dead letters and stored results may take (estimated from their "
          + "sizes); puts beyond it are refused as busy until workers drain the queues (default: 40%% of the "
          + "JVM's maximum heap, which TASKMASTER_JAVA_OPTS=-Xmx... sets).")
  Long maxMemory;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Keep queues, dead letters and results in a journal in DIR (created if missing, one master per "
          + "directory); a restart recovers them. Without it everything lives in memory only.")
  Path dataDir;

  @Option(names = "--fsync", paramLabel = "MODE", defaultValue = "always",
      description = "With --data-dir: when an acknowledgement is given. always: once the change is on disk "
          + "(concurrent requests share one fsync); batch: once the OS has it, forced every --fsync-interval (a power "
          + "loss can lose that window); none: at once, never forced (a crash can lose recent changes) "
          + "(default: ${DEFAULT-VALUE}).")
  String fsync;

  @Option(names = "--fsync-interval", paramLabel = "DURATION", defaultValue = "100ms",
      converter = DurationConverter.class,
      description = "With --fsync batch: the longest time between two forces (default: ${DEFAULT-VALUE}).")
  Duration fsyncInterval;

  @Option(names = "--truncate-damaged-journal",
      description = "Start even if the journal is damaged in the middle, cutting it at the damage: the changes "
          + "recorded after it are lost. Without it the master refuses to start and names the damaged file.")
  boolean truncateDamaged;

  @Option(names = "--python-port", paramLabel = "PORT",
      description = "Also serve Python's multiprocessing.managers protocol on this port, so that BaseManager "
          + "scripts (authkey = the key file's bytes without the trailing newline) put and get on Taskmaster "
          + "queues. Off unless given. Not encrypted: loopback or a tunnel only.")
  Integer pythonPort;

  @Option(names = "--python-host", paramLabel = "HOST", defaultValue = "127.0.0.1",
      description = "Address of the Python port (default: ${DEFAULT-VALUE}). Elsewhere than loopback, the key must "
          + "be at least 32 bytes unless --allow-weak-key.")
  String pythonHost;

  @Option(names = "--python-queue", paramLabel = "TYPEID=QUEUE",
      description = "A typeid Python scripts may ask their manager for, and the Taskmaster queue it stands for "
          + "(repeatable; defaults: get_task_queue=tasks, get_result_queue=results).")
  Map<String, String> pythonQueues = new LinkedHashMap<>();

  @Option(names = "--allow-weak-key",
      description = "Serve the Python port on a non-loopback address with a key shorter than 32 bytes (such as the "
          + "tutorial's 'abc'), which anyone who records a handshake can guess offline.")
  boolean allowWeakKey;

  @Option(names = "--io-threads", defaultValue = "0",
      description = "Network threads; 0 picks one per four cores, at least one (default: ${DEFAULT-VALUE}).")
  int ioThreads;

  private PythonListenerSettings pythonSettings(AuthKey authKey, MasterSettings settings) {
    if (pythonPort == null) {
      if (!pythonQueues.isEmpty() || allowWeakKey) {
        throw new IllegalArgumentException("--python-queue and --allow-weak-key concern the Python port; give "
            + "--python-port too");
      }
      return null;
    }
    if (authKey == null) {
      throw new IllegalArgumentException("--python-port needs an auth key (--authkey-file or TASKMASTER_AUTHKEY): a "
          + "managers server without one would serve anyone");
    }
    Map<String, String> queues = PythonListenerSettings.defaultQueues();
    queues.putAll(pythonQueues);
    return new PythonListenerSettings(pythonHost, pythonPort, authKey.bytes(), queues, settings.maxFrameBytes(),
        settings.handshakeTimeout(), settings.maxConnections(), allowWeakKey);
  }

  @Override
  int execute() throws Exception {
    Termination termination = Termination.install();
    AuthKey authKey = key.key();
    if (authKey == null && !insecure) {
      throw new IllegalArgumentException("no auth key: pass --authkey-file FILE or set TASKMASTER_AUTHKEY "
          + "(e.g. 'head -c 32 /dev/urandom | base64 > key.txt'); --insecure runs without one");
    }
    if (authKey != null && insecure) {
      throw new IllegalArgumentException("--insecure contradicts the auth key that was given; drop one of them");
    }
    if (insecure) {
      log.warn("**************************************************************************");
      log.warn("* --insecure: NO AUTHENTICATION. Anyone who reaches {}:{} can read,", host, port);
      log.warn("* put and settle tasks. Use an auth key for anything but an experiment.  *");
      log.warn("**************************************************************************");
    } else if (authKey.length() < WEAK_KEY_BYTES) {
      log.warn("the auth key is only {} bytes; use at least {} random bytes", authKey.length(), WEAK_KEY_BYTES);
    }
    MasterSettings settings = MasterSettings.of(port, authKey).withHost(host).withMaxFrameBytes(maxFrame)
        .withHandshakeTimeout(handshakeTimeout).withMaxConnections(maxConnections)
        .withMaxUnauthenticated(maxUnauthenticated).withMaxHandshakesPerAddress(maxHandshakesPerAddress)
        .withIoThreads(ioThreads)
        .withMaxOutputBufferBytes(maxOutputBuffer);
    EngineSettings delivery = EngineSettings.defaults().withVisibilityTimeout(leaseTimeout)
        .withMaxAttempts(maxAttempts).withRetryBackoff(retryBackoff, maxRetryBackoff);
    for (Map.Entry<String, String> entry : queueLeaseTimeouts.entrySet()) {
      Duration timeout;
      try {
        timeout = Durations.parse(entry.getValue());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--queue-lease-timeout " + entry.getKey() + "=" + entry.getValue() + ": "
            + e.getMessage() + " (write e.g. reports=10m)");
      }
      delivery = delivery.withQueueVisibilityTimeout(Names.requireValid("queue name", entry.getKey()), timeout);
    }
    if (maxMemory != null) {
      if (maxMemory < 1024 * 1024) {
        throw new IllegalArgumentException("--max-memory must be at least 1MiB, was " + maxMemory + " bytes");
      }
      delivery = delivery.withMaxHeldBytes(maxMemory);
    }
    JournalSettings journal = dataDir == null ? null : JournalSettings.in(dataDir).withFsync(FsyncMode.parse(fsync))
        .withBatchWindow(fsyncInterval).withTruncateDamaged(truncateDamaged);
    if (journal == null) {
      log.info("no --data-dir: queues, dead letters and results live in memory and are lost when the master stops");
    }
    PythonListenerSettings python = pythonSettings(authKey, settings);
    try (Master master = Master.start(settings, delivery, journal);
        PythonListener listener = python == null ? null : PythonListener.start(python, master.engine())) {
      termination.await();
      log.info("stopping the master");
    }
    return ExitCodes.OK;
  }
}
