//! Where a system's actors run: on one shared tokio runtime, or on threads
//! of the system's own, each a current-thread runtime ([`Placement`]).
//!
//! Per-core placement trades the multi-thread scheduler's work stealing
//! for locality: actors on one core hand messages to each other without
//! waking another thread, as actix arbiters or thread-per-core executors
//! do. The price is the same as theirs: nothing moves an actor off a busy
//! or blocked core.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

use crate::BuildError;

/// How a [`System`](crate::System) places its actors on threads; set with
/// [`SystemBuilder::placement`](crate::SystemBuilder::placement).
///
/// * [`Shared`](Self::Shared), the default: every actor is a task on one
///   tokio runtime (the current one, or the one given to
///   [`SystemBuilder::runtime`](crate::SystemBuilder::runtime)); a
///   multi-thread runtime moves actors between its workers as it likes.
/// * [`PerCore`](Self::PerCore): the system starts `threads` OS threads of
///   its own, each running a current-thread tokio runtime, and every actor
///   stays on the thread it was placed on for its whole life, restarts
///   included. An actor spawned from one of these threads (by an actor,
///   with [`Context::spawn`](crate::Context::spawn) or
///   [`System::spawn`](crate::System::spawn)) lands on that same thread,
///   so a group of actors built by one actor talks without crossing
///   threads; a spawn from outside the system's threads, and each worker
///   of a [`Pool`](crate::Pool), goes to the next thread round-robin;
///   [`System::spawn_on`](crate::System::spawn_on) and
///   [`Context::spawn_on`](crate::Context::spawn_on) choose the thread.
///   Messages between threads go through the same mailboxes, with the
///   same order, bounds and supervision.
///
/// On a per-core thread, an actor that blocks (a long computation, a
/// blocking call) stalls every other actor and timer of that thread until
/// it returns, as in actix; move such work to
/// [`tokio::task::spawn_blocking`] and answer with a
/// [`DeferredReply`](crate::DeferredReply). `tokio::task::block_in_place`
/// panics there, as on any current-thread runtime.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, Context, Handler, Message, Placement, System};
///
/// struct Where;
/// impl Message for Where {
///     type Reply = Option<usize>;
/// }
///
/// struct Node;
/// impl Actor for Node {}
/// impl Handler<Where> for Node {
///     async fn handle(&mut self, _: Where, ctx: &mut Context<Self>) -> Option<usize> {
///         ctx.system().current_core()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::builder()
///     .placement(Placement::PerCore { threads: 2 })
///     .build();
/// let node = system.spawn_on(1, Node)?;
/// assert_eq!(system.core_of(node.id()), Some(1));
/// assert_eq!(node.ask(Where).await?, Some(1));
/// system.shutdown().await; // stops every actor, then joins the threads
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Placement {
    /// Every actor on one tokio runtime, shared with the application.
    #[default]
    Shared,
    /// Each actor pinned to one of `threads` threads of the system's own,
    /// each a current-thread tokio runtime (timers and I/O enabled);
    /// `0` means one per available core.
    PerCore {
        /// How many threads; `0` for one per available core.
        threads: usize,
    },
}

impl Placement {
    /// [`PerCore`](Self::PerCore) with one thread per available core.
    pub fn per_core() -> Self {
        Self::PerCore { threads: 0 }
    }
}

/// The runtimes a system spawns on, as its [`Placement`] says.
pub(crate) enum Runtimes {
    Shared(Handle),
    PerCore(Cores),
}

impl Runtimes {
    /// The runtimes for `placement`; `shared` is the runtime given to or
    /// found by the builder, which per-core placement does not need.
    pub(crate) fn start(placement: Placement, shared: Option<Handle>) -> Result<Self, BuildError> {
        match placement {
            Placement::Shared => match shared.or_else(|| Handle::try_current().ok()) {
                Some(handle) => Ok(Self::Shared(handle)),
                None => Err(BuildError::NoRuntime),
            },
            Placement::PerCore { threads } => Cores::start(threads).map(Self::PerCore),
        }
    }

    /// Where a new actor goes: the `chosen` core, else the calling
    /// thread's core if it is one of ours and `spread` is off, else the
    /// next core round-robin. `None` under shared placement.
    pub(crate) fn place(&self, chosen: Option<usize>, spread: bool) -> Option<usize> {
        match self {
            Self::Shared(_) => None,
            Self::PerCore(cores) => Some(chosen.unwrap_or_else(|| {
                cores
                    .current()
                    .filter(|_| !spread)
                    .unwrap_or_else(|| cores.next())
            })),
        }
    }

    /// The runtime of `core` (the shared one when `None`).
    pub(crate) fn handle(&self, core: Option<usize>) -> &Handle {
        match (self, core) {
            (Self::Shared(handle), _) => handle,
            (Self::PerCore(cores), Some(core)) => &cores.handles[core],
            (Self::PerCore(cores), None) => &cores.handles[0],
        }
    }

    /// The runtime for work started by the calling code, such as a timer:
    /// the calling thread's core if it is one of ours (an actor's timer
    /// stays with the actor), else the next core by a round-robin of its
    /// own, so that such work does not make the next spawn skip a core.
    pub(crate) fn here(&self) -> &Handle {
        match self {
            Self::Shared(handle) => handle,
            Self::PerCore(cores) => {
                &cores.handles[cores.current().unwrap_or_else(|| cores.next_other())]
            }
        }
    }

    /// The [`Home`] of an actor placed on `core` (`None` under shared
    /// placement).
    pub(crate) fn home(&self, core: Option<usize>) -> Home {
        match (self, core) {
            (Self::PerCore(cores), Some(core)) => cores.homes[core],
            _ => Home::SHARED,
        }
    }

    /// How many per-core threads there are; 0 under shared placement.
    pub(crate) fn cores(&self) -> usize {
        match self {
            Self::Shared(_) => 0,
            Self::PerCore(cores) => cores.handles.len(),
        }
    }

    /// The calling thread's core, if it is one of this system's threads.
    pub(crate) fn current(&self) -> Option<usize> {
        match self {
            Self::Shared(_) => None,
            Self::PerCore(cores) => cores.current(),
        }
    }

    /// Stops the per-core threads and waits until each has ended; the
    /// calling thread's own core, if it is one, is only told to stop.
    pub(crate) async fn stop(&self) {
        if let Self::PerCore(cores) = self {
            cores.stop().await;
        }
    }
}

thread_local! {
    /// The system threads (`Cores::id`) and core this thread is, if any.
    static HERE: Cell<Option<(u64, usize)>> = const { Cell::new(None) };
    /// This thread's [`Home`], if it is a per-core thread.
    static HOME: Cell<Home> = const { Cell::new(Home::SHARED) };
}

/// Tells the threads of one system from another's.
static NEXT_CORES_ID: AtomicU64 = AtomicU64::new(1);

/// Numbers the per-core threads of every system in the process.
static NEXT_HOME: AtomicU32 = AtomicU32::new(1);

/// The thread an actor runs on, for an asker deciding whether the reply
/// may come without another thread running: [`SHARED`](Self::SHARED) for
/// an actor on a shared runtime (any of its workers may run it, the
/// asker's included), else its per-core thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Home(u32);

impl Home {
    /// A shared runtime's actor.
    pub(crate) const SHARED: Self = Self(0);

    /// Whether an actor at home here may run on the calling thread: always
    /// on a shared runtime, else only on its own per-core thread.
    pub(crate) fn may_run_here(self) -> bool {
        self == Self::SHARED || HOME.get() == self
    }
}

/// The threads of a per-core system.
pub(crate) struct Cores {
    id: u64,
    handles: Vec<Handle>,
    /// Each thread's [`Home`], by core.
    homes: Vec<Home>,
    /// The round-robin of spawns from outside the system's threads.
    next: AtomicUsize,
    /// The round-robin of other work started from outside them (timers,
    /// streams, the metrics sampler).
    next_other: AtomicUsize,
    /// Taken by the first `stop`.
    threads: Mutex<Vec<CoreThread>>,
}

/// One running per-core thread. Dropping it (the last system handle gone)
/// tells the thread to stop, without waiting for it.
struct CoreThread {
    stop: oneshot::Sender<()>,
    ended: oneshot::Receiver<()>,
    join: JoinHandle<()>,
}

impl Cores {
    fn start(threads: usize) -> Result<Self, BuildError> {
        let count = match threads {
            0 => thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let id = NEXT_CORES_ID.fetch_add(1, Ordering::Relaxed);
        let mut handles = Vec::with_capacity(count);
        let mut homes = Vec::with_capacity(count);
        let mut running = Vec::with_capacity(count);
        for index in 0..count {
            let home = Home(NEXT_HOME.fetch_add(1, Ordering::Relaxed));
            // On an error the threads started so far stop as `running` drops.
            let (handle, thread) = CoreThread::start(id, index, home)?;
            handles.push(handle);
            homes.push(home);
            running.push(thread);
        }
        Ok(Self {
            id,
            handles,
            homes,
            next: AtomicUsize::new(0),
            next_other: AtomicUsize::new(0),
            threads: Mutex::new(running),
        })
    }

    fn current(&self) -> Option<usize> {
        HERE.get()
            .and_then(|(id, core)| (id == self.id).then_some(core))
    }

    fn next(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len()
    }

    fn next_other(&self) -> usize {
        self.next_other.fetch_add(1, Ordering::Relaxed) % self.handles.len()
    }

    async fn stop(&self) {
        let threads = match self.threads.lock() {
            Ok(mut threads) => std::mem::take(&mut *threads),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        let here = self.current();
        let mut ending = Vec::with_capacity(threads.len());
        for (core, thread) in threads.into_iter().enumerate() {
            let _ = thread.stop.send(());
            // A thread cannot wait for itself to end.
            if here != Some(core) {
                ending.push((thread.ended, thread.join));
            }
        }
        for (ended, join) in ending {
            // Sent (or dropped) as the thread's last act, so `join` below
            // returns at once instead of blocking an async caller.
            let _ = ended.await;
            if join.join().is_err() {
                tracing::error!("a per-core thread panicked while it stopped");
            }
        }
        tracing::debug!(cores = self.handles.len(), "per-core threads stopped");
    }
}

impl CoreThread {
    fn start(id: u64, index: usize, home: Home) -> Result<(Handle, Self), BuildError> {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(BuildError::Runtime)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let (end, ended) = oneshot::channel::<()>();
        let join = thread::Builder::new()
            .name(format!("proscenium-core-{index}"))
            .spawn(move || {
                HERE.set(Some((id, index)));
                HOME.set(home);
                // Ends on `stop`, or when the system is dropped with it.
                let _ = runtime.block_on(stopped);
                // Drops the tasks left (timers, idle actors of a system
                // dropped without shutdown) without waiting for blocking ones.
                runtime.shutdown_background();
                let _ = end.send(());
            })
            .map_err(BuildError::Thread)?;
        Ok((handle, Self { stop, ended, join }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Work started from outside (a timer, a stream) takes a core of its
    /// own round-robin, not the spawns' one.
    #[test]
    fn work_started_from_outside_does_not_make_spawns_skip_a_core() {
        let runtimes =
            Runtimes::start(Placement::PerCore { threads: 2 }, None).expect("the threads start");
        let _timer = runtimes.here();
        let cores: Vec<_> = (0..4).map(|_| runtimes.place(None, false)).collect();
        assert_eq!(cores, [Some(0), Some(1), Some(0), Some(1)]);
    }

    /// An asker skips its yield for a reply unless the actor may run on
    /// the asker's thread: any thread for a shared runtime's actor, only
    /// its own for a per-core one.
    #[test]
    fn only_its_own_thread_may_run_a_per_core_actor() {
        let runtimes =
            Runtimes::start(Placement::PerCore { threads: 2 }, None).expect("the threads start");
        let (zero, one) = (runtimes.home(Some(0)), runtimes.home(Some(1)));
        assert_ne!(zero, one);
        assert_eq!(runtimes.home(None), Home::SHARED);
        assert!(Home::SHARED.may_run_here());
        assert!(!zero.may_run_here() && !one.may_run_here());

        let (seen, on_core_zero) = std::sync::mpsc::channel();
        runtimes.handle(Some(0)).spawn(async move {
            let _ = seen.send((
                Home::SHARED.may_run_here(),
                zero.may_run_here(),
                one.may_run_here(),
            ));
        });
        assert_eq!(on_core_zero.recv(), Ok((true, true, false)));
    }
}
