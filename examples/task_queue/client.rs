//! The client: builds a batch, submits it to whichever broker is up,
//! follows the outcomes (across broker restarts: submission is
//! idempotent and the subscription answers what is already known),
//! checks every result against a direct computation and summarises.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proscenium::net::Node;
use proscenium::prelude::*;
use tokio::sync::mpsc;

use crate::batch::{Batch, Expected, Plan};
use crate::broker::Broker;
use crate::discovery::{follow_broker, BrokerChange};
use crate::progress::{Printer, Progress};
use crate::protocol::{self, BrokerReport, Completed, Outcome, Report, Submit, Subscribe, TaskId};

/// How long to wait before asking a broker again after an ask failed.
const ASK_AGAIN: Duration = Duration::from_millis(300);

/// How to run the client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub listen: SocketAddr,
    pub seeds: Vec<SocketAddr>,
    pub batch: Batch,
    /// Print a `RESULT` line per outcome.
    pub lines: bool,
    /// Print `READY <address>` once the node runs (as a child process).
    pub announce: bool,
}

/// Receives the broker's `Completed` tells for the client.
pub struct Listener {
    outcomes: mpsc::UnboundedSender<Completed>,
}
impl Actor for Listener {}

impl Handler<Completed> for Listener {
    async fn handle(&mut self, completed: Completed, _: &mut Context<Self>) {
        let _ = self.outcomes.send(completed);
    }
}

/// The client's node, its listener and its view of the broker.
struct Session {
    node: Node,
    listener: ActorRef<Listener>,
    completed: mpsc::UnboundedReceiver<Completed>,
    changes: mpsc::UnboundedReceiver<BrokerChange>,
    broker: Option<ActorRef<Broker>>,
    printer: Printer,
}

impl Session {
    async fn start(options: &ClientOptions) -> Result<Self, crate::Error> {
        let node = protocol::start_node("client", options.listen, &options.seeds).await?;
        let (outcomes, completed) = mpsc::unbounded_channel();
        let listener = node.system().spawn(Listener { outcomes })?;
        let (sender, changes) = mpsc::unbounded_channel();
        follow_broker(node.clone(), sender);
        if options.announce {
            let addr = node.local_addr().ok_or("the client is not listening")?;
            println!("READY {addr}");
        }
        Ok(Self {
            node,
            listener,
            completed,
            changes,
            broker: None,
            printer: Printer::default(),
        })
    }

    /// The broker, waiting for one to be found if need be.
    async fn broker(&mut self) -> Result<ActorRef<Broker>, crate::Error> {
        while self.broker.is_none() {
            self.on_change().await?;
        }
        self.broker.clone().ok_or_else(|| "no broker".into())
    }

    async fn on_change(&mut self) -> Result<(), crate::Error> {
        match self.changes.recv().await {
            Some(BrokerChange::Found(broker)) => {
                self.printer
                    .say(&format!("client: broker found ({})", broker.id().node()));
                self.broker = Some(broker);
            }
            Some(BrokerChange::Lost) => {
                self.printer
                    .say("client: broker lost; waiting for it to come back");
                self.broker = None;
            }
            None => return Err("the cluster watcher stopped".into()),
        }
        Ok(())
    }

    /// Subscribes to the current broker and submits `plan` to it (again:
    /// tasks it already has are skipped), retrying until one broker has
    /// taken both. Returns the outcomes it already knew.
    async fn subscribe_and_submit(&mut self, plan: &Plan) -> Result<Vec<Completed>, crate::Error> {
        loop {
            let known = self.subscribe().await?;
            if self.submit(plan).await? {
                return Ok(known);
            }
        }
    }

    /// Subscribes to the current broker; the outcomes it already knew.
    async fn subscribe(&mut self) -> Result<Vec<Completed>, crate::Error> {
        loop {
            let broker = self.broker().await?;
            let subscribe = Subscribe {
                to: self.listener.clone(),
            };
            match broker.ask(subscribe).await {
                Ok(known) => return Ok(known),
                Err(error) => self.pause(&format!("subscribing failed ({error})")).await,
            }
        }
    }

    /// Submits `plan` to the current broker: whether it took it (no: the
    /// broker was lost meanwhile, subscribe to the next one first).
    async fn submit(&mut self, plan: &Plan) -> Result<bool, crate::Error> {
        let broker = self.broker().await?;
        let submit = Submit {
            tasks: plan.tasks.clone(),
            chords: plan.chords.clone(),
        };
        match broker.ask(submit).await {
            Ok(Ok(accepted)) => {
                if plan.tasks.len() > 1 {
                    println!("SUBMITTED tasks={} accepted={accepted}", plan.tasks.len());
                }
                Ok(true)
            }
            Ok(Err(refused)) => Err(format!("the broker refused the batch: {refused}").into()),
            Err(error) => {
                self.pause(&format!("submitting failed ({error})")).await;
                Ok(false)
            }
        }
    }

    async fn pause(&mut self, what: &str) {
        self.printer.say(&format!("client: {what}; trying again"));
        tokio::time::sleep(ASK_AGAIN).await;
        self.drain_changes();
    }

    fn drain_changes(&mut self) {
        while let Ok(change) = self.changes.try_recv() {
            self.broker = match change {
                BrokerChange::Found(broker) => Some(broker),
                BrokerChange::Lost => None,
            };
        }
    }

    async fn report(&mut self) -> Result<BrokerReport, crate::Error> {
        loop {
            let broker = self.broker().await?;
            match broker.ask(Report).await {
                Ok(report) => return Ok(report),
                Err(_) => {
                    tokio::time::sleep(ASK_AGAIN).await;
                    self.drain_changes();
                }
            }
        }
    }
}

/// What a finished batch came to.
#[derive(Debug)]
pub struct Summary {
    /// Tasks in the batch (chord callbacks included).
    pub tasks: usize,
    pub outcomes: HashMap<TaskId, Outcome>,
    pub report: BrokerReport,
    pub elapsed: Duration,
}

/// Runs the client role: submits `options.batch`, follows it to the
/// end, prints the summary and fails unless every result is right.
pub async fn run(options: ClientOptions, printer: Printer) -> Result<Summary, crate::Error> {
    let mut session = Session::start(&options).await?;
    session.printer = printer;
    let summary = match options.batch {
        Batch::Latency { count } => run_latency(&mut session, count).await?,
        ref batch => run_batch(&mut session, batch, options.lines).await?,
    };
    session.node.shutdown().await;
    Ok(summary)
}

async fn run_batch(
    session: &mut Session,
    batch: &Batch,
    lines: bool,
) -> Result<Summary, crate::Error> {
    let plan = batch.plan(batch_id());
    println!("BATCH {}", batch.describe());
    let mut progress = Progress::new(plan.expected.len() as u64, &session.printer);
    let started = Instant::now();
    let known = session.subscribe_and_submit(&plan).await?;
    let mut outcomes = Outcomes {
        plan: &plan,
        lines,
        progress: &mut progress,
        seen: HashMap::new(),
    };
    for completed in known {
        outcomes.record(completed);
    }
    while outcomes.seen.len() < plan.expected.len() {
        tokio::select! {
            completed = session.completed.recv() => {
                outcomes.record(completed.ok_or("the listener stopped")?);
            }
            change = session.changes.recv() => {
                let Some(change) = change else {
                    return Err("the cluster watcher stopped".into());
                };
                let found = matches!(change, BrokerChange::Found(_));
                session.broker = match change {
                    BrokerChange::Found(broker) => Some(broker),
                    BrokerChange::Lost => None,
                };
                if found {
                    // A new broker (or the old one after a reconnect):
                    // resubscribe and resubmit, nothing accepted is lost.
                    for completed in session.subscribe_and_submit(&plan).await? {
                        outcomes.record(completed);
                    }
                } else {
                    session.printer.say("client: broker lost; waiting for it to come back");
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let outcomes = outcomes.seen;
    progress.finish();
    let report = session.report().await?;
    let summary = Summary {
        tasks: plan.expected.len(),
        outcomes,
        report,
        elapsed,
    };
    print_summary(&summary, &plan);
    verify(&summary.outcomes, &plan)?;
    Ok(summary)
}

/// Submits one trivial task at a time and measures submit → outcome.
async fn run_latency(session: &mut Session, count: u32) -> Result<Summary, crate::Error> {
    let batch = batch_id();
    let mut latencies = Vec::with_capacity(count as usize);
    let mut outcomes = HashMap::new();
    session.subscribe().await?;
    let started = Instant::now();
    for index in 0..count {
        let plan = Batch::Trivial { tasks: 1 }.plan_at(batch, index);
        let sent = Instant::now();
        if !session.submit(&plan).await? {
            return Err("the broker went away during the latency run".into());
        }
        let task = plan.tasks[0].id;
        loop {
            let completed = session
                .completed
                .recv()
                .await
                .ok_or("the listener stopped")?;
            if completed.task == task {
                latencies.push(sent.elapsed());
                outcomes.insert(task, completed.outcome);
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "LATENCY tasks={count} p50_us={} p99_us={} max_us={}",
        at(0.5).as_micros(),
        at(0.99).as_micros(),
        at(1.0).as_micros()
    );
    let report = session.report().await?;
    Ok(Summary {
        tasks: count as usize,
        outcomes,
        report,
        elapsed,
    })
}

/// The batch's outcomes so far: the first per task counts.
struct Outcomes<'a> {
    plan: &'a Plan,
    lines: bool,
    progress: &'a mut Progress,
    seen: HashMap<TaskId, Outcome>,
}

impl Outcomes<'_> {
    fn record(&mut self, completed: Completed) {
        if !self.plan.expected.contains_key(&completed.task)
            || self.seen.contains_key(&completed.task)
        {
            return;
        }
        if self.lines {
            println!("RESULT {}", result_line(&completed));
        }
        self.progress.record(&completed.outcome);
        self.seen.insert(completed.task, completed.outcome);
    }
}

fn batch_id() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos ^ std::process::id()) & 0x7fff_ffff
}

fn result_line(completed: &Completed) -> String {
    match &completed.outcome {
        Outcome::Value {
            value,
            node,
            attempt,
        } => {
            format!(
                "{} value={value} node={node} attempt={attempt}",
                completed.task
            )
        }
        Outcome::Dead { reason, attempts } => {
            format!(
                "{} dead attempts={attempts} reason={reason}",
                completed.task
            )
        }
    }
}

fn print_summary(summary: &Summary, plan: &Plan) {
    let report = &summary.report;
    let dead = summary
        .outcomes
        .values()
        .filter(|o| matches!(o, Outcome::Dead { .. }))
        .count();
    let seconds = summary.elapsed.as_secs_f64();
    println!(
        "SUMMARY tasks={} succeeded={} dead={dead} duplicates={} retries={} requeued={} broker_recoveries={} seconds={seconds:.3} tasks_per_s={:.0}",
        plan.expected.len(),
        summary.outcomes.len() - dead,
        report.duplicates,
        report.retries,
        report.requeued,
        report.recoveries,
        plan.expected.len() as f64 / seconds.max(1e-9),
    );
    let mut per_node: BTreeMap<&str, u64> = BTreeMap::new();
    for outcome in summary.outcomes.values() {
        if let Outcome::Value { node, .. } = outcome {
            *per_node.entry(node).or_default() += 1;
        }
    }
    let spread: Vec<String> = per_node.iter().map(|(n, c)| format!("{n}={c}")).collect();
    println!("SPREAD {}", spread.join(" "));
}

/// Checks every outcome against the plan's direct computation.
fn verify(outcomes: &HashMap<TaskId, Outcome>, plan: &Plan) -> Result<(), crate::Error> {
    let mut wrong = Vec::new();
    for (task, expected) in &plan.expected {
        let outcome = outcomes.get(task);
        let fine = match (expected, outcome) {
            (Expected::Value(want), Some(Outcome::Value { value, .. })) => value == want,
            (Expected::Dead(why), Some(Outcome::Dead { reason, .. })) => reason.contains(why),
            _ => false,
        };
        if !fine {
            wrong.push(format!(
                "task {task}: expected {expected:?}, got {outcome:?}"
            ));
        }
    }
    if wrong.is_empty() {
        println!(
            "VERIFIED {} outcomes match {}",
            plan.expected.len(),
            plan.check
        );
        Ok(())
    } else {
        for line in &wrong {
            println!("WRONG {line}");
        }
        Err(format!(
            "{} of {} outcomes are wrong",
            wrong.len(),
            plan.expected.len()
        )
        .into())
    }
}
