package io.taskmaster.testkit.leaks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/** The leak check on real test classes, run by JUnit's own engine: one leaks buffers, one releases them. */
class LeakCheckExtensionTest {

  @Test
  void aClassThatLeaksABufferFailsNamingWhereItWasTouched() {
    Events containers = run(Leaking.class);
    assertThat(containers.failed().count()).isEqualTo(1);
    Throwable failure = containers.failed().stream().map(Event::getPayload).flatMap(java.util.Optional::stream)
        .map(payload -> ((org.junit.platform.engine.TestExecutionResult) payload).getThrowable().orElseThrow())
        .findFirst().orElseThrow();
    assertThat(failure).hasMessageContaining("Netty buffer(s) leaked by the end of LeakCheckExtensionTest$Leaking")
        .hasMessageContaining("leaked-in-the-fixture");
  }

  @Test
  void aClassThatReleasesItsBuffersPasses() {
    assertThat(run(Releasing.class).failed().count()).isZero();
  }

  private static Events run(Class<?> fixture) {
    return EngineTestKit.engine("junit-jupiter")
        .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
        .selectors(selectClass(fixture)).execute().containerEvents();
  }

  static class Leaking {
    /**
     * Buffers are sampled, one in 128: a leak on a path taken this often is all but sure to be. Netty logs it too
     * (the one "LEAK:" line of a green build).
     */
    @Test
    void leaksABufferOnAPathTakenOften() {
      for (int i = 0; i < 4000; i++) {
        ByteBuf buffer = Unpooled.directBuffer(16);
        buffer.touch("leaked-in-the-fixture");
        buffer.writeInt(42); // and never released
      }
    }
  }

  static class Releasing {
    @Test
    void releasesItsBuffers() {
      for (int i = 0; i < 4000; i++) {
        ByteBuf buffer = Unpooled.directBuffer(16);
        buffer.writeInt(42);
        buffer.release();
      }
    }
  }
}
