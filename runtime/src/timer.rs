//! Timers that send a message to an actor later, or every so often.

use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::actor_ref::deadline_after;
use crate::{ActorRef, Handler, Message, System};

/// A scheduled message; [`cancel`](Self::cancel) stops it.
///
/// Dropping the handle does not cancel the timer. Every timer of an actor is
/// cancelled when the actor stops.
#[derive(Debug, Clone)]
pub struct TimerHandle {
    token: CancellationToken,
}

impl TimerHandle {
    /// Cancels the timer. A message already sent is not taken back.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called or the actor has stopped.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}

/// Sends `message` to `target` once, after `delay`, unless `token` is cancelled first.
pub(crate) fn send_after<A, M>(
    system: &System,
    target: ActorRef<A>,
    message: M,
    delay: Duration,
    token: CancellationToken,
) -> TimerHandle
where
    A: Handler<M>,
    M: Message,
{
    let handle = TimerHandle {
        token: token.clone(),
    };
    let system_for_task = system.clone();
    let running = system.timer_running(target.id());
    system.runtime().spawn(async move {
        let _running = running;
        tokio::select! {
            biased;
            () = token.cancelled() => {}
            () = tokio::time::sleep(delay) => {
                if target.tell(message).await.is_err() {
                    system_for_task.dead_letter_for(&target, std::any::type_name::<M>());
                }
            }
        }
    });
    handle
}

/// The shortest interval: tokio's timers tick in milliseconds.
const MIN_PERIOD: Duration = Duration::from_millis(1);

/// Sends a clone of `message` to `target` every `period`, first after one
/// period, until `token` is cancelled or the target stops. Ticks missed
/// while the mailbox was full are not made up for.
pub(crate) fn send_interval<A, M>(
    system: &System,
    target: ActorRef<A>,
    message: M,
    period: Duration,
    token: CancellationToken,
) -> TimerHandle
where
    A: Handler<M>,
    M: Message + Clone,
{
    let handle = TimerHandle {
        token: token.clone(),
    };
    let running = system.timer_running(target.id());
    system.runtime().spawn(async move {
        let _running = running;
        // tokio's interval refuses a zero period (it would panic here, and
        // the timer would silently never fire).
        let period = period.max(MIN_PERIOD);
        let mut ticks = tokio::time::interval_at(deadline_after(period), period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = token.cancelled() => break,
                _ = ticks.tick() => {
                    if target.tell(message.clone()).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    handle
}
