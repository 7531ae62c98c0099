package io.taskmaster.bench.load;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/** How long this JVM's JIT compilers have worked, to tell when a warm-up is over. */
final class JitTime {
  private JitTime() {}

  /** Milliseconds of compilation so far (summed over compiler threads), or -1 where the JVM does not say. */
  static long millis() {
    CompilationMXBean compiler = ManagementFactory.getCompilationMXBean();
    return compiler != null && compiler.isCompilationTimeMonitoringSupported() ? compiler.getTotalCompilationTime()
        : -1;
  }
}
