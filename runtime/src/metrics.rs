//! Metrics of a system and its actors, through the `metrics` facade crate
//! (feature `metrics`; the list and meaning of every metric is in the
//! `metrics` module of the `proscenium` crate).
//!
//! What is disabled costs nothing measurable, at two levels:
//!
//! * without the cargo feature none of this is compiled;
//! * with it, a system built without [`SystemBuilder::metrics(true)`]
//!   keeps `None` where the handles would be, so a message pays one
//!   predictable branch and no clock read.
//!
//! When enabled, each actor's handles are registered once, at spawn, with
//! their labels, and kept in its task state, which only its own task
//! touches: a message costs two clock reads and a few updates of handles
//! that the recorder made, with no lookup by name and no atomics of ours.
//! Gauges that would need cross-actor updates on every message (mailbox
//! depths, actors alive) are instead sampled by one task per system every
//! [`SystemBuilder::metrics_interval`].
//!
//! [`SystemBuilder::metrics(true)`]: crate::SystemBuilder::metrics
//! [`SystemBuilder::metrics_interval`]: crate::SystemBuilder::metrics_interval

use std::collections::HashMap;
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Label, Unit};

use crate::cell::AnyActor;
use crate::system::WeakSystem;

/// The metrics' names, as documented in the facade's `metrics` module.
pub(crate) mod name {
    pub(crate) const MESSAGES_HANDLED: &str = "proscenium_actor_messages_handled_total";
    pub(crate) const HANDLER_SECONDS: &str = "proscenium_actor_handler_seconds";
    pub(crate) const MAILBOX_DEPTH: &str = "proscenium_actor_mailbox_depth";
    pub(crate) const RESTARTS: &str = "proscenium_actor_restarts_total";
    pub(crate) const FAILURES: &str = "proscenium_actor_failures_total";
    pub(crate) const PANICS: &str = "proscenium_actor_panics_total";
    pub(crate) const ACTORS_ALIVE: &str = "proscenium_actors_alive";
    pub(crate) const SPAWNS: &str = "proscenium_actor_spawns_total";
    pub(crate) const STOPS: &str = "proscenium_actor_stops_total";
    pub(crate) const DEAD_LETTERS: &str = "proscenium_dead_letters_total";
}

/// The label with the actor's Rust type name.
const ACTOR_TYPE: &str = "actor_type";
/// The label with the name an actor was spawned under.
const ACTOR_NAME: &str = "actor_name";

/// How often the sampler reads mailbox depths and the actor count, unless
/// configured otherwise.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Tells the recorder what each metric is, for exporters that print help.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        name::MESSAGES_HANDLED,
        Unit::Count,
        "Messages an actor's handlers ran for, including ones that panicked."
    );
    describe_histogram!(
        name::HANDLER_SECONDS,
        Unit::Seconds,
        "Time from a handler's start to its end, awaits included."
    );
    describe_gauge!(
        name::MAILBOX_DEPTH,
        Unit::Count,
        "Messages waiting in mailboxes, as last sampled."
    );
    describe_counter!(
        name::RESTARTS,
        Unit::Count,
        "Restarts of actors by their supervisors."
    );
    describe_counter!(
        name::FAILURES,
        Unit::Count,
        "Failures of actors: panics, errors of hooks, Context::fail."
    );
    describe_counter!(name::PANICS, Unit::Count, "Handlers that panicked.");
    describe_gauge!(
        name::ACTORS_ALIVE,
        Unit::Count,
        "Live actors of the system, as last sampled."
    );
    describe_counter!(name::SPAWNS, Unit::Count, "Actors spawned.");
    describe_counter!(name::STOPS, Unit::Count, "Actors stopped, for any reason.");
    describe_counter!(
        name::DEAD_LETTERS,
        Unit::Count,
        "Messages accepted but never handled."
    );
}

// ===== impl SystemMetrics =====

/// The system-wide counters, registered when the system is built.
pub(crate) struct SystemMetrics {
    spawns: Counter,
    stops: Counter,
    dead_letters: Counter,
    /// How often the sampler runs.
    pub(crate) interval: Duration,
}

impl SystemMetrics {
    pub(crate) fn new(interval: Duration) -> Self {
        describe();
        Self {
            spawns: metrics::counter!(name::SPAWNS),
            stops: metrics::counter!(name::STOPS),
            dead_letters: metrics::counter!(name::DEAD_LETTERS),
            interval,
        }
    }

    pub(crate) fn spawned(&self) {
        self.spawns.increment(1);
    }

    pub(crate) fn stopped(&self) {
        self.stops.increment(1);
    }

    pub(crate) fn dead_letter(&self) {
        self.dead_letters.increment(1);
    }
}

// ===== impl ActorMetrics =====

/// One actor's handles: by type, and by name if it was spawned with one.
/// Owned by the actor's task.
pub(crate) struct ActorMetrics {
    by_type: Handles,
    by_name: Option<Handles>,
    /// When the handler of the message in hand started.
    started: Option<Instant>,
}

/// The handles of one label set.
struct Handles {
    handled: Counter,
    handler_seconds: Histogram,
    restarts: Counter,
    failures: Counter,
    panics: Counter,
}

impl Handles {
    fn register(labels: &[Label]) -> Self {
        Self {
            handled: metrics::counter!(name::MESSAGES_HANDLED, labels.iter()),
            handler_seconds: metrics::histogram!(name::HANDLER_SECONDS, labels.iter()),
            restarts: metrics::counter!(name::RESTARTS, labels.iter()),
            failures: metrics::counter!(name::FAILURES, labels.iter()),
            panics: metrics::counter!(name::PANICS, labels.iter()),
        }
    }
}

impl ActorMetrics {
    /// Registers the handles of an actor of type `actor_type`, spawned
    /// under `name` if it has one.
    pub(crate) fn register(actor_type: &'static str, name: Option<&str>) -> Box<Self> {
        let type_label = Label::from_static_parts(ACTOR_TYPE, actor_type);
        let by_name = name.map(|name| {
            Handles::register(&[type_label.clone(), Label::new(ACTOR_NAME, name.to_owned())])
        });
        Box::new(Self {
            by_type: Handles::register(&[type_label]),
            by_name,
            started: None,
        })
    }

    fn each(&self, mut update: impl FnMut(&Handles)) {
        update(&self.by_type);
        if let Some(by_name) = &self.by_name {
            update(by_name);
        }
    }

    /// A handler is about to run.
    pub(crate) fn handling(&mut self) {
        self.started = Some(Instant::now());
    }

    /// The handler started by [`handling`](Self::handling) ended.
    pub(crate) fn handled(&mut self, panicked: bool) {
        let seconds = self
            .started
            .take()
            .map_or(0.0, |started| started.elapsed().as_secs_f64());
        self.each(|handles| {
            handles.handled.increment(1);
            handles.handler_seconds.record(seconds);
            if panicked {
                handles.panics.increment(1);
            }
        });
    }

    pub(crate) fn failed(&self) {
        self.each(|handles| handles.failures.increment(1));
    }

    pub(crate) fn restarted(&self) {
        self.each(|handles| handles.restarts.increment(1));
    }
}

// ===== impl Sampler =====

/// Samples the gauges of one system until the system is gone or shut down.
pub(crate) async fn sample(system: WeakSystem, interval: Duration) {
    let mut sampler = Sampler::default();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(system) = system.upgrade() else {
            return;
        };
        sampler.sample(&system);
        if system.is_shut_down() && system.actor_count() == 0 {
            return;
        }
    }
}

/// The gauges set so far, by label set, so that a type whose last actor
/// stopped (or a name that went away) is set to zero once, then forgotten.
#[derive(Default)]
struct Sampler {
    alive: Option<Gauge>,
    /// Keyed by type name, and name for the per-name gauges.
    depths: HashMap<(&'static str, Option<String>), Gauge>,
}

impl Sampler {
    fn sample(&mut self, system: &crate::System) {
        let mut depths: HashMap<(&'static str, Option<String>), f64> = HashMap::new();
        system.visit_actors(|actor: &dyn AnyActor| {
            *depths.entry((actor.actor_type_name(), None)).or_default() +=
                actor.mailbox_len() as f64;
        });
        system.visit_names(|name, actor| {
            depths.insert(
                (actor.actor_type_name(), Some(name.to_owned())),
                actor.mailbox_len() as f64,
            );
        });
        self.alive
            .get_or_insert_with(|| metrics::gauge!(name::ACTORS_ALIVE))
            .set(system.actor_count() as f64);
        // Gone since the last sample: zero once, then forget.
        self.depths.retain(|key, gauge| {
            let live = depths.contains_key(key);
            if !live {
                gauge.set(0.0);
            }
            live
        });
        for (key, depth) in depths {
            self.depths
                .entry(key)
                .or_insert_with_key(|(actor_type, name)| depth_gauge(actor_type, name.as_deref()))
                .set(depth);
        }
    }
}

fn depth_gauge(actor_type: &'static str, name: Option<&str>) -> Gauge {
    let type_label = Label::from_static_parts(ACTOR_TYPE, actor_type);
    match name {
        None => metrics::gauge!(name::MAILBOX_DEPTH, [type_label].iter()),
        Some(name) => metrics::gauge!(
            name::MAILBOX_DEPTH,
            [type_label, Label::new(ACTOR_NAME, name.to_owned())].iter()
        ),
    }
}
