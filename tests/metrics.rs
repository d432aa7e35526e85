//! The metrics move exactly as the `metrics` module documents them
//! (feature `metrics`; run with `cargo test --features metrics --test metrics`).
//!
//! Each test records into its own `DebuggingRecorder`, installed as the
//! test thread's default: the tests run on current-thread runtimes, so the
//! actors, the sampler and the links all run on that thread too, and
//! register their handles with that recorder.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;
use proscenium::prelude::*;
use support::{gate, within, Block, Panic, Record, Recorder, Seen};

/// One metric series: its name and its labels, sorted.
type Series = (String, Vec<(String, String)>);

/// Every series of the snapshot, by name and labels. Taking it resets the
/// recorder's counters, so each test takes one at its end.
fn values(snapshotter: &Snapshotter) -> HashMap<Series, DebugValue> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = key.into_parts();
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            let _: MetricKind = kind;
            ((key.name().to_owned(), labels), value)
        })
        .collect()
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    (name.to_owned(), labels)
}

fn counter(values: &HashMap<Series, DebugValue>, name: &str, labels: &[(&str, &str)]) -> u64 {
    match values.get(&series(name, labels)) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name} {labels:?}: expected a counter, found {other:?}"),
    }
}

fn gauge(values: &HashMap<Series, DebugValue>, name: &str, labels: &[(&str, &str)]) -> f64 {
    match values.get(&series(name, labels)) {
        Some(DebugValue::Gauge(x)) => x.into_inner(),
        other => panic!("{name} {labels:?}: expected a gauge, found {other:?}"),
    }
}

fn histogram_len(
    values: &HashMap<Series, DebugValue>,
    name: &str,
    labels: &[(&str, &str)],
) -> usize {
    match values.get(&series(name, labels)) {
        Some(DebugValue::Histogram(samples)) => samples.len(),
        other => panic!("{name} {labels:?}: expected a histogram, found {other:?}"),
    }
}

/// The type name the actors of these tests are counted under.
fn recorder_type() -> &'static str {
    std::any::type_name::<Recorder<16>>()
}

#[tokio::test]
async fn messages_to_a_named_actor_are_counted_by_type_and_by_name() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let system = System::builder().metrics(true).build();
    let named = system.spawn_named("log", Recorder::<16>::new()).unwrap();

    for value in 0..9 {
        named.tell(Record(value)).await.unwrap();
    }
    // The ask is the tenth message, and answers after the nine tells.
    assert_eq!(named.ask(Seen).await.unwrap().len(), 9);
    system.shutdown().await;

    let values = values(&snapshotter);
    let by_type = [("actor_type", recorder_type())];
    let by_name = [("actor_type", recorder_type()), ("actor_name", "log")];
    for labels in [&by_type[..], &by_name[..]] {
        assert_eq!(
            counter(&values, "proscenium_actor_messages_handled_total", labels),
            10
        );
        assert_eq!(
            histogram_len(&values, "proscenium_actor_handler_seconds", labels),
            10
        );
        assert_eq!(counter(&values, "proscenium_actor_panics_total", labels), 0);
    }
    assert_eq!(counter(&values, "proscenium_actor_spawns_total", &[]), 1);
    assert_eq!(counter(&values, "proscenium_actor_stops_total", &[]), 1);
    assert_eq!(counter(&values, "proscenium_dead_letters_total", &[]), 0);
}

/// Spawns one `Recorder` child, which it supervises, and hands it out.
struct Parent;

impl Actor for Parent {}

struct SpawnChild;
impl Message for SpawnChild {
    type Reply = ActorRef<Recorder<16>>;
}

impl Handler<SpawnChild> for Parent {
    async fn handle(&mut self, _: SpawnChild, ctx: &mut Context<Self>) -> ActorRef<Recorder<16>> {
        ctx.spawn_named("fragile", Recorder::new()).unwrap()
    }
}

#[tokio::test]
async fn a_panic_counts_one_panic_one_failure_and_one_restart() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let system = System::builder().metrics(true).build();
    let parent = system.spawn(Parent).unwrap();
    let child = parent.ask(SpawnChild).await.unwrap();

    assert!(matches!(
        child.ask(Panic("on purpose")).await,
        Err(AskError::Failed { .. })
    ));
    // Served after the restart: the restart has been counted by then.
    assert_eq!(child.ask(Seen).await, Ok(vec![]));
    system.shutdown().await;

    let values = values(&snapshotter);
    for labels in [
        &[("actor_type", recorder_type())][..],
        &[("actor_type", recorder_type()), ("actor_name", "fragile")][..],
    ] {
        assert_eq!(counter(&values, "proscenium_actor_panics_total", labels), 1);
        assert_eq!(
            counter(&values, "proscenium_actor_failures_total", labels),
            1
        );
        assert_eq!(
            counter(&values, "proscenium_actor_restarts_total", labels),
            1
        );
        assert_eq!(
            counter(&values, "proscenium_actor_messages_handled_total", labels),
            2
        );
    }
    let parent_labels = [("actor_type", std::any::type_name::<Parent>())];
    assert_eq!(
        counter(&values, "proscenium_actor_failures_total", &parent_labels),
        0
    );
    assert_eq!(counter(&values, "proscenium_actor_spawns_total", &[]), 2);
    assert_eq!(counter(&values, "proscenium_actor_stops_total", &[]), 2);
}

#[tokio::test]
async fn messages_dropped_by_a_kill_are_counted_as_dead_letters() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let system = System::builder().metrics(true).build();
    let mut dead_letters = system.dead_letters();
    let actor = system.spawn(Recorder::<16>::new()).unwrap();
    let (held, mut control) = gate();
    let blocked = actor.ask(Block(held, 0));
    let mut blocked = std::pin::pin!(blocked);
    tokio::select! {
        _ = &mut blocked => panic!("the gate is closed"),
        () = control.entered() => {}
    }
    actor.tell(Record(1)).await.unwrap();
    actor.tell(Record(2)).await.unwrap();
    // The kill is seen once the handler in hand returns; the two tells
    // queued behind it are then dropped.
    actor.kill();
    control.open();
    for _ in 0..2 {
        within("a dead letter", dead_letters.recv()).await.unwrap();
    }
    actor.wait_stopped().await;

    let values = values(&snapshotter);
    assert_eq!(counter(&values, "proscenium_dead_letters_total", &[]), 2);
    assert_eq!(counter(&values, "proscenium_actor_stops_total", &[]), 1);
}

#[tokio::test(start_paused = true)]
async fn the_sampler_reports_mailbox_depths_and_actors_alive() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let interval = Duration::from_millis(100);
    let system = System::builder()
        .metrics(true)
        .metrics_interval(interval)
        .build();
    let busy = system.spawn_named("busy", Recorder::<16>::new()).unwrap();
    let _idle = system.spawn(Recorder::<16>::new()).unwrap();
    let (held, mut control) = gate();
    busy.tell(Block(held, 0)).await.unwrap();
    control.entered().await;
    for value in 1..=3 {
        busy.tell(Record(value)).await.unwrap();
    }
    // Paused time: this sleep ends after the sampler's next tick, at once.
    tokio::time::sleep(interval * 3 / 2).await;

    let values = values(&snapshotter);
    assert_eq!(gauge(&values, "proscenium_actors_alive", &[]), 2.0);
    let depth = "proscenium_actor_mailbox_depth";
    assert_eq!(
        gauge(&values, depth, &[("actor_type", recorder_type())]),
        3.0
    );
    assert_eq!(
        gauge(
            &values,
            depth,
            &[("actor_type", recorder_type()), ("actor_name", "busy")]
        ),
        3.0
    );
    control.open();
    system.shutdown().await;
}

#[tokio::test]
async fn a_system_without_metrics_records_nothing() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let system = System::new();
    let actor = system.spawn_named("quiet", Recorder::<16>::new()).unwrap();
    actor.tell(Record(1)).await.unwrap();
    assert_eq!(actor.ask(Seen).await, Ok(vec![1]));
    system.shutdown().await;
    assert!(values(&snapshotter).is_empty());
}
