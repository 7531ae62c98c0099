package io.taskmaster.testkit.leaks;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/** Installs {@link NettyLeaks} when a test JVM's session opens, before any test class touches a Netty buffer. */
public final class LeakCheckSession implements LauncherSessionListener {
  @Override
  public void launcherSessionOpened(LauncherSession session) {
    NettyLeaks.install();
  }
}
