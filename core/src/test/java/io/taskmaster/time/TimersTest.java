package io.taskmaster.time;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TimersTest {

  @Test
  void cancelledDeadlinesDoNotStayQueuedUntilTheyWouldHaveBeenDue() {
    ScheduledExecutorService timer = Timers.singleThread(Thread::new);
    try {
      List<ScheduledFuture<?>> deadlines = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        deadlines.add(timer.schedule(() -> { }, 1, TimeUnit.HOURS));
      }
      ScheduledFuture<?> kept = timer.schedule(() -> { }, 1, TimeUnit.HOURS);
      deadlines.forEach(deadline -> deadline.cancel(false));

      assertThat(((ScheduledThreadPoolExecutor) timer).getQueue()).containsExactly((Runnable) kept);
    } finally {
      timer.shutdownNow();
    }
  }
}
