//! The task queue example (`examples/task_queue`) as separate processes:
//! a broker, worker nodes and a client, each its own OS process on
//! 127.0.0.1, with workers and the broker killed by SIGKILL mid-run.
//!
//! Every wait is on a line a process prints (`READY`, `AGENT up`,
//! `RESULT`, `REQUEUED`, `SUMMARY`...); the deadlines only guard
//! against hangs. The processes are killed when their handles drop,
//! also when a test fails.

mod support_cluster;

#[path = "../examples/task_queue/launcher.rs"]
#[allow(dead_code, unreachable_pub)] // the demo's module, used here in part
mod launcher;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use launcher::RoleProcess;

/// Generous: a loaded two-core CI machine still makes each step in seconds.
const HANG_GUARD: Duration = Duration::from_secs(90);

const SECRET: &[u8] = b"task queue tests: a cluster secret of some length";

/// A fresh journal directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "task_queue-test-{test}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(name: &str, args: &[&str]) -> RoleProcess {
    let args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
    // Every line goes to the test's output, shown when a test fails.
    let tap = Arc::new(|name: &str, line: &str| eprintln!("[{name}] {line}"));
    RoleProcess::start(
        &support_cluster::example_binary("task_queue"),
        name,
        &args,
        SECRET,
        tap,
        HANG_GUARD,
    )
    .await
    .unwrap_or_else(|e| panic!("start {name}: {e}"))
}

async fn start_broker(
    data: &TempDir,
    listen: &str,
    seeds: &[SocketAddr],
    extra: &[&str],
) -> RoleProcess {
    let data = data.0.display().to_string();
    let mut args = vec!["--broker", "--listen", listen, "--data", &data];
    let seeds: Vec<String> = seeds.iter().map(ToString::to_string).collect();
    for seed in &seeds {
        args.extend(["--seed", seed]);
    }
    args.extend(extra);
    start("broker", &args).await
}

/// Starts worker node `name` with `executors` and `prefetch`, and waits
/// until the broker has its registration.
async fn start_worker(
    broker: &mut RoleProcess,
    name: &str,
    executors: u32,
    prefetch: u32,
) -> RoleProcess {
    let seed = broker.addr.to_string();
    let (executors, prefetch) = (executors.to_string(), prefetch.to_string());
    let args = [
        "--worker",
        "--name",
        name,
        "--seed",
        &seed,
        "--workers",
        &executors,
        "--prefetch",
        &prefetch,
    ];
    let worker = start(name, &args).await;
    let up = format!("AGENT up {name} ");
    wait(broker, &up, |line| line.starts_with(&up)).await;
    worker
}

async fn start_client(broker: &RoleProcess, batch: &[&str]) -> RoleProcess {
    let seed = broker.addr.to_string();
    let mut args = vec!["--client", "--seed", &seed, "--lines"];
    args.extend(batch);
    start("client", &args).await
}

async fn wait(process: &mut RoleProcess, what: &str, matches: impl Fn(&str) -> bool) -> String {
    process
        .wait_for(what, matches, HANG_GUARD)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One `RESULT` line of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TaskResult {
    task: u64,
    /// `value=...` or `dead`.
    value: Option<u64>,
    node: Option<String>,
    attempts: u32,
    reason: String,
}

impl TaskResult {
    fn parse(line: &str) -> Self {
        let rest = line.strip_prefix("RESULT ").expect("a RESULT line");
        let (task, rest) = rest.split_once(' ').expect("RESULT <task> ...");
        let field = |name: &str| {
            rest.split(' ')
                .find_map(|word| word.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        let reason = rest.split_once("reason=").map_or("", |(_, r)| r).to_owned();
        Self {
            task: task.parse().expect("a task id"),
            value: field("value").map(|v| v.parse().expect("a value")),
            node: field("node"),
            attempts: field("attempt")
                .or_else(|| field("attempts"))
                .map_or(0, |a| a.parse().expect("a count")),
            reason,
        }
    }

    /// The task's index in its batch.
    fn index(&self) -> u32 {
        (self.task & 0xffff_ffff) as u32
    }
}

/// Waits for the client's `SUMMARY` and `VERIFIED` lines and the client's
/// exit, and returns its `RESULT`s in the order printed and the summary.
async fn finish(mut client: RoleProcess) -> (Vec<TaskResult>, String) {
    let summary = wait(&mut client, "its SUMMARY", |line| {
        line.starts_with("SUMMARY ")
    })
    .await;
    wait(&mut client, "VERIFIED", |line| {
        line.starts_with("VERIFIED ")
    })
    .await;
    let results = results_so_far(&mut client);
    client.quit(HANG_GUARD).await.expect("the client exits 0");
    (results, summary)
}

/// The client's `RESULT`s printed so far, in order.
fn results_so_far(client: &mut RoleProcess) -> Vec<TaskResult> {
    client
        .history()
        .iter()
        .filter(|line| line.starts_with("RESULT "))
        .map(|line| TaskResult::parse(line))
        .collect()
}

fn summary_field(summary: &str, name: &str) -> u64 {
    summary
        .split(' ')
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in `{summary}`"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_tasks_run_elsewhere_and_every_result_is_right() {
    let data = TempDir::new("worker-kill");
    let mut broker = start_broker(&data, "127.0.0.1:0", &[], &[]).await;
    let mut workers = Vec::new();
    for name in ["worker-1", "worker-2", "worker-3"] {
        workers.push(start_worker(&mut broker, name, 2, 1).await);
    }
    let mut client = start_client(&broker, &["--sleep-ms", "100", "--tasks", "60"]).await;

    // worker-3 has produced a result: it is running two more tasks now
    // (60 tasks for 6 executors keep every one busy for a second).
    wait(&mut client, "a result from worker-3", |line| {
        line.contains(" node=worker-3 ")
    })
    .await;
    let mut victim = workers.pop().expect("worker-3");
    victim.kill().await.expect("kill worker-3");
    let lost = wait(&mut broker, "worker-3 lost", |line| {
        line.starts_with("AGENT lost worker-3 ")
    })
    .await;
    let requeued: HashSet<u64> = broker
        .drain()
        .iter()
        .filter_map(|line| line.strip_prefix("REQUEUED "))
        .filter_map(|rest| rest.strip_suffix(" from worker-3"))
        .map(|task| task.parse().expect("a task id"))
        .collect();
    assert!(
        !requeued.is_empty(),
        "worker-3 was killed with tasks in flight: {lost}"
    );

    let (results, summary) = finish(client).await;
    // 60 tasks and the chord callback; VERIFIED checked every value.
    assert_eq!(results.len(), 61, "{summary}");
    let by_task: HashMap<u64, &TaskResult> = results.iter().map(|r| (r.task, r)).collect();
    for task in &requeued {
        let result = by_task.get(task).expect("a requeued task has its result");
        assert_ne!(
            result.node.as_deref(),
            Some("worker-3"),
            "{result:?} ran again elsewhere"
        );
    }
    assert_eq!(summary_field(&summary, "dead"), 0);
    assert!(summary_field(&summary, "requeued") >= requeued.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_killed_and_restarted_on_its_journal_loses_no_task() {
    let data = TempDir::new("broker-kill");
    let mut broker = start_broker(&data, "127.0.0.1:0", &[], &[]).await;
    let mut workers = Vec::new();
    for name in ["worker-1", "worker-2"] {
        workers.push(start_worker(&mut broker, name, 2, 1).await);
    }
    let mut client = start_client(&broker, &["--sleep-ms", "150", "--tasks", "40"]).await;
    wait(&mut client, "the batch accepted", |line| {
        line.starts_with("SUBMITTED ")
    })
    .await;
    for _ in 0..5 {
        wait(&mut client, "a result", |line| line.starts_with("RESULT ")).await;
    }
    broker.kill().await.expect("kill the broker");
    // Every result the client has seen was journaled before it was told.
    let before: HashSet<u64> = results_so_far(&mut client).iter().map(|r| r.task).collect();

    let seeds: Vec<SocketAddr> = workers.iter().map(|w| w.addr).collect();
    let addr = broker.addr.to_string();
    let mut broker = start_broker(&data, &addr, &seeds, &[]).await;
    let recovered = wait(&mut broker, "RECOVERED", |line| {
        line.starts_with("RECOVERED ")
    })
    .await;
    assert_eq!(
        summary_field(&recovered, "tasks"),
        40,
        "every accepted task is in the journal: {recovered}"
    );
    assert!(
        summary_field(&recovered, "done") >= before.len() as u64,
        "{recovered}: the client had seen {} results",
        before.len()
    );
    let pending: HashSet<u64> = broker
        .drain()
        .iter()
        .filter_map(|line| line.strip_prefix("PENDING "))
        .map(|task| task.parse().expect("a task id"))
        .collect();
    assert_eq!(pending.len() as u64, summary_field(&recovered, "pending"));
    assert!(
        pending.is_disjoint(&before),
        "only unacknowledged tasks run again: {:?}",
        pending.intersection(&before).collect::<Vec<_>>()
    );

    let (results, summary) = finish(client).await;
    let tasks: HashSet<u64> = results.iter().map(|r| r.task).collect();
    assert_eq!(
        tasks.len(),
        41,
        "40 tasks and the chord's callback: {summary}"
    );
    assert_eq!(summary_field(&summary, "broker_recoveries"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_tasks_are_retried_with_backoff_then_dead_lettered() {
    let data = TempDir::new("failures");
    let mut broker = start_broker(
        &data,
        "127.0.0.1:0",
        &[],
        &["--backoff-ms", "20", "--backoff-cap-ms", "30"],
    )
    .await;
    let _worker = start_worker(&mut broker, "worker-1", 2, 1).await;
    let client = start_client(&broker, &["--failures"]).await;
    let (results, summary) = finish(client).await;

    let by_index: HashMap<u32, &TaskResult> = results.iter().map(|r| (r.index(), r)).collect();
    // Fails twice on purpose, succeeds on its third attempt.
    assert_eq!(by_index[&0].value, Some(7));
    assert_eq!(by_index[&0].attempts, 3);
    // Fails on every attempt: one and its two retries.
    assert_eq!(by_index[&1].value, None);
    assert_eq!(by_index[&1].attempts, 3);
    assert!(
        by_index[&1].reason.contains("failed on purpose"),
        "{:?}",
        by_index[&1]
    );
    // Hangs: its 300 ms time limit fails it, twice.
    assert_eq!(by_index[&2].attempts, 2);
    assert!(
        by_index[&2].reason.contains("time limit"),
        "{:?}",
        by_index[&2]
    );
    assert_eq!(by_index[&3].value, Some(3));
    assert_eq!(summary_field(&summary, "retries"), 2 + 2 + 1);
    assert_eq!(summary_field(&summary, "dead"), 2);

    // The broker's RETRY lines: delays double from 20 ms, with jitter
    // (half to all of the step), capped at 30 ms.
    let lines = broker.drain();
    let delays = |index: u32| -> Vec<(u32, u64)> {
        lines
            .iter()
            .filter_map(|line| line.strip_prefix("RETRY "))
            .filter(|rest| {
                let task: u64 = rest
                    .split(' ')
                    .next()
                    .and_then(|t| t.parse().ok())
                    .expect("RETRY <task>");
                (task & 0xffff_ffff) as u32 == index
            })
            .map(|rest| {
                let field = |name: &str| -> u64 {
                    rest.split(' ')
                        .find_map(|w| w.strip_prefix(name))
                        .and_then(|v| v.parse().ok())
                        .expect("a RETRY field")
                };
                (field("attempt=") as u32, field("delay_ms="))
            })
            .collect()
    };
    let flaky = delays(0);
    assert_eq!(flaky.len(), 2, "{flaky:?}");
    assert_eq!(flaky[0].0, 1);
    assert!(
        (10..=20).contains(&flaky[0].1),
        "first retry after 10-20 ms: {flaky:?}"
    );
    assert_eq!(flaky[1].0, 2);
    assert!(
        (15..=30).contains(&flaky[1].1),
        "second: 20-40 ms, capped at 30: {flaky:?}"
    );
    assert_eq!(delays(1).len(), 2);
    assert_eq!(delays(2).len(), 1);
    let dead: Vec<&String> = lines.iter().filter(|l| l.starts_with("DEAD ")).collect();
    assert_eq!(dead.len(), 2, "{dead:?}");
}

/// Runs one long task and 20 short ones on two single-executor workers
/// with `prefetch`, and returns the results in completion order and the
/// node that ran the long one.
async fn long_and_short_tasks(prefetch: u32) -> (Vec<TaskResult>, String) {
    let data = TempDir::new("prefetch");
    let mut broker = start_broker(&data, "127.0.0.1:0", &[], &[]).await;
    let _one = start_worker(&mut broker, "worker-1", 1, prefetch).await;
    let _two = start_worker(&mut broker, "worker-2", 1, prefetch).await;
    let client = start_client(
        &broker,
        &["--long-ms", "3000", "--sleep-ms", "5", "--tasks", "20"],
    )
    .await;
    let (results, _) = finish(client).await;
    assert_eq!(results.len(), 21);
    let long = results
        .iter()
        .find(|r| r.index() == 0)
        .expect("the long task's result");
    let node = long.node.clone().expect("a node");
    (results, node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_prefetch_one_short_tasks_do_not_wait_behind_a_long_one() {
    let (results, long_node) = long_and_short_tasks(1).await;
    // The long task finishes last; every short one ran on the other worker.
    assert_eq!(
        results.last().map(TaskResult::index),
        Some(0),
        "{results:?}"
    );
    for short in &results[..20] {
        assert_ne!(
            short.node.as_ref(),
            Some(&long_node),
            "{short:?} waited behind the long task"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_larger_prefetch_holds_short_tasks_behind_a_long_one() {
    // The control for the test above: it can tell the difference.
    let (results, long_node) = long_and_short_tasks(4).await;
    let long_at = results
        .iter()
        .position(|r| r.index() == 0)
        .expect("the long task");
    let held: Vec<&TaskResult> = results[long_at + 1..]
        .iter()
        .filter(|r| r.node.as_ref() == Some(&long_node))
        .collect();
    assert!(
        !held.is_empty(),
        "with prefetch 4 the long task's worker held short ones: {results:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_pool_resized_while_running_takes_more_tasks() {
    let data = TempDir::new("resize");
    let mut broker = start_broker(&data, "127.0.0.1:0", &[], &[]).await;
    let mut worker = start_worker(&mut broker, "worker-1", 1, 1).await;
    worker.send("resize 3").await.expect("send resize");
    wait(&mut worker, "RESIZED", |line| line == "RESIZED 3").await;
    wait(&mut broker, "the new credit", |line| {
        line == "AGENT credit worker-1 +2"
    })
    .await;
    // With one executor the short tasks would all wait for the long one.
    let client = start_client(
        &broker,
        &["--long-ms", "3000", "--sleep-ms", "5", "--tasks", "10"],
    )
    .await;
    let (results, _) = finish(client).await;
    assert_eq!(
        results.last().map(TaskResult::index),
        Some(0),
        "{results:?}"
    );
}
