package io.taskmaster.server.net;

import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Has Netty track every buffer while a test class runs, instead of one in 128, so that the testkit's leak check
 * (which fails the class) sees a buffer leaked once: by one half-closed connection, or by one fuzz input that takes
 * a rare path. The sampling is enough for a leak on a path that every request takes, and the flood tests keep it:
 * tracking every buffer slows the event loop down too much for them.
 */
final class EveryBufferTracked implements BeforeAllCallback, AfterAllCallback {
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(
      EveryBufferTracked.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    context.getStore(NAMESPACE).put("level", ResourceLeakDetector.getLevel());
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    // Buffers tracked so far stay tracked: the leak check, which runs after this, still hears of them.
    ResourceLeakDetector.setLevel(context.getStore(NAMESPACE).get("level", ResourceLeakDetector.Level.class));
  }
}
