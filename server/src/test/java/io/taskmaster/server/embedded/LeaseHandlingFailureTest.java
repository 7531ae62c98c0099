package io.taskmaster.server.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.Delivery;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.task.TaskType;
import io.taskmaster.time.Ticker;
import io.taskmaster.worker.Worker;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.AbstractList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A broker that misbehaves once, in the ways a buggy or failing broker can: the worker must keep taking tasks with
 * every slot it has. Each of these used to stop a worker with concurrency 1 for good, without a word.
 */
class LeaseHandlingFailureTest {
  private static final TaskType<Integer, Integer> SQUARE = TaskType.of("square", Integer.class, Integer.class);
  private static final String QUEUE = "faulty";
  private static final EngineSettings NO_EXPIRY = EngineSettings.defaults().withVisibilityTimeout(Duration.ofHours(1));

  @Test
  void aWorkerGivesBackTasksItDidNotAskForAndKeepsLeasing() throws Exception {
    // The first lease asks for 1 and gets 2: the worker's slot count went wrong and it never leased again.
    assertEveryTaskIsDoneDespite(real -> onFirst(real, "lease", (method, args) -> {
      args[1] = (Integer) args[1] + 1;
      return method.invoke(real, args);
    }));
  }

  @Test
  void aWorkerWhoseLeaseHandlingFailsGetsItsSlotsBackAndGivesBackTheTasks() throws Exception {
    // Handling the first lease throws half-way (a bug): its slot was lost and its task stayed leased.
    assertEveryTaskIsDoneDespite(real -> onFirst(real, "lease", (method, args) ->
        ((CompletableFuture<?>) method.invoke(real, args)).thenApply(leased -> failingOnFirstGet((List<?>) leased))));
  }

  @Test
  void aLeaseRequestThatThrowsInsteadOfFailingIsRetried() throws Exception {
    // A synchronous throw left the leaser in flight and its slots drained.
    assertEveryTaskIsDoneDespite(real -> onFirst(real, "lease", (method, args) -> {
      throw new IllegalStateException("a broker bug");
    }));
  }

  @Test
  void aSettleThatThrowsInsteadOfFailingDoesNotStopTheWorker() throws Exception {
    QueueEngine engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
    try (EmbeddedBroker workerSide = new EmbeddedBroker(engine, "worker");
        EmbeddedBroker producerSide = new EmbeddedBroker(engine, "producer")) {
      Producer producer = Producer.on(producerSide);
      List<TaskHandle<Integer>> handles = producer.submitAll(SQUARE, List.of(2, 3), SubmitOptions.queue(QUEUE));
      Broker faulty = onFirst(workerSide, "settle", (method, args) -> {
        throw new IllegalStateException("a broker bug");
      });
      try (Worker worker = Worker.builder(faulty).id("w").queue(QUEUE).concurrency(1).handle(SQUARE, n -> n * n)
          .start()) {
        // The first outcome is lost (its task comes back when its lease expires); it used to kill the task thread
        // with the slot it held, so the second task never started.
        assertThat(handles.get(1).result()).succeedsWithin(Duration.ofSeconds(30)).isEqualTo(9);
      }
    }
  }

  @Test
  void anExtensionThatThrowsDoesNotStopTheLeasesBeingKeptAlive() throws Exception {
    EngineSettings shortLeases = EngineSettings.defaults().withVisibilityTimeout(Duration.ofMillis(1500));
    QueueEngine engine = new QueueEngine(shortLeases, Ticker.system());
    CountDownLatch extendedAfterTheThrow = new CountDownLatch(1);
    AtomicInteger extensions = new AtomicInteger();
    AtomicInteger runs = new AtomicInteger();
    try (EmbeddedBroker workerSide = new EmbeddedBroker(engine, "worker");
        EmbeddedBroker producerSide = new EmbeddedBroker(engine, "producer")) {
      Broker faulty = intercept(workerSide, "extend", (method, args) -> {
        if (extensions.incrementAndGet() == 1) {
          throw new IllegalStateException("a broker bug");
        }
        Object extended = method.invoke(workerSide, args);
        extendedAfterTheThrow.countDown();
        return extended;
      });
      TaskType<Integer, Boolean> outlive = TaskType.of("outlive", Integer.class, Boolean.class);
      try (Worker worker = Worker.builder(faulty).id("w").queue(QUEUE).concurrency(1)
          .handle(outlive, n -> runs.incrementAndGet() == 1 && extendedAfterTheThrow.await(30, TimeUnit.SECONDS))
          .start()) {
        TaskHandle<Boolean> handle = Producer.on(producerSide).submit(outlive, 1, SubmitOptions.queue(QUEUE));
        // The periodic check died with the throw: no lease in hand was extended again.
        assertThat(handle.result()).succeedsWithin(Duration.ofSeconds(40)).isEqualTo(true);
        assertThat(runs).as("runs of the task: its lease must not have expired").hasValue(1);
      }
    }
  }

  @Test
  void aHandlerThatThrowsAVirtualMachineErrorFailsItsTaskAndTheTasksBehindItGoBack() throws Exception {
    QueueEngine engine = new QueueEngine(NO_EXPIRY, Ticker.system());
    try (EmbeddedBroker workerSide = new EmbeddedBroker(engine, "worker");
        EmbeddedBroker producerSide = new EmbeddedBroker(engine, "producer")) {
      // One lease brings all three, run in turn on one thread: the first takes the thread down with it.
      List<TaskHandle<Integer>> handles = Producer.on(producerSide).submitAll(SQUARE, List.of(0, 3, 4),
          SubmitOptions.queue(QUEUE).maxAttempts(1));
      try (Worker worker = Worker.builder(workerSide).id("w").queue(QUEUE).concurrency(1).prefetch(2)
          .handle(SQUARE, n -> {
            if (n == 0) {
              throw new InternalError("the JVM is in trouble");
            }
            return n * n;
          }).start()) {
        // The run's thread died with the error and nothing settled its tasks or gave their slots back.
        assertThat(handles.get(0).result()).failsWithin(Duration.ofSeconds(30)).withThrowableThat()
            .withMessageContaining("InternalError");
        assertThat(handles.get(1).result()).succeedsWithin(Duration.ofSeconds(30)).isEqualTo(9);
        assertThat(handles.get(2).result()).succeedsWithin(Duration.ofSeconds(30)).isEqualTo(16);
      }
    }
  }

  private static void assertEveryTaskIsDoneDespite(java.util.function.UnaryOperator<Broker> fault) throws Exception {
    // Leases never expire here: a task the worker fails to give back stays lost, and the test fails.
    QueueEngine engine = new QueueEngine(NO_EXPIRY, Ticker.system());
    try (EmbeddedBroker workerSide = new EmbeddedBroker(engine, "worker");
        EmbeddedBroker producerSide = new EmbeddedBroker(engine, "producer")) {
      Producer producer = Producer.on(producerSide);
      List<TaskHandle<Integer>> handles = producer.submitAll(SQUARE, List.of(2, 3, 4), SubmitOptions.queue(QUEUE));
      try (Worker worker = Worker.builder(fault.apply(workerSide)).id("w").queue(QUEUE).concurrency(1)
          .handle(SQUARE, n -> n * n).start()) {
        for (int i = 0; i < handles.size(); i++) {
          assertThat(handles.get(i).result()).succeedsWithin(Duration.ofSeconds(30)).isEqualTo((i + 2) * (i + 2));
        }
      }
    }
  }

  /** What a faulty broker does instead of one call. */
  private interface Fault {
    Object call(Method method, Object[] args) throws Throwable;
  }

  /** The broker, with the first call of {@code methodName} replaced by {@code fault}. */
  private static Broker onFirst(Broker real, String methodName, Fault fault) {
    AtomicBoolean first = new AtomicBoolean(true);
    return intercept(real, methodName, (method, args) ->
        first.compareAndSet(true, false) ? fault.call(method, args) : method.invoke(real, args));
  }

  /** The broker, with every call of {@code methodName} going to {@code fault}. */
  private static Broker intercept(Broker real, String methodName, Fault fault) {
    return (Broker) Proxy.newProxyInstance(Broker.class.getClassLoader(), new Class<?>[] {Broker.class},
        (proxy, method, args) -> {
          try {
            return method.getName().equals(methodName) ? fault.call(method, args) : method.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  /** The leased tasks, as a list whose first element access throws, as a bug in handling them would. */
  @SuppressWarnings("unchecked")
  private static List<Delivery> failingOnFirstGet(List<?> leased) {
    AtomicBoolean first = new AtomicBoolean(true);
    return new AbstractList<>() {
      @Override
      public Delivery get(int index) {
        if (first.compareAndSet(true, false)) {
          throw new IllegalStateException("a bug in handling a lease");
        }
        return (Delivery) leased.get(index);
      }

      @Override
      public int size() {
        return leased.size();
      }

      @Override
      public Iterator<Delivery> iterator() {
        return ((List<Delivery>) leased).iterator();
      }
    };
  }
}
