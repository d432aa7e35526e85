//! [`Shutdown`]: how long a parent waits for a child to stop before it
//! kills it, as the `shutdown` field of an Erlang/OTP child spec.

use std::any::TypeId;
use std::time::Duration;

use crate::cell::AnyActor;
use crate::{Actor, Supervisor};

/// How a parent stops a child: how long it waits for the child's graceful
/// stop (draining its queue, stopping its own children, `on_stop`) before
/// it kills it. Erlang/OTP's `shutdown` in a child spec.
///
/// A child killed this way is abandoned wherever it was waiting: the hook
/// or handler it was in is dropped at its next `.await` (code that blocks
/// its thread without awaiting cannot be interrupted), it handles nothing
/// more, its own children are killed the same way, its queued asks fail
/// with [`AskError::Stopped`](crate::AskError::Stopped) and its queued
/// tells go to the dead letters, and it ends with [`StopReason::Killed`](crate::StopReason::Killed).
///
/// The default, as in OTP, is five seconds for a worker and
/// [`Infinity`](Self::Infinity) for a [`Supervisor`], which bounds its
/// stop by its own children's timeouts.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use proscenium_runtime::{Actor, ChildSpec, Shutdown, Supervisor, SupervisorStrategy};
///
/// #[derive(Default)]
/// struct Flusher;
/// impl Actor for Flusher {}
///
/// // Flushing may take a while: allow 30 seconds before it is killed.
/// let flusher = ChildSpec::new(Flusher::default).shutdown(Shutdown::Timeout(Duration::from_secs(30)));
/// assert_eq!(flusher.shutdown_policy(), Shutdown::Timeout(Duration::from_secs(30)));
/// // Workers get five seconds by default, supervisors as long as they need.
/// assert_eq!(ChildSpec::new(Flusher::default).shutdown_policy(), Shutdown::DEFAULT_WORKER);
/// let tree = Supervisor::new(SupervisorStrategy::one_for_one());
/// assert_eq!(ChildSpec::new(move || tree.clone()).shutdown_policy(), Shutdown::Infinity);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Killed at once, without a graceful stop: nothing more is handled and
    /// `on_stop` does not run.
    BrutalKill,
    /// Stopped gracefully; killed if it has not stopped within this time.
    Timeout(Duration),
    /// Stopped gracefully and waited for as long as that takes. Meant for
    /// a child that is itself a supervisor: its own children's timeouts
    /// bound its stop.
    Infinity,
}

impl Shutdown {
    /// A worker's default, as in Erlang/OTP: five seconds.
    pub const DEFAULT_WORKER: Self = Self::Timeout(Duration::from_secs(5));

    /// The default for a child of type `A`: [`Infinity`](Self::Infinity)
    /// for a [`Supervisor`], [`DEFAULT_WORKER`](Self::DEFAULT_WORKER) for
    /// any other actor.
    pub fn default_for<A: Actor>() -> Self {
        if TypeId::of::<A>() == TypeId::of::<Supervisor>() {
            Self::Infinity
        } else {
            Self::DEFAULT_WORKER
        }
    }

    /// How long to wait for a graceful stop; `None` for as long as it takes.
    pub(crate) fn grace(self) -> Option<Duration> {
        match self {
            Self::BrutalKill => Some(Duration::ZERO),
            Self::Timeout(timeout) => Some(timeout),
            Self::Infinity => None,
        }
    }
}

/// Kills `child` without waiting for anything it is doing: its task is
/// aborted, and the task's cleanup (see `Lifecycle`'s `Drop`) finishes it.
pub(crate) fn brutal_kill(child: &dyn AnyActor, task: &tokio::task::AbortHandle) {
    // Marked first, so that the cleanup knows the abort was meant.
    child.life().abandon();
    task.abort();
}
