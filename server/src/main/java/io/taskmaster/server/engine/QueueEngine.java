package io.taskmaster.server.engine;

import io.taskmaster.broker.CancelOutcome;
import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskProgress;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.task.TaskError;
import io.taskmaster.time.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The queue engine: named FIFO queues of tasks, leases, and results. It is a state machine that knows nothing of
 * sockets or files; front ends (the embedded broker, the network server) translate their requests into its
 * commands.
 *
 * <h2>States of a task</h2>
 *
 * <pre>
 *   put ──► READY ──lease──► LEASED ──ack──────────────────────────► SETTLED (result kept for its time to live)
 *             ▲ ▲                │ │
 *             │ │                │ └─fail, attempts left──► RETRYING (backoff) ──► READY (tail)
 *             │ │                └─fail / lost, no attempts left──► DEAD (failure result kept; retry or purge)
 *             │ └──release (head)
 *             └────owner disconnected / lease expired, attempts left (head)
 * </pre>
 *
 * <h2>Invariants</h2>
 *
 * <ul>
 *   <li>A task id is in {@code live} exactly while the task is READY or LEASED; a READY task is in its queue's
 *       {@code ready} deque, a LEASED one in {@code leases}. A put of an id that is live or has a stored result is
 *       refused.
 *   <li>A lease is settled only by the owner that holds it (a fencing rule: a consumer that lost its connection,
 *       and so its leases, cannot settle a task that was meanwhile delivered to someone else).
 *   <li>A waiter is registered only while its queue has no ready task.
 * </ul>
 *
 * <h2>Concurrency</h2>
 *
 * One lock guards all state; every command holds it for a few map operations and never across IO. Callbacks
 * (a waiter receiving tasks, a producer receiving a result) are collected under the lock and run after it is
 * released, so a slow callback cannot stall the engine and callbacks may call back into it.
 *
 * <h2>Lease expiry</h2>
 *
 * A lease lasts the visibility timeout from its delivery or its last extension, read from the injected monotonic
 * {@link Ticker}, so a wall-clock jump expires nothing. {@link #expireLeases()} is driven from outside (the lease
 * reaper) and is the only place leases expire: between two reaper runs a lease may outlive its deadline slightly,
 * never the other way round.
 *
 * <h2>Durability</h2>
 *
 * Every change is handed to the {@link EngineLog} under the lock, in order, as its outcome ({@link EngineChange});
 * the log only buffers it. Front ends acknowledge a put or a settlement once {@link #durable()} completes, so an
 * acknowledged change survives a crash; {@link #restore} rebuilds the state from a replayed log and {@link
 * #checkpoint} writes the whole state anew so that the log can drop its history.
 */
public final class QueueEngine {
  private final EngineSettings settings;
  private final Ticker ticker;
  private final Clock wallClock;
  private final EngineLog log;
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<String, TaskQueue> queues = new HashMap<>();
  private final Map<String, StoredTask> live = new HashMap<>();
  /** Ids of dead letters: known to the engine, so a put cannot reuse them while they wait to be retried. */
  private final Set<String> deadIds = new HashSet<>();
  /** Unique keys of pending tasks, to the id of the task holding each. */
  private final Map<String, String> uniqueKeys = new HashMap<>();
  private final Map<Long, StoredTask> leases = new HashMap<>();
  private final Map<String, List<ResultWaiter>> resultWaiters = new HashMap<>();
  /** Who tells each owner's worker to stop a task it holds; owners without one cannot be asked. */
  private final Map<Long, java.util.function.LongConsumer> stopRequests = new HashMap<>();
  private final ResultStore results;
  private long lastLeaseId;
  /** Estimated memory of the pending tasks and dead letters; with the results', bounded by maxHeldBytes. */
  private long taskBytes;

  private static final class TaskQueue {
    final long visibilityNanos;
    final ReadyTasks ready = new ReadyTasks();
    final ArrayDeque<LeaseWaiter> waiters = new ArrayDeque<>();
    final ArrayDeque<DeadLetter> dead = new ArrayDeque<>();

    TaskQueue(Duration visibilityTimeout) {
      this.visibilityNanos = visibilityTimeout.toNanos();
    }

    /** Holds nothing: it can be forgotten, and made again from the settings on next use. */
    boolean idle() {
      return ready.isEmpty() && waiters.isEmpty() && dead.isEmpty();
    }
  }

  /** Tasks waiting for their start time or the end of a retry backoff, earliest first. */
  private final PriorityQueue<StoredTask> delayed =
      new PriorityQueue<>(Comparator.comparingLong(task -> task.notBeforeNanos));

  /** Someone waiting for a task's result, and for its progress reports when {@code progress} is not null. */
  private record ResultWaiter(long owner, Consumer<TaskResult> callback, Consumer<TaskProgress> progress) {}

  /**
   * When a lease runs out. Extending a lease adds a new entry and leaves the old one in place: {@link
   * #expireLeases()} skips entries whose lease is gone or whose deadline moved, so no entry is ever searched for.
   */
  private record Expiry(long deadlineNanos, long leaseId) {}

  private final PriorityQueue<Expiry> expiries =
      new PriorityQueue<>(Comparator.comparingLong(Expiry::deadlineNanos).thenComparingLong(Expiry::leaseId));

  public QueueEngine(EngineSettings settings, Ticker ticker) {
    this(settings, ticker, Clock.systemUTC());
  }

  /**
   * @param ticker the monotonic time every deadline reads
   * @param wallClock only for timestamps shown to people (when a task was dead-lettered)
   */
  public QueueEngine(EngineSettings settings, Ticker ticker, Clock wallClock) {
    this(settings, ticker, wallClock, EngineLog.IN_MEMORY);
  }

  /** @param log where every change is recorded, in order (the journal of a master with a data directory) */
  public QueueEngine(EngineSettings settings, Ticker ticker, Clock wallClock, EngineLog log) {
    this.settings = settings;
    this.ticker = ticker;
    this.wallClock = wallClock;
    this.log = log;
    this.results = new ResultStore(settings.resultTtl().toNanos(), settings.maxStoredResults());
    // Lease ids never repeat across restarts, so a settlement sent to the previous run cannot hit a new lease.
    this.lastLeaseId = wallClock.millis() << 20;
  }

  /**
   * Completes once every change made so far is as durable as the log promises; a front end acknowledges a put or
   * a settlement only then. Fails when the journal could not keep it.
   */
  public java.util.concurrent.CompletableFuture<Void> durable() {
    return log.durable();
  }

  /** Appends tasks to their queues, all or none. */
  public void put(List<TaskMessage> tasks) {
    put(tasks, 0, null);
  }

  /**
   * Appends tasks to their queues, all or none, and when {@code watcher} is not null has it called with each task's
   * result once the task is settled (as {@link #awaitResult} would, without a command per task).
   */
  public void put(List<TaskMessage> tasks, long owner, Consumer<TaskResult> watcher) {
    put(tasks, owner, watcher, null);
  }

  /** As {@link #put(List, long, Consumer)}, also passing each task's progress reports to {@code progress}. */
  public void put(List<TaskMessage> tasks, long owner, Consumer<TaskResult> watcher,
      Consumer<TaskProgress> progress) {
    List<Runnable> effects = new ArrayList<>();
    lock.lock();
    try {
      // The journal first: a master that cannot write must not answer DUPLICATE_TASK_ID to the retry of a put it
      // holds only in memory, as if that put had landed.
      log.checkWritable();
      checkPut(tasks);
      // Most puts are one task, or many for one queue: the set is made only when a second queue shows up.
      TaskQueue onlyQueue = null;
      Set<TaskQueue> touched = null;
      long tickerNow = ticker.nanos();
      long wallNow = wallClock.millis();
      for (TaskMessage message : tasks) {
        StoredTask task = new StoredTask(message);
        live.put(message.id(), task);
        taskBytes += heldSize(message);
        holdKey(task);
        log.append(new EngineChange.Put(message));
        if (watcher != null) {
          List<ResultWaiter> waiting = new ArrayList<>(1);
          waiting.add(new ResultWaiter(owner, watcher, progress));
          resultWaiters.put(message.id(), waiting);
        }
        long runAt = message.options().runAtEpochMillis();
        if (runAt > wallNow) {
          // A start time is wall-clock by nature; it is turned into a monotonic deadline once, here.
          delay(task, tickerNow + TimeUnit.MILLISECONDS.toNanos(runAt - wallNow));
          continue;
        }
        TaskQueue queue = queue(message.queue());
        queue.ready.addLast(task);
        if (onlyQueue == null) {
          onlyQueue = queue;
        } else if (queue != onlyQueue) {
          if (touched == null) {
            touched = new HashSet<>();
          }
          touched.add(queue);
        }
      }
      if (onlyQueue != null) {
        dispatch(onlyQueue, effects);
      }
      if (touched != null) {
        for (TaskQueue queue : touched) {
          dispatch(queue, effects);
        }
      }
    } finally {
      lock.unlock();
    }
    effects.forEach(Runnable::run);
  }

  private void checkPut(List<TaskMessage> tasks) {
    long incoming = 0;
    for (TaskMessage message : tasks) {
      incoming += heldSize(message);
    }
    long held = taskBytes + results.bytes();
    if (held + incoming > settings.maxHeldBytes()) {
      throw new EngineException(EngineException.Reason.BUSY, "the master holds " + mebibytes(held) + " of pending "
          + "tasks and results and its limit is " + mebibytes(settings.maxHeldBytes()) + " (--max-memory); this put "
          + "of " + mebibytes(incoming) + " must wait: add workers, or retry later");
    }
    long now = ticker.nanos();
    // A put of one task (the common case) needs no sets to find duplicates within itself.
    boolean many = tasks.size() > 1;
    Map<String, Integer> added = many ? new HashMap<>() : null;
    Set<String> ids = many ? new HashSet<>() : null;
    Set<String> keys = many ? new HashSet<>() : null;
    for (TaskMessage message : tasks) {
      if ((many && !ids.add(message.id())) || live.containsKey(message.id()) || results.contains(message.id(), now)
          || deadIds.contains(message.id())) {
        throw new EngineException(EngineException.Reason.DUPLICATE_TASK_ID, "task id " + message.id()
            + " is already known to the master; every task needs a fresh id");
      }
      String key = message.options().uniqueKey();
      if (!key.isEmpty() && (uniqueKeys.containsKey(key) || (many && !keys.add(key)))) {
        throw new EngineException(EngineException.Reason.DUPLICATE_UNIQUE_KEY, "unique key '" + key
            + "' belongs to task " + uniqueKeys.getOrDefault(key, "in the same put") + ", which is still pending");
      }
      int count = many ? added.merge(message.queue(), 1, Integer::sum) : 1;
      TaskQueue queue = queues.get(message.queue());
      int length = (queue == null ? 0 : queue.ready.size()) + count;
      if (length > settings.maxQueueLength()) {
        throw new EngineException(EngineException.Reason.BUSY, "queue '" + message.queue() + "' holds "
            + (length - count) + " ready tasks and its limit is " + settings.maxQueueLength()
            + "; add workers or retry later");
      }
    }
  }

  /**
   * Leases up to {@code max} ready tasks from {@code queue} for {@code owner}. When tasks are ready, {@code
   * callback} receives them before this returns and the result is null. Otherwise, if {@code wait} is true, the
   * request waits and the returned waiter must be cancelled at its deadline; if not, the callback receives an
   * empty list.
   */
  public LeaseWaiter lease(long owner, String queueName, int max, boolean wait, Consumer<List<Delivery>> callback) {
    return lease(owner, queueName, max, Long.MAX_VALUE, wait, callback);
  }

  /**
   * As {@link #lease(long, String, int, boolean, Consumer)}, handing out no more than {@code maxBytes} of payload at
   * once (but always at least one task), so that a network front end's answer fits its frame limit.
   */
  public LeaseWaiter lease(
      long owner, String queueName, int max, long maxBytes, boolean wait, Consumer<List<Delivery>> callback) {
    if (max < 1) {
      throw new EngineException(EngineException.Reason.INVALID_ARGUMENT,
          "a lease must ask for at least 1 task, asked for " + max);
    }
    List<Delivery> deliveries;
    LeaseWaiter waiter = null;
    lock.lock();
    try {
      TaskQueue queue = queue(queueName);
      deliveries = take(queue, owner, max, maxBytes);
      if (deliveries.isEmpty() && wait) {
        waiter = new LeaseWaiter(owner, queueName, max, maxBytes, callback);
        queue.waiters.addLast(waiter);
      } else {
        forgetIfIdle(queueName, queue);
      }
    } finally {
      lock.unlock();
    }
    if (waiter == null) {
      callback.accept(deliveries);
    }
    return waiter;
  }

  /** Ends a waiting lease request with no tasks, unless it was answered already. */
  public void cancel(LeaseWaiter waiter) {
    lock.lock();
    try {
      if (waiter.done) {
        return;
      }
      waiter.done = true;
      TaskQueue queue = queues.get(waiter.queue);
      if (queue != null) {
        queue.waiters.remove(waiter);
        forgetIfIdle(waiter.queue, queue);
      }
    } finally {
      lock.unlock();
    }
    waiter.callback.accept(List.of());
  }

  /** Settles leases held by {@code owner}; each gets its own status. */
  public List<SettleStatus> settle(long owner, List<Settlement> settlements) {
    List<Runnable> effects = new ArrayList<>();
    List<SettleStatus> statuses = new ArrayList<>(settlements.size());
    List<StoredTask> released = new ArrayList<>();
    lock.lock();
    try {
      long now = ticker.nanos();
      for (Settlement settlement : settlements) {
        StoredTask task = leases.get(settlement.leaseId());
        if (task == null || task.leaseOwner != owner) {
          statuses.add(SettleStatus.UNKNOWN_LEASE);
          continue;
        }
        leases.remove(settlement.leaseId());
        statuses.add(SettleStatus.OK);
        if (task.cancelRequested && !(settlement instanceof Settlement.Ack)) {
          // It stopped as asked (or was given back): it ends here, as cancelled.
          String workerId = settlement instanceof Settlement.Fail fail ? fail.error().workerId() : "";
          finishCancelled(task, workerId, now, effects);
          continue;
        }
        if (settlement instanceof Settlement.Release) {
          // Given back untried (a worker shutting down, a lease that arrived too late): not an attempt.
          task.deliveries--;
          log.append(new EngineChange.Returned(task.message.id(), task.deliveries, null, 0));
          released.add(task);
          continue;
        }
        if (settlement instanceof Settlement.Fail fail) {
          task.recordError(fail.error());
          if (task.deliveries < attemptsAllowed(task)) {
            scheduleRetry(task, now);
          } else {
            deadLetter(task, now, effects);
          }
          continue;
        }
        forget(task);
        TaskResult result = TaskResult.success(task.message.id(), ((Settlement.Ack) settlement).result());
        log.append(new EngineChange.Done(task.message.id(), keeps(result) ? result : null, wallClock.millis()));
        complete(result, now, effects);
      }
      returnToHead(released, effects);
    } finally {
      lock.unlock();
    }
    effects.forEach(Runnable::run);
    return statuses;
  }

  /** A raw queue item (acknowledged with no value) leaves no result behind. */
  private static boolean keeps(TaskResult result) {
    return !(result.succeeded() && result.value() == null);
  }

  private void complete(TaskResult result, long now, List<Runnable> effects) {
    if (keeps(result)) {
      results.add(result, now);
    }
    List<ResultWaiter> waiting = resultWaiters.remove(result.taskId());
    if (waiting != null) {
      for (ResultWaiter waiter : waiting) {
        effects.add(() -> waiter.callback.accept(result));
      }
    }
  }

  /**
   * Extends leases held by {@code owner} by the lease timeout, counted from now. A lease that expired, was settled
   * or belongs to another owner answers UNKNOWN_LEASE.
   */
  public List<SettleStatus> extend(long owner, List<Long> leaseIds) {
    List<SettleStatus> statuses = new ArrayList<>(leaseIds.size());
    lock.lock();
    try {
      long now = ticker.nanos();
      for (long leaseId : leaseIds) {
        StoredTask task = leases.get(leaseId);
        if (task == null || task.leaseOwner != owner) {
          statuses.add(SettleStatus.UNKNOWN_LEASE);
          continue;
        }
        long deadline = now + queue(task.message.queue()).visibilityNanos;
        task.leaseDeadlineNanos = deadline;
        addExpiry(new Expiry(deadline, leaseId));
        statuses.add(SettleStatus.OK);
      }
    } finally {
      lock.unlock();
    }
    return statuses;
  }

  /**
   * Settled leases leave their entries behind until their deadline; when those outnumber the live leases, the
   * queue is rebuilt from the live ones, so its size follows the leases held, not the lease rate.
   */
  private void addExpiry(Expiry expiry) {
    expiries.add(expiry);
    if (expiries.size() > 2L * leases.size() + 4096) {
      expiries.clear();
      leases.forEach((leaseId, task) -> expiries.add(new Expiry(task.leaseDeadlineNanos, leaseId)));
    }
  }

  /**
   * Returns every lease whose deadline has passed to the head of its queue, for another consumer; the late
   * consumer's settlement will be refused. Called by the lease reaper; returns the ids of the tasks whose lease
   * expired, oldest deadline first.
   */
  public List<String> expireLeases() {
    List<Runnable> effects = new ArrayList<>();
    List<String> expiredIds = new ArrayList<>();
    lock.lock();
    try {
      long now = ticker.nanos();
      Map<String, List<StoredTask>> expiredByQueue = new java.util.LinkedHashMap<>();
      while (!expiries.isEmpty() && expiries.peek().deadlineNanos - now <= 0) {
        Expiry expiry = expiries.poll();
        StoredTask task = leases.get(expiry.leaseId);
        if (task != null && task.leaseDeadlineNanos == expiry.deadlineNanos) {
          leases.remove(expiry.leaseId);
          expiredByQueue.computeIfAbsent(task.message.queue(), q -> new ArrayList<>()).add(task);
          expiredIds.add(task.message.id());
        }
      }
      expiredByQueue.forEach((queueName, expired) -> returnLost(expired, TaskError.of("io.taskmaster.LeaseExpired",
          "the lease ran out after " + TimeUnit.NANOSECONDS.toMillis(queue(queueName).visibilityNanos)
              + " ms without being settled or extended", ""), now, effects));
    } finally {
      lock.unlock();
    }
    effects.forEach(Runnable::run);
    return expiredIds;
  }

  /**
   * Calls {@code callback} with the task's result once it is settled (at once if it is). Throws UNKNOWN_TASK for a
   * task that was never put or whose result expired.
   */
  public void awaitResult(long owner, String taskId, Consumer<TaskResult> callback) {
    awaitResult(owner, taskId, callback, null);
  }

  /** As {@link #awaitResult(long, String, Consumer)}, passing the task's progress reports to {@code progress}. */
  public void awaitResult(long owner, String taskId, Consumer<TaskResult> callback, Consumer<TaskProgress> progress) {
    TaskResult ready;
    lock.lock();
    try {
      ready = results.get(taskId, ticker.nanos());
      if (ready == null) {
        if (!live.containsKey(taskId)) {
          throw new EngineException(EngineException.Reason.UNKNOWN_TASK, "task " + taskId + " is unknown to the "
              + "master: it was never put, its result expired, or the master restarted without a data directory");
        }
        resultWaiters.computeIfAbsent(taskId, id -> new ArrayList<>(1))
            .add(new ResultWaiter(owner, callback, progress));
        return;
      }
    } finally {
      lock.unlock();
    }
    callback.accept(ready);
  }

  /**
   * Passes a progress report from the holder of a lease to those waiting for the task's result. Nothing is stored or
   * journaled: a report only matters until the next. UNKNOWN_LEASE for a lease the owner does not hold.
   */
  public SettleStatus progress(long owner, long leaseId, long done, long total, String message) {
    List<Consumer<TaskProgress>> listeners = new ArrayList<>();
    TaskProgress report;
    lock.lock();
    try {
      StoredTask task = leases.get(leaseId);
      if (task == null || task.leaseOwner != owner) {
        return SettleStatus.UNKNOWN_LEASE;
      }
      report = new TaskProgress(task.message.id(), done, total, message);
      List<ResultWaiter> waiting = resultWaiters.get(task.message.id());
      if (waiting != null) {
        waiting.stream().map(ResultWaiter::progress).filter(java.util.Objects::nonNull).forEach(listeners::add);
      }
    } finally {
      lock.unlock();
    }
    listeners.forEach(listener -> listener.accept(report));
    return SettleStatus.OK;
  }

  /** The number of ready tasks in a queue. */
  public long size(String queueName) {
    lock.lock();
    try {
      TaskQueue queue = queues.get(queueName);
      return queue == null ? 0 : queue.ready.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The owner went away (its connection dropped or its broker closed): its leases go back to the head of their
   * queues for other consumers, and its waits are dropped. {@code ownerName} (what the client called itself, or
   * empty) is the worker of each task's WorkerLost error, so that its producer can tell whose crash it was. Returns
   * the ids of the tasks whose leases were returned, in the order they were leased.
   */
  public List<String> disconnect(long owner, String ownerName) {
    List<Runnable> effects = new ArrayList<>();
    List<String> returned = new ArrayList<>();
    lock.lock();
    try {
      List<StoredTask> owned = new ArrayList<>();
      for (Iterator<StoredTask> it = leases.values().iterator(); it.hasNext(); ) {
        StoredTask task = it.next();
        if (task.leaseOwner == owner) {
          it.remove();
          owned.add(task);
        }
      }
      owned.sort(Comparator.comparingLong(task -> task.leaseId));
      owned.forEach(task -> returned.add(task.message.id()));
      for (TaskQueue queue : queues.values()) {
        for (Iterator<LeaseWaiter> it = queue.waiters.iterator(); it.hasNext(); ) {
          LeaseWaiter waiter = it.next();
          if (waiter.owner == owner) {
            waiter.done = true;
            it.remove();
          }
        }
      }
      stopRequests.remove(owner);
      resultWaiters.values().forEach(list -> list.removeIf(waiter -> waiter.owner == owner));
      resultWaiters.values().removeIf(List::isEmpty);
      returnLost(owned, TaskError.of("io.taskmaster.WorkerLost", "the worker's connection closed before it settled "
          + "the task", ownerName), ticker.nanos(), effects);
      queues.values().removeIf(TaskQueue::idle);
    } finally {
      lock.unlock();
    }
    effects.forEach(Runnable::run);
    return returned;
  }

  /**
   * The master is stopping in order: every lease goes back to the head of its queue untried (not counted as an
   * attempt: the worker did nothing wrong), so that the next master hands it out at once. Settlements that arrive
   * later are refused as for an expired lease. Returns how many leases were returned.
   */
  public int returnAllLeases() {
    List<Runnable> effects = new ArrayList<>();
    List<StoredTask> returned;
    lock.lock();
    try {
      // Waiting lease requests come from connections about to close: they must not take the returned tasks.
      for (TaskQueue queue : queues.values()) {
        queue.waiters.forEach(waiter -> waiter.done = true);
        queue.waiters.clear();
      }
      returned = new ArrayList<>(leases.values());
      returned.sort(Comparator.comparingLong(task -> task.leaseId));
      leases.clear();
      long now = ticker.nanos();
      for (StoredTask task : returned) {
        if (task.cancelRequested) {
          finishCancelled(task, "", now, effects);
        }
      }
      returned.removeIf(task -> task.cancelRequested);
      for (StoredTask task : returned) {
        task.deliveries--;
        log.append(new EngineChange.Returned(task.message.id(), task.deliveries, null, 0));
      }
      returnToHead(returned, effects);
      queues.values().removeIf(TaskQueue::idle);
    } finally {
      lock.unlock();
    }
    effects.forEach(Runnable::run);
    return returned.size();
  }

  /** Counts for logs, the CLI and metrics. */
  public EngineStats stats() {
    lock.lock();
    try {
      long ready = 0;
      long waiting = 0;
      long dead = 0;
      for (TaskQueue queue : queues.values()) {
        ready += queue.ready.size();
        waiting += queue.waiters.size();
        dead += queue.dead.size();
      }
      return new EngineStats(queues.size(), ready, leases.size(), waiting, results.size(), delayed.size(), dead,
          taskBytes + results.bytes());

    } finally {
      lock.unlock();
    }
  }

  /**
   * Tasks whose consumer went away or whose lease ran out: each such loss counts as an attempt, so a task that kills
   * every worker it reaches (a poison task) is dead-lettered after its last attempt instead of looping forever. The
   * others go back to the head of their queues at once.
   */
  private void returnLost(List<StoredTask> tasks, TaskError why, long now, List<Runnable> effects) {
    List<StoredTask> again = new ArrayList<>(tasks.size());
    for (StoredTask task : tasks) {
      if (task.cancelRequested) {
        finishCancelled(task, "", now, effects);
        continue;
      }
      task.recordError(why);
      if (task.deliveries < attemptsAllowed(task)) {
        log.append(new EngineChange.Returned(task.message.id(), task.deliveries, why, 0));
        again.add(task);
      } else {
        deadLetter(task, now, effects);
      }
    }
    returnToHead(again, effects);
  }

  private void holdKey(StoredTask task) {
    String key = task.message.options().uniqueKey();
    if (!key.isEmpty()) {
      uniqueKeys.putIfAbsent(key, task.message.id());
    }
  }

  /** The task is settled for good: it is no longer pending, and its unique key is free again. */
  private void forget(StoredTask task) {
    live.remove(task.message.id());
    taskBytes -= heldSize(task.message);
    String key = task.message.options().uniqueKey();
    if (!key.isEmpty()) {
      uniqueKeys.remove(key, task.message.id());
    }
  }

  /**
   * Has {@code listener} called with the lease id of each task {@code owner} holds whose producer cancels it, so
   * that its worker stops the handler. The listener is dropped when the owner disconnects. A task held by an owner
   * without one cannot be stopped ({@link CancelOutcome#RUNNING}).
   */
  public void onCancelRequested(long owner, java.util.function.LongConsumer listener) {
    lock.lock();
    try {
      stopRequests.put(owner, listener);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Cancels a task. One that has not started (ready, or waiting for its start time or a retry) is done at once: its
   * waiters get a TaskCancelled failure. One that is leased is marked so that it never runs again, and its owner
   * is asked to stop it; it ends as cancelled when its worker fails or gives it back, or loses it.
   */
  public CancelOutcome cancel(String taskId) {
    List<Runnable> effects = new ArrayList<>();
    lock.lock();
    try {
      StoredTask task = live.get(taskId);
      if (task == null) {
        return CancelOutcome.NOT_FOUND;
      }
      if (task.leaseId != 0) {
        java.util.function.LongConsumer stopper = stopRequests.get(task.leaseOwner);
        if (stopper == null) {
          return CancelOutcome.RUNNING;
        }
        if (!task.cancelRequested) {
          task.cancelRequested = true;
          log.append(new EngineChange.CancelRequested(taskId));
        }
        long leaseId = task.leaseId;
        effects.add(() -> stopper.accept(leaseId));
        return CancelOutcome.STOPPING;
      }
      if (task.delayed) {
        task.delayed = false;
        delayed.remove(task);
      } else {
        queue(task.message.queue()).ready.remove(task);
      }
      forget(task);
      TaskResult cancelled = TaskResult.failure(taskId, TaskError.of("io.taskmaster.TaskCancelled",
          "the task was cancelled before it started", ""));
      log.append(new EngineChange.Done(taskId, cancelled, wallClock.millis()));
      complete(cancelled, ticker.nanos(), effects);
    } finally {
      lock.unlock();
      effects.forEach(Runnable::run);
    }
    return CancelOutcome.CANCELLED;
  }

  /** A task cancelled while it was leased ends: its waiters get a TaskCancelled failure. */
  private void finishCancelled(StoredTask task, String workerId, long now, List<Runnable> effects) {
    int attempt = task.deliveries;
    task.makeReady();
    forget(task);
    TaskResult cancelled = TaskResult.failure(task.message.id(), TaskError.of("io.taskmaster.TaskCancelled",
        "the task was cancelled while it ran (attempt " + attempt + ")", workerId));
    log.append(new EngineChange.Done(task.message.id(), cancelled, wallClock.millis()));
    complete(cancelled, now, effects);
  }

  private int attemptsAllowed(StoredTask task) {
    int own = task.message.options().maxAttempts();
    return own > 0 ? own : settings.maxAttempts();
  }

  /** Waits out the backoff of the attempt that just failed: about base x 2^(attempt-1), capped, with jitter. */
  private void scheduleRetry(StoredTask task, long now) {
    long base = settings.retryBackoff().toNanos();
    long max = settings.maxRetryBackoff().toNanos();
    int doublings = Math.min(task.deliveries - 1, 62);
    long ceiling = base > (max >> doublings) ? max : Math.min(max, base << doublings); // saturates, never overflows
    task.makeReady();
    long wait = ThreadLocalRandom.current().nextLong(ceiling / 2, ceiling + 1);
    log.append(new EngineChange.Returned(task.message.id(), task.deliveries, task.errors.get(task.errors.size() - 1),
        wallClock.millis() + Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait))));
    delay(task, now + wait);
  }

  private void delay(StoredTask task, long notBeforeNanos) {
    task.notBeforeNanos = notBeforeNanos;
    task.delayed = true;
    delayed.add(task);
  }

  private void deadLetter(StoredTask task, long now, List<Runnable> effects) {
    task.makeReady();
    forget(task);
    DeadLetter letter = new DeadLetter(task.message, task.errors, wallClock.instant());
    queue(task.message.queue()).dead.addLast(letter);
    taskBytes += deadSize(letter);
    deadIds.add(task.message.id());
    List<TaskError> errors = task.errors;
    log.append(new EngineChange.Dead(task.message.id(), errors.get(errors.size() - 1), wallClock.millis()));
    complete(TaskResult.failure(task.message.id(), errors.get(errors.size() - 1)), now, effects);
  }

  /**
   * Moves tasks whose start time came, or whose retry backoff is over, to the tail of their queues; returns their
   * ids.
   */
  public List<String> promoteDue() {
    List<Runnable> effects = new ArrayList<>();
    List<String> promoted = new ArrayList<>();
    lock.lock();
    try {
      long now = ticker.nanos();
      Set<TaskQueue> touched = new HashSet<>();
      while (!delayed.isEmpty() && delayed.peek().notBeforeNanos - now <= 0) {
        StoredTask task = delayed.poll();
        task.delayed = false;
        TaskQueue queue = queue(task.message.queue());
        queue.ready.addLast(task);
        touched.add(queue);
        promoted.add(task.message.id());
      }
      for (TaskQueue queue : touched) {
        dispatch(queue, effects);
      }
    } finally {
      lock.unlock();
    }
    effects.forEach(Runnable::run);
    return promoted;
  }

  /**
   * Loads a replayed journal into this new engine. Tasks that were leased when the master stopped lost that
   * delivery: it counts as an attempt (a task that crashes the master is dead-lettered in the end, not replayed
   * forever) and they are ready again at once, or dead when it was their last attempt. Those outcomes are logged.
   */
  public void restore(RecoveredState state) {
    List<Runnable> effects = new ArrayList<>();
    lock.lock();
    try {
      if (!live.isEmpty() || !deadIds.isEmpty() || results.size() > 0) {
        throw new IllegalStateException("a journal can only be restored into a new engine");
      }
      long now = ticker.nanos();
      long wallNow = wallClock.millis();
      List<StoredTask> lost = new ArrayList<>();
      for (RecoveredState.PendingTask pending : state.pending()) {
        StoredTask task = new StoredTask(pending.task());
        task.deliveries = pending.deliveries();
        if (!pending.errors().isEmpty()) {
          task.errors = new ArrayList<>(pending.errors());
        }
        live.put(pending.task().id(), task);
        taskBytes += heldSize(pending.task());
        holdKey(task);
        task.cancelRequested = pending.cancelRequested();
        if (pending.leased()) {
          lost.add(task);
        } else if (pending.runAtEpochMillis() > wallNow) {
          delay(task, now + TimeUnit.MILLISECONDS.toNanos(pending.runAtEpochMillis() - wallNow));
        } else {
          queue(pending.task().queue()).ready.addLast(task);
        }
      }
      for (DeadLetter dead : state.dead()) {
        queue(dead.task().queue()).dead.addLast(dead);
        deadIds.add(dead.task().id());
        taskBytes += deadSize(dead);
      }
      long ttlMillis = settings.resultTtl().toMillis();
      for (RecoveredState.StoredResult stored : state.results()) {
        long ageMillis = Math.max(0, wallNow - stored.storedAtEpochMillis());
        if (ageMillis < ttlMillis) {
          results.add(stored.result(), now - TimeUnit.MILLISECONDS.toNanos(ageMillis));
        }
      }
      returnLost(lost, TaskError.of("io.taskmaster.MasterRestarted", "the master stopped while the task was "
          + "leased; that delivery counts as an attempt", ""), now, effects);
    } finally {
      lock.unlock();
    }
    effects.forEach(Runnable::run);
  }

  /**
   * Writes the whole state to the log as snapshot records, so that the log can drop everything before them. {@code
   * begin} runs under the lock before the first record (the journal starts a new segment there: every change made
   * after it lands after it). Pending tasks are written {@code chunk} at a time, each chunk under the lock, so
   * other commands go on meanwhile: a task changed before its snapshot is written is snapshot as it then is; one
   * changed after has its change logged after its snapshot. Returns the number of records written.
   */
  public long checkpoint(Runnable begin, int chunk) {
    List<String> pendingIds = new ArrayList<>();
    List<String> resultIds;
    long written = 0;
    lock.lock();
    try {
      begin.run();
      for (TaskQueue queue : queues.values()) {
        queue.ready.forEach(task -> pendingIds.add(task.message.id()));
        for (DeadLetter dead : queue.dead) {
          log.append(new EngineChange.DeadSnapshot(dead));
          written++;
        }
      }
      delayed.forEach(task -> pendingIds.add(task.message.id()));
      leases.values().forEach(task -> pendingIds.add(task.message.id()));
      resultIds = results.ids();
    } finally {
      lock.unlock();
    }
    for (int from = 0; from < pendingIds.size(); from += chunk) {
      lock.lock();
      try {
        long now = ticker.nanos();
        long wallNow = wallClock.millis();
        for (String id : pendingIds.subList(from, Math.min(pendingIds.size(), from + chunk))) {
          StoredTask task = live.get(id);
          if (task != null) {
            long runAt = task.delayed
                ? wallNow + Math.max(1, TimeUnit.NANOSECONDS.toMillis(task.notBeforeNanos - now)) : 0;
            log.append(new EngineChange.TaskSnapshot(task.message, task.deliveries,
                task.errors == null ? List.of() : List.copyOf(task.errors), runAt, task.leaseId != 0,
                task.cancelRequested));
            written++;
          }
        }
      } finally {
        lock.unlock();
      }
    }
    for (int from = 0; from < resultIds.size(); from += chunk) {
      lock.lock();
      try {
        long now = ticker.nanos();
        long wallNow = wallClock.millis();
        for (String id : resultIds.subList(from, Math.min(resultIds.size(), from + chunk))) {
          TaskResult result = results.get(id, now);
          if (result != null) {
            long ageMillis = TimeUnit.NANOSECONDS.toMillis(results.ageNanos(id, now));
            log.append(new EngineChange.ResultSnapshot(result, wallNow - ageMillis));
            written++;
          }
        }
      } finally {
        lock.unlock();
      }
    }
    return written;
  }

  /** A page of a queue's dead letters, oldest first. */
  public DeadLetters deadLetters(String queueName, int offset, int limit) {
    if (offset < 0 || limit < 0) {
      throw new EngineException(EngineException.Reason.INVALID_ARGUMENT,
          "offset and limit must not be negative, were " + offset + " and " + limit);
    }
    lock.lock();
    try {
      TaskQueue queue = queues.get(queueName);
      if (queue == null) {
        return new DeadLetters(0, List.of());
      }
      return new DeadLetters(queue.dead.size(), queue.dead.stream().skip(offset).limit(limit).toList());
    } finally {
      lock.unlock();
    }
  }

  /**
   * Puts dead letters back at the tail of their queue with fresh attempts: those named, or all when {@code taskIds}
   * is empty. A dead letter whose unique key another pending task holds meanwhile stays dead (it would be a
   * duplicate); the count returned leaves it out.
   */
  public long retryDeadLetters(String queueName, List<String> taskIds) {
    List<Runnable> effects = new ArrayList<>();
    long retried = 0;
    lock.lock();
    try {
      TaskQueue queue = queues.get(queueName);
      if (queue == null) {
        return 0;
      }
      Set<String> wanted = new HashSet<>(taskIds);
      for (Iterator<DeadLetter> it = queue.dead.iterator(); it.hasNext(); ) {
        DeadLetter dead = it.next();
        String id = dead.task().id();
        String key = dead.task().options().uniqueKey();
        boolean keyTaken = !key.isEmpty() && uniqueKeys.containsKey(key);
        if ((wanted.isEmpty() || wanted.contains(id)) && !keyTaken) {
          it.remove();
          deadIds.remove(id);
          taskBytes -= deadSize(dead);
          results.remove(id); // the dead letter's own failure: its id cannot have been reused meanwhile
          StoredTask task = new StoredTask(dead.task());
          taskBytes += heldSize(dead.task());
          log.append(new EngineChange.DeadRetried(id));
          live.put(id, task);
          holdKey(task);
          queue.ready.addLast(task);
          retried++;
        }
      }
      dispatch(queue, effects);
    } finally {
      lock.unlock();
    }
    effects.forEach(Runnable::run);
    return retried;
  }

  /** Deletes a queue's dead letters; returns how many. */
  public long purgeDeadLetters(String queueName) {
    lock.lock();
    try {
      TaskQueue queue = queues.get(queueName);
      if (queue == null) {
        return 0;
      }
      long purged = queue.dead.size();
      if (purged > 0) {
        log.append(new EngineChange.DeadPurged(queueName));
      }
      queue.dead.forEach(dead -> {
        deadIds.remove(dead.task().id());
        taskBytes -= deadSize(dead);
      });
      queue.dead.clear();
      forgetIfIdle(queueName, queue);
      return purged;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Puts tasks back at the head of their queues, keeping their relative order (the earliest delivered first), and
   * hands them to waiting consumers.
   */
  private void returnToHead(List<StoredTask> tasks, List<Runnable> effects) {
    Set<TaskQueue> touched = new HashSet<>();
    for (int i = tasks.size() - 1; i >= 0; i--) {
      StoredTask task = tasks.get(i);
      task.makeReady();
      TaskQueue queue = queue(task.message.queue());
      queue.ready.addFirst(task);
      touched.add(queue);
    }
    for (TaskQueue queue : touched) {
      dispatch(queue, effects);
    }
  }

  /** An upper bound of a task's size in a LEASED frame: UTF-8 takes at most 3 bytes per char. */
  private static long wireSize(TaskMessage message) {
    long size = 32L + message.payload().length
        + 3L * (message.id().length() + message.queue().length() + message.type().length());
    for (Map.Entry<String, String> header : message.headers().entrySet()) {
      size += 4 + 3L * (header.getKey().length() + header.getValue().length());
    }
    return size;
  }

  /**
   * An estimate of the heap a pending task takes: its bytes, and the objects that hold it (its record, strings, map
   * and queue entries), which dominate for small tasks.
   */
  private static long heldSize(TaskMessage message) {
    return wireSize(message) + 320;
  }

  private static long deadSize(DeadLetter dead) {
    long size = heldSize(dead.task());
    for (TaskError error : dead.attempts()) {
      size += 64 + 2L * (error.type().length() + error.message().length() + error.stackTrace().length()
          + error.workerId().length());
    }
    return size;
  }

  private static String mebibytes(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }

  private TaskQueue queue(String name) {
    return queues.computeIfAbsent(name, n -> new TaskQueue(settings.visibilityTimeout(n)));
  }

  /**
   * Drops a queue that holds nothing, so that the names clients merely asked about (a LEASE on every name a client
   * can think of) take no memory; leased and delayed tasks find their queue again by name.
   */
  private void forgetIfIdle(String name, TaskQueue queue) {
    if (queue.idle()) {
      queues.remove(name, queue);
    }
  }

  /** Hands ready tasks to waiting consumers, oldest waiter first. */
  private void dispatch(TaskQueue queue, List<Runnable> effects) {
    while (!queue.ready.isEmpty() && !queue.waiters.isEmpty()) {
      LeaseWaiter waiter = queue.waiters.pollFirst();
      waiter.done = true;
      List<Delivery> deliveries = take(queue, waiter.owner, waiter.max, waiter.maxBytes);
      effects.add(() -> waiter.callback.accept(deliveries));
    }
  }

  private List<Delivery> take(TaskQueue queue, long owner, int max, long maxBytes) {
    int count = Math.min(max, queue.ready.size());
    if (count == 0) {
      return List.of();
    }
    long deadline = ticker.nanos() + queue.visibilityNanos;
    List<Delivery> deliveries = new ArrayList<>(count);
    long bytes = 0;
    for (int i = 0; i < count; i++) {
      bytes += wireSize(queue.ready.peekFirst().message);
      if (i > 0 && bytes > maxBytes) {
        break;
      }
      StoredTask task = queue.ready.pollFirst();
      long leaseId = ++lastLeaseId;
      leases.put(leaseId, task);
      addExpiry(new Expiry(deadline, leaseId));
      deliveries.add(task.deliver(leaseId, owner, deadline, TimeUnit.NANOSECONDS.toMillis(queue.visibilityNanos)));
      log.append(new EngineChange.Leased(task.message.id(), task.deliveries));
    }
    return deliveries;
  }
}
