//! The [`Framework`] trait and one implementation per framework.
//!
//! Every tokio-based framework runs each workload on a fresh multi-thread
//! tokio runtime with one worker thread per core ([`on_tokio`]), the driver
//! itself being a task on it. actix runs on its own `actix::System`, a
//! single-threaded runtime, as actix requires. With `--current-thread`
//! ([`use_current_thread_runtime`]) the tokio-based frameworks run on a
//! current-thread runtime instead: one thread, as actix does.

pub mod proscenium;
#[cfg(feature = "metrics")]
pub mod proscenium_metrics;
pub mod proscenium_percore;
pub mod tokio_baseline;

#[cfg(feature = "peers")]
pub mod actix;
#[cfg(feature = "peers")]
pub mod erlang;
#[cfg(feature = "peers")]
pub mod kameo;
#[cfg(feature = "peers")]
pub mod ractor;
#[cfg(feature = "peers")]
pub mod xtra;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::workloads::{
    ask, big, chameneos, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong,
    remote_ask, remote_tell, ring, spawn, tell, Outcome,
};

/// One actor framework, able to run every workload with the given parameters.
///
/// Each method runs the workload once, from a fresh runtime, asserts its
/// result, and returns what it measured, or [`Outcome::NotApplicable`] with
/// the reason when the framework cannot express the workload fairly.
pub trait Framework: Send + Sync {
    /// Name in the report, e.g. `"ractor"`.
    fn name(&self) -> &'static str;
    /// The crate version measured.
    fn version(&self) -> &'static str;
    /// How it is run, for the report header.
    fn runtime(&self) -> &'static str;

    /// See [`tell`].
    fn tell(&self, params: &tell::Params) -> Outcome;
    /// See [`ask`].
    fn ask(&self, params: &ask::Params) -> Outcome;
    /// See [`spawn`].
    fn spawn(&self, params: &spawn::Params) -> Outcome;
    /// See [`ping_pong`].
    fn ping_pong(&self, params: &ping_pong::Params) -> Outcome;
    /// See [`counting`].
    fn counting(&self, params: &counting::Params) -> Outcome;
    /// See [`ring`].
    fn ring(&self, params: &ring::Params) -> Outcome;
    /// See [`fork_join_throughput`].
    fn fork_join_throughput(&self, params: &fork_join_throughput::Params) -> Outcome;
    /// See [`fork_join_create`].
    fn fork_join_create(&self, params: &fork_join_create::Params) -> Outcome;
    /// See [`fan_out`].
    fn fan_out(&self, params: &fan_out::Params) -> Outcome;
    /// See [`big`]; not applicable unless implemented.
    fn big(&self, params: &big::Params) -> Outcome {
        let _ = params;
        Outcome::NotApplicable(NOT_YET)
    }
    /// See [`chameneos`]; not applicable unless implemented.
    fn chameneos(&self, params: &chameneos::Params) -> Outcome {
        let _ = params;
        Outcome::NotApplicable(NOT_YET)
    }
    /// See [`remote_tell`]; not applicable unless implemented.
    fn remote_tell(&self, params: &remote_tell::Params) -> Outcome {
        let _ = params;
        Outcome::NotApplicable(NOT_REMOTE)
    }
    /// See [`remote_ask`]; not applicable unless implemented.
    fn remote_ask(&self, params: &remote_ask::Params) -> Outcome {
        let _ = params;
        Outcome::NotApplicable(NOT_REMOTE)
    }
}

/// Why a peer has no row for a workload not written for it yet.
pub const NOT_YET: &str = "not implemented on this framework yet";

/// Why a peer has no remote row: of the peers, issue 6 compares only
/// ractor's network layer (ractor_cluster); see BENCHMARKS.md.
pub const NOT_REMOTE: &str =
    "remote workloads: of the Rust peers, only ractor (ractor_cluster) is measured";

/// Every framework compiled in, Proscenium first.
pub fn all() -> Vec<Box<dyn Framework>> {
    #[allow(unused_mut)]
    let mut all: Vec<Box<dyn Framework>> = vec![
        Box::new(proscenium::Proscenium),
        Box::new(proscenium::ProsceniumPlaintext),
        Box::new(proscenium_percore::ProsceniumPerCore),
        Box::new(tokio_baseline::TokioBaseline),
    ];
    #[cfg(feature = "metrics")]
    all.insert(2, Box::new(proscenium_metrics::ProsceniumMetrics));
    #[cfg(feature = "peers")]
    all.extend([
        Box::new(actix::Actix) as Box<dyn Framework>,
        Box::new(ractor::Ractor),
        Box::new(kameo::Kameo),
        Box::new(xtra::Xtra),
        Box::new(erlang::Erlang),
    ]);
    all
}

/// The runtime descriptions as literals, for `concat!` (ractor adds to them).
macro_rules! tokio_multi_thread {
    () => {
        "tokio multi-thread runtime, worker threads = cores"
    };
}
macro_rules! tokio_current_thread {
    () => {
        "tokio current-thread runtime: one thread (--current-thread)"
    };
}
#[cfg(feature = "peers")]
pub(crate) use {tokio_current_thread, tokio_multi_thread};

/// The runtime description of the tokio-based frameworks, by default.
pub const TOKIO_MULTI_THREAD: &str = tokio_multi_thread!();

/// The runtime description of the tokio-based frameworks with `--current-thread`.
pub const TOKIO_CURRENT_THREAD: &str = tokio_current_thread!();

/// Set by `--current-thread`.
static CURRENT_THREAD: AtomicBool = AtomicBool::new(false);

/// From now on, [`on_tokio`] builds a current-thread runtime: every
/// tokio-based framework runs on one thread, the configuration actix has.
pub fn use_current_thread_runtime() {
    CURRENT_THREAD.store(true, Ordering::Relaxed);
}

/// Whether [`use_current_thread_runtime`] was called.
pub fn on_current_thread() -> bool {
    CURRENT_THREAD.load(Ordering::Relaxed)
}

/// How the tokio-based frameworks run, for the report header.
pub fn tokio_runtime() -> &'static str {
    if on_current_thread() {
        TOKIO_CURRENT_THREAD
    } else {
        TOKIO_MULTI_THREAD
    }
}

/// Runs `driver` as a task on a fresh tokio runtime, and returns its
/// output: a multi-thread runtime with one worker per core, or with
/// `--current-thread` a current-thread one. A panic in the driver (a failed
/// assertion) is resumed on the caller.
pub fn on_tokio<F>(driver: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut builder = if on_current_thread() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(crate::machine::cores());
        builder
    };
    let runtime = builder
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    let output = runtime.block_on(runtime.spawn(driver));
    runtime.shutdown_background();
    match output {
        Ok(output) => output,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Counts events from many actors and fires once when the last expected
/// one arrives: how the spawn workload learns that every actor has started.
#[derive(Debug)]
pub struct Countdown {
    count: AtomicUsize,
    target: usize,
    fire: Mutex<Option<oneshot::Sender<()>>>,
}

impl Countdown {
    /// A countdown of `target` events, and the receiver that fires after the last.
    pub fn new(target: usize) -> (Arc<Self>, oneshot::Receiver<()>) {
        let (fire, fired) = oneshot::channel();
        let countdown = Self {
            count: AtomicUsize::new(0),
            target,
            fire: Mutex::new(Some(fire)),
        };
        (Arc::new(countdown), fired)
    }

    /// Counts one event.
    pub fn tick(&self) {
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.target {
            let fire = self.fire.lock().expect("never poisoned").take();
            let _ = fire.map(|fire| fire.send(()));
        }
    }

    /// Events counted so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}
