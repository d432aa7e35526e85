//! What an actor logs (in a handler, a start or stop hook, after a
//! restart) is inside its `actor` span, which names the actor's id and
//! type, so a log line says which actor wrote it without the handler
//! saying so. Logs from outside any actor are in no span.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use proscenium::prelude::*;
use proscenium::{ChildSpec, Supervisor, SupervisorStrategy};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Remembers every span's name and fields, which span is entered, and for
/// each event its message with the span it was logged in.
#[derive(Clone, Default)]
struct SpanLog(Arc<Inner>);

#[derive(Default)]
struct Inner {
    next_id: AtomicU64,
    /// The spans made so far, index = id - 1: `name{fields}`.
    spans: Mutex<Vec<String>>,
    /// The entered spans, innermost last (the tests run on one thread).
    entered: Mutex<Vec<u64>>,
    /// `message @ span` for every event, `-` for no span.
    events: Mutex<Vec<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SpanLog {
    /// The span the event whose message is `message` was logged in.
    fn span_of(&self, message: &str) -> Option<String> {
        let prefix = format!("{message} @ ");
        lock(&self.0.events)
            .iter()
            .find_map(|event| event.strip_prefix(&prefix).map(str::to_owned))
    }
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0.push_str(&format!("{value:?}"));
        } else {
            self.0.push_str(&format!("{}={value:?} ", field.name()));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!("{}={value} ", field.name()));
    }
}

impl Subscriber for SpanLog {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut fields = Fields(String::new());
        attributes.record(&mut fields);
        let name = attributes.metadata().name();
        lock(&self.0.spans).push(format!("{name}{{{}}}", fields.0.trim_end()));
        Id::from_u64(self.0.next_id.fetch_add(1, Ordering::SeqCst) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut message = Fields(String::new());
        event.record(&mut message);
        let span = match lock(&self.0.entered).last() {
            Some(id) => lock(&self.0.spans)[*id as usize - 1].clone(),
            None => "-".to_owned(),
        };
        lock(&self.0.events).push(format!("{} @ {span}", message.0));
    }
    fn enter(&self, span: &Id) {
        lock(&self.0.entered).push(span.into_u64());
    }
    fn exit(&self, span: &Id) {
        let mut entered = lock(&self.0.entered);
        if let Some(i) = entered.iter().rposition(|id| *id == span.into_u64()) {
            entered.remove(i);
        }
    }
}

#[derive(Message)]
#[message(reply = ())]
struct Greet;

#[derive(Message)]
#[message(reply = ())]
struct Crash;

struct Greeter;

impl Actor for Greeter {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        tracing::info!("start after {} restarts", ctx.restart_count());
        Ok(())
    }

    async fn on_stop(&mut self, _: &mut Context<Self>, _: &StopReason) {
        tracing::info!("stop");
    }
}

impl Handler<Greet> for Greeter {
    async fn handle(&mut self, _: Greet, ctx: &mut Context<Self>) {
        tracing::info!("greet after {} restarts", ctx.restart_count());
    }
}

impl Handler<Crash> for Greeter {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("crash on purpose");
    }
}

#[tokio::test]
async fn an_actors_logs_name_it_through_its_span() {
    let log = SpanLog::default();
    let _guard = tracing::subscriber::set_default(log.clone());
    let system = System::new();
    let greeter = system.spawn(Greeter).unwrap();
    let expected = format!(
        "actor{{id={} actor={}}}",
        greeter.id(),
        std::any::type_name::<Greeter>()
    );

    greeter.ask(Greet).await.unwrap();
    tracing::info!("outside");
    assert_eq!(
        log.span_of("start after 0 restarts"),
        Some(expected.clone())
    );
    assert_eq!(
        log.span_of("greet after 0 restarts"),
        Some(expected.clone())
    );
    assert_eq!(log.span_of("outside"), Some("-".to_owned()));

    greeter.stop();
    greeter.wait_stopped().await;
    assert_eq!(log.span_of("stop"), Some(expected));
}

#[tokio::test]
async fn a_restarted_actor_logs_in_the_same_span() {
    let log = SpanLog::default();
    let _guard = tracing::subscriber::set_default(log.clone());
    let system = System::new();
    let spec = ChildSpec::new(|| Greeter).name("greeter");
    let supervisor = Supervisor::new(SupervisorStrategy::one_for_one()).child(spec);
    let supervisor = system.spawn(supervisor).unwrap();
    supervisor.ask(proscenium::WhichChildren).await.unwrap();
    let greeter = system.lookup::<Greeter>("greeter").unwrap();
    let expected = format!(
        "actor{{id={} actor={}}}",
        greeter.id(),
        std::any::type_name::<Greeter>()
    );

    assert!(greeter.ask(Crash).await.is_err());
    greeter.ask(Greet).await.unwrap();
    assert_eq!(
        log.span_of("start after 1 restarts"),
        Some(expected.clone())
    );
    assert_eq!(log.span_of("greet after 1 restarts"), Some(expected));
}
