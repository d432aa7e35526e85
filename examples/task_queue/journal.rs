//! The broker's journal: accepted tasks, chords, outcomes and counters in
//! an embedded database, so a broker killed with `kill -9` and started
//! again on the same directory loses no accepted task.
//!
//! The database is `redb`: pure Rust (no C toolchain, quick to build on a
//! fresh machine), ACID with copy-on-write pages, and a commit is durable
//! when it returns. One thread owns it and commits in groups: everything
//! queued while one commit runs goes into the next, so a burst of results
//! costs one `fsync`, not one each.
//!
//! What is durable when: a `Submit` is answered only after its tasks are
//! committed; an outcome is told to clients only after it is committed.
//! A result that arrived but was not yet committed when the broker died
//! is simply run again (at-least-once).

use std::path::Path;
use std::sync::mpsc;

use proscenium::net::wire;
use redb::{Database, ReadableTable, TableDefinition};
use serde::{de::DeserializeOwned, Serialize};
use tokio::sync::oneshot;

use crate::protocol::{Chord, Outcome, TaskId, TaskSpec};

/// Errors of the journal, as text for the demo's output.
pub type JournalError = Box<dyn std::error::Error + Send + Sync>;

const TASKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("tasks");
const OUTCOMES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("outcomes");
const CHORDS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("chords");
const COUNTERS: TableDefinition<'_, &str, u64> = TableDefinition::new("counters");

/// Records bigger than this are refused (a batch is submitted as many
/// small records, so this bounds one task).
const RECORD_LIMIT: u64 = 16 * 1024 * 1024;

/// Most operations in one commit.
const GROUP_LIMIT: usize = 10_000;

/// Counters kept across restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub duplicates: u64,
    pub retries: u64,
    pub requeued: u64,
    pub recoveries: u64,
}

/// What a journal held when it was opened.
#[derive(Debug, Default)]
pub struct Recovered {
    pub tasks: Vec<TaskSpec>,
    pub outcomes: Vec<(TaskId, Outcome)>,
    pub chords: Vec<Chord>,
    pub counters: Counters,
}

/// The handle the broker writes through; cheap to clone.
#[derive(Debug, Clone)]
pub struct Journal {
    ops: mpsc::Sender<Op>,
}

enum Op {
    Accept {
        tasks: Vec<TaskSpec>,
        chords: Vec<Chord>,
        committed: oneshot::Sender<Result<(), String>>,
    },
    Finish {
        task: TaskId,
        outcome: Outcome,
    },
    Count(Counters),
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, returns what it held, and
    /// starts its writer thread. `on_committed` is called from that
    /// thread with each group of outcomes once they are durable.
    ///
    /// A commit that fails (a full disk, say) ends the process with an
    /// error: a broker that cannot journal must not hand out work, and a
    /// restart recovers from the last commit.
    pub fn open(
        dir: &Path,
        on_committed: impl Fn(Vec<(TaskId, Outcome)>) + Send + 'static,
    ) -> Result<(Self, Recovered), JournalError> {
        std::fs::create_dir_all(dir)?;
        let database = Database::create(dir.join("journal.redb"))?;
        let mut recovered = read_all(&database)?;
        recovered.counters.recoveries += u64::from(!recovered.tasks.is_empty());
        commit(
            &database,
            vec![Op::Count(Counters {
                recoveries: u64::from(!recovered.tasks.is_empty()),
                ..Counters::default()
            })],
        )?;
        let (ops, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || write_loop(&database, &receiver, &on_committed))?;
        Ok((Self { ops }, recovered))
    }

    /// Journals new tasks and chords; resolves once they are durable.
    pub async fn accept(&self, tasks: Vec<TaskSpec>, chords: Vec<Chord>) -> Result<(), String> {
        let (committed, done) = oneshot::channel();
        self.send(Op::Accept {
            tasks,
            chords,
            committed,
        });
        done.await
            .map_err(|_| "the journal writer has stopped".to_owned())?
    }

    /// Journals a task's final outcome; `on_committed` hears of it once
    /// it is durable.
    pub fn finish(&self, task: TaskId, outcome: Outcome) {
        self.send(Op::Finish { task, outcome });
    }

    /// Adds to the journaled counters (`recoveries` is ignored).
    pub fn count(&self, delta: Counters) {
        self.send(Op::Count(delta));
    }

    fn send(&self, op: Op) {
        if self.ops.send(op).is_err() {
            // The writer only stops by ending the process; this is its exit in progress.
            tracing::error!("the journal writer has stopped");
        }
    }
}

fn write_loop(
    database: &Database,
    ops: &mpsc::Receiver<Op>,
    on_committed: &dyn Fn(Vec<(TaskId, Outcome)>),
) {
    while let Ok(first) = ops.recv() {
        let mut group = vec![first];
        group.extend(ops.try_iter().take(GROUP_LIMIT));
        let mut waiters = Vec::new();
        let mut finished = Vec::new();
        for op in &mut group {
            match op {
                Op::Accept { committed, .. } => {
                    let (placeholder, _) = oneshot::channel();
                    waiters.push(std::mem::replace(committed, placeholder));
                }
                Op::Finish { task, outcome } => finished.push((*task, outcome.clone())),
                Op::Count(_) => {}
            }
        }
        if let Err(error) = commit(database, group) {
            eprintln!("the broker's journal could not commit ({error}); stopping the broker: start it again on the same --data to recover");
            std::process::exit(70);
        }
        for waiter in waiters {
            let _ = waiter.send(Ok(()));
        }
        if !finished.is_empty() {
            on_committed(finished);
        }
    }
}

fn commit(database: &Database, group: Vec<Op>) -> Result<(), JournalError> {
    let transaction = database.begin_write()?;
    {
        let mut tasks = transaction.open_table(TASKS)?;
        let mut outcomes = transaction.open_table(OUTCOMES)?;
        let mut chords = transaction.open_table(CHORDS)?;
        let mut counters = transaction.open_table(COUNTERS)?;
        for op in group {
            match op {
                Op::Accept {
                    tasks: new_tasks,
                    chords: new_chords,
                    ..
                } => {
                    for task in new_tasks {
                        tasks.insert(task.id, encode(&task)?.as_slice())?;
                    }
                    for chord in new_chords {
                        chords.insert(chord.callback, encode(&chord)?.as_slice())?;
                    }
                }
                Op::Finish { task, outcome } => {
                    outcomes.insert(task, encode(&outcome)?.as_slice())?;
                }
                Op::Count(delta) => {
                    for (name, add) in [
                        ("duplicates", delta.duplicates),
                        ("retries", delta.retries),
                        ("requeued", delta.requeued),
                        ("recoveries", delta.recoveries),
                    ] {
                        if add > 0 {
                            let now = counters.get(name)?.map_or(0, |v| v.value());
                            counters.insert(name, now + add)?;
                        }
                    }
                }
            }
        }
    }
    transaction.commit()?;
    Ok(())
}

fn read_all(database: &Database) -> Result<Recovered, JournalError> {
    // Creating the tables first lets a fresh database be read like an old one.
    commit(database, Vec::new())?;
    let transaction = database.begin_read()?;
    let mut recovered = Recovered::default();
    for entry in transaction.open_table(TASKS)?.iter()? {
        recovered.tasks.push(decode(entry?.1.value())?);
    }
    for entry in transaction.open_table(OUTCOMES)?.iter()? {
        let (task, outcome) = entry?;
        recovered
            .outcomes
            .push((task.value(), decode(outcome.value())?));
    }
    for entry in transaction.open_table(CHORDS)?.iter()? {
        recovered.chords.push(decode(entry?.1.value())?);
    }
    let counters = transaction.open_table(COUNTERS)?;
    let read = |name: &str| -> Result<u64, JournalError> {
        Ok(counters.get(name)?.map_or(0, |v| v.value()))
    };
    recovered.counters = Counters {
        duplicates: read("duplicates")?,
        retries: read("retries")?,
        requeued: read("requeued")?,
        recoveries: read("recoveries")?,
    };
    Ok(recovered)
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, JournalError> {
    Ok(wire::encode(value, RECORD_LIMIT)?)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JournalError> {
    Ok(wire::decode(bytes, RECORD_LIMIT)?)
}
