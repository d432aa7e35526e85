//! Property: under any interleaving of tell, ask, panic and stop across a
//! small supervision tree, no accepted message is lost or handled twice,
//! each sender's messages are handled in the order sent, and every ask is
//! answered.
//!
//! The tree, one-for-one everywhere, with an intensity no case reaches:
//!
//! ```text
//! root ─┬─ w0
//!       ├─ w1
//!       └─ sub ── w2
//! ```
//!
//! Each case runs 1 to 3 sender tasks, each with its own script of
//! operations; `Yield` steps let proptest choose how the senders
//! interleave. Time is paused, so an ask that would hang instead times out
//! after its (virtual) hour and fails the case, and the case is
//! deterministic, so proptest can shrink a failure to its smallest script.
//!
//! The oracle, per accepted message (a `tell` that returned `Ok`, or an
//! `ask` that got a reply or `Failed`):
//!
//! * its handler runs exactly once, even across restarts and graceful
//!   stops. Workers log each message before handling it, so a panicking
//!   message counts as handled once too; it is the only one whose handler
//!   does not complete. This holds also when a `stop` reaches a worker
//!   while it is failed, waiting to be restarted: it is restarted, drains
//!   its queue, then stops. No dead letters appear;
//! * an ask gets `Ok` with its own value, `Failed` with the panic text only
//!   for a panicking message, `Stopped` only when its actor (or `sub`, for
//!   `w2`) was stopped, and never `Timeout`;
//! * a refused `tell` only happens to a stopped actor;
//! * per (worker, sender), handled messages are in send order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use proscenium::prelude::*;
use proscenium::{ChildSpec, Supervisor, SupervisorStrategy, WhichChildren};

/// Longer than any case runs; with paused time a hang reaches it at once.
const NEVER: Duration = Duration::from_secs(3_600);
/// The workers (w0, w1, w2) and the stoppable actors (the workers and sub).
const WORKERS: usize = 3;
const SUB: usize = 3;

/// One handled message, as a worker logs it before running its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Handled {
    worker: usize,
    sender: usize,
    seq: u64,
    panicked: bool,
}

type Log = Arc<Mutex<Vec<Handled>>>;

/// A worker: logs every job, then panics if the job says so.
struct Worker {
    index: usize,
    log: Log,
}

impl Actor for Worker {}

#[derive(Debug)]
struct Job {
    sender: usize,
    seq: u64,
    panic: bool,
}

impl Message for Job {
    type Reply = u64;
}

impl Handler<Job> for Worker {
    async fn handle(&mut self, job: Job, _: &mut Context<Self>) -> u64 {
        self.log.lock().unwrap().push(Handled {
            worker: self.index,
            sender: job.sender,
            seq: job.seq,
            panicked: job.panic,
        });
        assert!(
            !job.panic,
            "job {} of sender {} panics",
            job.seq, job.sender
        );
        job.seq
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Tell {
        to: usize,
        panic: bool,
    },
    Ask {
        to: usize,
        panic: bool,
    },
    /// Stops a worker, or `sub` (and with it w2), through its ref.
    Stop {
        to: usize,
    },
    /// Lets the other tasks run this many times.
    Yield(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let panic = prop::bool::weighted(0.2);
    prop_oneof![
        6 => (0..WORKERS, panic).prop_map(|(to, panic)| Op::Tell { to, panic }),
        3 => (0..WORKERS, panic).prop_map(|(to, panic)| Op::Ask { to, panic }),
        1 => (0..=SUB).prop_map(|to| Op::Stop { to }),
        3 => (1..4u8).prop_map(Op::Yield),
    ]
}

/// What one sender saw for one job it sent.
#[derive(Debug)]
struct Sent {
    worker: usize,
    sender: usize,
    seq: u64,
    panic: bool,
    outcome: Outcome,
    /// Whether a stop had been issued to the worker (or `sub`) by the time
    /// the outcome arrived.
    stop_issued: bool,
}

#[derive(Debug)]
enum Outcome {
    Told(bool),
    Asked(Result<u64, AskError>),
}

/// The refs senders use, and which actors a `Stop` has been issued to.
struct Tree {
    workers: [ActorRef<Worker>; WORKERS],
    sub: ActorRef<Supervisor>,
    stopped: [AtomicBool; SUB + 1],
}

impl Tree {
    /// Whether `worker` may refuse messages: it, or its supervisor, was stopped.
    fn stop_issued(&self, worker: usize) -> bool {
        self.stopped[worker].load(Ordering::SeqCst)
            || (worker == 2 && self.stopped[SUB].load(Ordering::SeqCst))
    }
}

async fn run_sender(tree: Arc<Tree>, sender: usize, script: Vec<Op>) -> Vec<Sent> {
    let mut sent = Vec::new();
    let mut seq = 0;
    for op in script {
        match op {
            Op::Tell { to, panic } | Op::Ask { to, panic } => {
                seq += 1;
                let job = Job { sender, seq, panic };
                let outcome = if let Op::Tell { .. } = op {
                    Outcome::Told(tree.workers[to].tell(job).await.is_ok())
                } else {
                    Outcome::Asked(tree.workers[to].ask_timeout(job, NEVER).await)
                };
                sent.push(Sent {
                    worker: to,
                    sender,
                    seq,
                    panic,
                    outcome,
                    stop_issued: tree.stop_issued(to),
                });
            }
            Op::Stop { to } => {
                // Flag first: a refusal seen after `stop` must find it set.
                tree.stopped[to].store(true, Ordering::SeqCst);
                match tree.workers.get(to) {
                    Some(worker) => worker.stop(),
                    None => tree.sub.stop(),
                }
            }
            Op::Yield(n) => {
                for _ in 0..n {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
    sent
}

/// What one case did: the jobs sent, the jobs handled, and the dead letters
/// per worker.
#[derive(Debug)]
struct Run {
    sent: Vec<Sent>,
    handled: Vec<Handled>,
    dead: [Vec<StopReason>; WORKERS],
}

/// Builds the tree, runs the scripts concurrently, stops the tree
/// gracefully, and returns what happened.
async fn run_case(scripts: Vec<Vec<Op>>) -> Result<Run, String> {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let log = Log::default();
    let worker = |index: usize| {
        let log = log.clone();
        ChildSpec::new(move || Worker {
            index,
            log: log.clone(),
        })
        .name(format!("w{index}"))
    };
    let never_escalate = SupervisorStrategy::one_for_one().intensity(10_000, NEVER);
    let sub = Supervisor::new(never_escalate).child(worker(2));
    let root = Supervisor::new(never_escalate)
        .child(worker(0))
        .child(worker(1))
        .child(ChildSpec::new(move || sub.clone()).name("sub"));
    let root = system.spawn(root).map_err(|e| e.to_string())?;
    // Answered after `on_start`, which spawned the children (and sub its own).
    root.ask(WhichChildren).await.map_err(|e| e.to_string())?;
    let sub = system.lookup::<Supervisor>("sub").ok_or("no sub")?;
    sub.ask(WhichChildren).await.map_err(|e| e.to_string())?;
    let lookup = |i: usize| system.lookup::<Worker>(&format!("w{i}")).ok_or("no worker");
    let tree = Arc::new(Tree {
        workers: [lookup(0)?, lookup(1)?, lookup(2)?],
        sub,
        stopped: Default::default(),
    });

    let senders: Vec<_> = scripts
        .into_iter()
        .enumerate()
        .map(|(sender, script)| tokio::spawn(run_sender(tree.clone(), sender, script)))
        .collect();
    let mut sent = Vec::new();
    for sender in senders {
        sent.extend(sender.await.map_err(|e| e.to_string())?);
    }

    // A graceful stop handles everything already accepted, tree-wide.
    root.stop();
    tokio::time::timeout(NEVER, root.wait_stopped())
        .await
        .map_err(|_| "the tree never finished stopping".to_string())?;
    for (i, worker) in tree.workers.iter().enumerate() {
        if worker.is_alive() {
            return Err(format!("w{i} outlived the tree"));
        }
    }
    let mut dead: [Vec<StopReason>; WORKERS] = Default::default();
    while let Some(letter) = dead_letters.try_recv() {
        let worker = tree.workers.iter().position(|w| w.id() == letter.recipient);
        dead[worker.ok_or("a dead letter for another actor")?].push(letter.reason);
    }
    let handled = log.lock().unwrap().clone();
    Ok(Run {
        sent,
        handled,
        dead,
    })
}

/// Checks the promises; returns the first one broken.
fn check(run: &Run) -> Result<(), String> {
    let Run {
        sent,
        handled,
        dead,
    } = run;
    let mut times: HashMap<(usize, usize, u64), usize> = HashMap::new();
    for h in handled {
        *times.entry((h.worker, h.sender, h.seq)).or_default() += 1;
    }
    for s in sent {
        let key = (s.worker, s.sender, s.seq);
        let count = times.remove(&key).unwrap_or(0);
        let accepted = match &s.outcome {
            Outcome::Told(true) => true,
            Outcome::Told(false) if s.stop_issued => false,
            Outcome::Told(false) => return Err(format!("{s:?}: refused by a running actor")),
            Outcome::Asked(Ok(value)) if !s.panic && *value == s.seq => true,
            Outcome::Asked(Err(AskError::Failed { reason }))
                if s.panic && reason.contains("panics") =>
            {
                true
            }
            Outcome::Asked(Err(AskError::Stopped)) if s.stop_issued => false,
            Outcome::Asked(other) => return Err(format!("{s:?}: wrong answer {other:?}")),
        };
        let expected = usize::from(accepted);
        if count != expected {
            return Err(format!("{s:?}: handled {count} times, expected {expected}"));
        }
    }
    if let Some((key, _)) = times.into_iter().next() {
        return Err(format!("handled a job nobody sent: {key:?}"));
    }
    for (worker, letters) in dead.iter().enumerate() {
        if !letters.is_empty() {
            return Err(format!("w{worker}: dead letters {letters:?}"));
        }
    }
    let mut last: HashMap<(usize, usize), u64> = HashMap::new();
    for h in handled {
        let previous = last.insert((h.worker, h.sender), h.seq).unwrap_or(0);
        if h.seq <= previous {
            return Err(format!(
                "{h:?} handled after seq {previous} of the same sender"
            ));
        }
    }
    Ok(())
}

fn scripts() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 0..16), 1..=3)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_accepted_message_is_lost_and_no_ask_hangs(scripts in scripts()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let run = runtime.block_on(run_case(scripts)).map_err(TestCaseError::fail)?;
        check(&run).map_err(TestCaseError::fail)?;
    }
}
