//! The one sampler behind every open page of a dashboard: it takes a
//! cluster snapshot each interval, turns it into a view and log entries,
//! and broadcasts them, encoded once, to every event stream.
//!
//! The sampler runs only while a page listens: the first event stream
//! starts it, and it ends at the first tick with no stream left (or when
//! the dashboard is closed, or the node shuts down), so an idle dashboard
//! costs nothing. It keeps the last minute of rates and the last log
//! entries, which a page that opens later receives first.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use proscenium_runtime::DeadLetter;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::view::{unix_ms, Differ, LogEntry, LogKind, Point, View};
use crate::Node;

/// A server-sent event, its JSON encoded once for every stream.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    pub(crate) name: &'static str,
    pub(crate) data: Arc<str>,
}

/// What one stream receives: a greeting, then the sampler's batches.
#[derive(Debug)]
pub(crate) struct Subscription {
    /// The `hello` event: the recent history and log.
    pub(crate) hello: Encoded,
    /// The newest `snapshot` event, if the sampler was already running:
    /// older than every update (both were read under one lock).
    pub(crate) latest: Option<Encoded>,
    pub(crate) updates: broadcast::Receiver<Arc<[Encoded]>>,
}

/// The sampler's shared half.
#[derive(Debug)]
pub(crate) struct Feed {
    node: Node,
    interval: Duration,
    deadline: Duration,
    closed: CancellationToken,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Set while a sampler task runs; it broadcasts through it.
    sender: Option<broadcast::Sender<Arc<[Encoded]>>>,
    /// The newest view, for a stream that opens between two ticks.
    latest: Option<Encoded>,
    /// Chart points of the last [`HISTORY`].
    history: VecDeque<Point>,
    /// The last [`LOG_KEPT`] log entries.
    log: VecDeque<LogEntry>,
}

/// How far back the chart reaches.
const HISTORY: Duration = Duration::from_secs(60);
/// Log entries a page that opens receives.
const LOG_KEPT: usize = 100;
/// Local dead letters logged one by one per interval; more are counted
/// and logged as one entry, so a flood cannot flood the page too.
const LETTERS_PER_TICK: u32 = 20;
/// Batches a slow stream may fall behind by before it skips some.
const STREAM_BACKLOG: usize = 16;

/// The `hello` event's data.
#[derive(Serialize)]
struct Hello<'a> {
    interval_ms: u64,
    history: &'a VecDeque<Point>,
    log: &'a VecDeque<LogEntry>,
}

impl Feed {
    pub(crate) fn new(
        node: Node,
        interval: Duration,
        deadline: Duration,
        closed: CancellationToken,
    ) -> Self {
        Self {
            node,
            interval,
            deadline,
            closed,
            state: Mutex::default(),
        }
    }

    /// A new stream's greeting and updates; starts the sampler if none runs.
    pub(crate) fn subscribe(self: &Arc<Self>) -> Subscription {
        let mut state = self.lock();
        let updates = match &state.sender {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, updates) = broadcast::channel(STREAM_BACKLOG);
                state.sender = Some(sender.clone());
                state.latest = None;
                tokio::spawn(Arc::clone(self).run(sender));
                updates
            }
        };
        let hello = Hello {
            interval_ms: self.interval.as_millis() as u64,
            history: &state.history,
            log: &state.log,
        };
        Subscription {
            hello: encode("hello", &hello),
            latest: state.latest.clone(),
            updates,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain data, whole after any panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sampler: a snapshot each interval, local dead letters as they come.
    async fn run(self: Arc<Self>, sender: broadcast::Sender<Arc<[Encoded]>>) {
        let mut differ = Differ::new(self.node.id());
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut letters = self.node.system().dead_letters();
        let (mut logged, mut unlogged) = (0u32, 0u64);
        let node_down = self.node.shared().cancel.clone();
        loop {
            tokio::select! {
                () = self.closed.cancelled() => break,
                () = node_down.cancelled() => break,
                _ = ticks.tick() => {
                    if !self.listened_to(&sender) {
                        return;
                    }
                    let cluster = self.node.cluster_snapshot(self.deadline).await;
                    let (view, mut log) = differ.observe(&cluster, Instant::now());
                    if unlogged > 0 {
                        log.push(self.letters_summary(unlogged));
                    }
                    (logged, unlogged) = (0, 0);
                    self.publish_view(&sender, view, log);
                }
                letter = letters.recv() => match letter {
                    None => break,
                    Some(_) if logged >= LETTERS_PER_TICK => unlogged += 1,
                    Some(letter) => {
                        logged += 1;
                        let entry = self.letter_entry(&letter);
                        self.publish(&sender, Vec::new(), vec![entry]);
                    }
                },
            }
        }
        self.lock().sender = None;
    }

    /// Whether a stream still listens; if none does, the sampler ends here,
    /// under the lock, so a stream that opens now starts a new one.
    fn listened_to(&self, sender: &broadcast::Sender<Arc<[Encoded]>>) -> bool {
        let mut state = self.lock();
        if sender.receiver_count() > 0 {
            return true;
        }
        state.sender = None;
        false
    }

    fn publish_view(
        &self,
        sender: &broadcast::Sender<Arc<[Encoded]>>,
        view: View,
        log: Vec<LogEntry>,
    ) {
        let point = view.point();
        let encoded = encode("snapshot", &view);
        let mut state = self.lock();
        state.latest = Some(encoded.clone());
        state.history.push_back(point);
        let horizon = view.at_ms.saturating_sub(HISTORY.as_millis() as u64);
        while state.history.front().is_some_and(|p| p.at_ms < horizon) {
            state.history.pop_front();
        }
        drop(state);
        self.publish(sender, vec![encoded], log);
    }

    /// Keeps `log` for later pages and sends it with `events` to the streams.
    fn publish(
        &self,
        sender: &broadcast::Sender<Arc<[Encoded]>>,
        mut events: Vec<Encoded>,
        log: Vec<LogEntry>,
    ) {
        let mut state = self.lock();
        for entry in log {
            events.push(encode(entry.kind.event_name(), &entry));
            state.log.push_back(entry);
        }
        while state.log.len() > LOG_KEPT {
            state.log.pop_front();
        }
        // Sent under the lock: a stream that subscribes sees each batch
        // either in its greeting or as an update, never both or neither.
        let _ = sender.send(events.into());
    }

    fn letter_entry(&self, letter: &DeadLetter) -> LogEntry {
        let maybe = if letter.possibly_delivered {
            " (possibly delivered)"
        } else {
            ""
        };
        LogEntry {
            at_ms: unix_ms(),
            kind: LogKind::DeadLetter,
            node: self.node.name().to_owned(),
            actor: Some(letter.recipient.to_string()),
            text: format!(
                "{} to {}: {}{maybe}",
                short_type(letter.message_type),
                letter.recipient,
                letter.reason
            ),
        }
    }

    fn letters_summary(&self, unlogged: u64) -> LogEntry {
        LogEntry {
            at_ms: unix_ms(),
            kind: LogKind::DeadLetter,
            node: self.node.name().to_owned(),
            actor: None,
            text: format!("{unlogged} more dead letters, not listed one by one"),
        }
    }
}

/// `value` as the data of a server-sent event called `name`.
fn encode(name: &'static str, value: &impl Serialize) -> Encoded {
    let data = serde_json::to_string(value).unwrap_or_else(|error| {
        // Only maps with non-string keys fail, and the views have none.
        tracing::error!(%error, name, "a dashboard event did not encode");
        "null".to_owned()
    });
    Encoded {
        name,
        data: data.into(),
    }
}

/// The last path segment of a type name, outside its generic arguments.
fn short_type(full: &str) -> &str {
    let outer = full.find('<').unwrap_or(full.len());
    let start = full[..outer].rfind("::").map_or(0, |i| i + 2);
    &full[start..]
}
