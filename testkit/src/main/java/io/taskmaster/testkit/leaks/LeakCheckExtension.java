package io.taskmaster.testkit.leaks;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class after which a Netty buffer turned out to be leaked (registered for every class of a module
 * that has the testkit and turns JUnit's extension auto-detection on in its junit-platform.properties). A leak found
 * here happened in this class or, rarely, in a class before it whose buffer was collected only now.
 */
public final class LeakCheckExtension implements AfterAllCallback {
  private static final Duration COLLECTION = Duration.ofSeconds(30);

  @Override
  public void afterAll(ExtensionContext context) {
    NettyLeaks.install(); // a no-op unless the session listener did not run
    List<String> leaks = NettyLeaks.collect(COLLECTION);
    if (!leaks.isEmpty()) {
      throw new AssertionError(leaks.size() + " Netty buffer(s) leaked by the end of "
          + context.getDisplayName() + ":\n" + String.join("\n\n", leaks));
    }
  }
}
