package io.taskmaster.python;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.taskmaster.python.pickle.PickleRefusedException;
import io.taskmaster.python.pickle.SafeUnpickler;
import java.util.Map;
import net.razorvine.pickle.IObjectConstructor;

/**
 * A coverage-guided fuzz target for {@link SafeUnpickler}, run by Jazzer (reliability-tests.md row 26): whatever the
 * bytes, reading them returns a value or throws {@link PickleRefusedException}, within 1 s and without running out of
 * memory. The globals are those the managers port accepts in a request, and one class built as a {@code
 * PythonObject}, as in the replies the managers client reads.
 *
 * <p>In the normal build the target runs in regression mode, on the inputs committed under {@code
 * src/test/resources/io/taskmaster/python/UnpicklerFuzzTestInputs/pickles/} (none yet: then on an empty input), in
 * a JVM of its own (see python/pom.xml). Fuzzing, for a minute as on a pull request ({@code 30m} nightly), with
 * Pyrolite's opcode dispatch instrumented too so that the fuzzer learns the opcodes:
 *
 * <pre>
 * JAZZER_FUZZ=1 ./mvnw -pl python test -Dtest=UnpicklerFuzzTest -Djazzer.max_duration=60s \
 *     -Djazzer.instrument='io.taskmaster.**,net.razorvine.**' -Djunit.jupiter.execution.timeout.mode=disabled \
 *     -Djunit.jupiter.execution.timeout.testtemplate.method.default=1s
 * </pre>
 *
 * See protocol's CoverageGuidedFuzzTest for what the settings do and what to do with a finding.
 */
class UnpicklerFuzzTest {
  private static final Map<String, IObjectConstructor> GLOBALS = Map.of(
      "_codecs.encode", SafeUnpickler.CODECS_ENCODE,
      "builtins.bytearray", SafeUnpickler.BYTEARRAY,
      "builtins.set", SafeUnpickler.SET,
      "builtins.frozenset", SafeUnpickler.SET,
      "queue.Empty", SafeUnpickler.instances("queue", "Empty"));

  @FuzzTest
  void pickles(byte[] pickle) {
    try {
      new SafeUnpickler(GLOBALS).read(pickle);
    } catch (PickleRefusedException refused) {
      // the one way to say no
    }
  }
}
