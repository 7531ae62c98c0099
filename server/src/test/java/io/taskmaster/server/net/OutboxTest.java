package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.Message;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The deferred frames of {@link Outbox} on a real Netty pipeline, with the channel's clock under the test's control:
 * they wait for the connection's next frame, or for {@link Outbox#DEFER_MICROS}, never for ever.
 */
class OutboxTest {
  private static final Envelope SETTLED = new Envelope(7, new Message.Settled(List.of()));
  private static final Envelope LEASED = new Envelope(8, new Message.Leased(List.of()));

  private EmbeddedChannel channel;
  private Outbox outbox;

  @BeforeEach
  void openChannel() {
    ChannelInboundHandlerAdapter session = new ChannelInboundHandlerAdapter();
    channel = new EmbeddedChannel(session);
    channel.freezeTime();
    ChannelHandlerContext ctx = channel.pipeline().context(session);
    outbox = new Outbox(ctx);
  }

  @AfterEach
  void closeChannel() {
    channel.finishAndReleaseAll();
  }

  @Test
  void aDeferredFrameLeavesWithTheConnectionsNextFrameInOrder() {
    outbox.sendDeferrable(SETTLED);
    outbox.readComplete(true);
    assertThat(sent()).as("nothing leaves while a lease waits").isEmpty();

    outbox.send(LEASED);
    assertThat(sent()).containsExactly(SETTLED, LEASED);
  }

  @Test
  void aDeferredFrameLeavesAtTheEndOfItsReadBurstWhenNoLeaseWaits() {
    outbox.sendDeferrable(SETTLED);
    assertThat(sent()).as("not before the burst ends").isEmpty();

    outbox.readComplete(false);
    assertThat(sent()).containsExactly(SETTLED);
  }

  @Test
  void aDeferredFrameWaitsNoLongerThanItsBound() {
    outbox.sendDeferrable(SETTLED);
    outbox.readComplete(true);
    channel.advanceTimeBy(Outbox.DEFER_MICROS - 1, TimeUnit.MICROSECONDS);
    channel.runScheduledPendingTasks();
    assertThat(sent()).isEmpty();

    channel.advanceTimeBy(1, TimeUnit.MICROSECONDS);
    channel.runScheduledPendingTasks();
    assertThat(sent()).containsExactly(SETTLED);
  }

  @Test
  void aFrameDeferredAfterTheTimerWasSetIsStillBounded() {
    outbox.sendDeferrable(SETTLED);
    outbox.readComplete(true);
    outbox.send(LEASED); // carries SETTLED; the timer stays set
    assertThat(sent()).containsExactly(SETTLED, LEASED);

    Envelope later = new Envelope(9, new Message.Settled(List.of()));
    outbox.sendDeferrable(later);
    outbox.readComplete(true);
    channel.advanceTimeBy(Outbox.DEFER_MICROS, TimeUnit.MICROSECONDS);
    channel.runScheduledPendingTasks();
    assertThat(sent()).containsExactly(later);
  }

  /** The frames flushed to the wire since the last call. */
  private List<Object> sent() {
    List<Object> frames = new java.util.ArrayList<>();
    for (Object frame; (frame = channel.readOutbound()) != null; ) {
      frames.add(frame);
    }
    return frames;
  }
}
