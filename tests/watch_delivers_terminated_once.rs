//! Watching an actor yields exactly one `Terminated { id, reason }` when it
//! stops, for any reason, even if it had stopped before the watch; `unwatch`
//! means none; and the notice overtakes a full mailbox.

mod support;

use proscenium::prelude::*;
use support::{gate, Gate, Panic, Recorder};
use tokio::sync::mpsc;

/// What an [`Observer`] handled, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Terminated(Terminated),
    Note(u64),
}

/// Watches on request and reports every notice and note it handles.
struct Observer<const CAPACITY: usize = 16> {
    events: mpsc::UnboundedSender<Event>,
}

impl<const CAPACITY: usize> Actor for Observer<CAPACITY> {
    fn mailbox() -> Mailbox {
        Mailbox::Bounded(CAPACITY)
    }
}

struct Watch(ActorRef<Recorder>);
impl Message for Watch {
    type Reply = ();
}

struct Unwatch(ActorRef<Recorder>);
impl Message for Unwatch {
    type Reply = ();
}

/// Reported as [`Event::Note`] when handled; asked for to flush the signal lane.
struct Note(u64);
impl Message for Note {
    type Reply = ();
}

struct Hold(Gate);
impl Message for Hold {
    type Reply = ();
}

/// Waits at the gate, then unwatches the target.
struct HoldThenUnwatch(Gate, ActorRef<Recorder>);
impl Message for HoldThenUnwatch {
    type Reply = ();
}

impl<const CAPACITY: usize> Handler<Watch> for Observer<CAPACITY> {
    async fn handle(&mut self, Watch(target): Watch, ctx: &mut Context<Self>) {
        ctx.watch(&target);
    }
}

impl<const CAPACITY: usize> Handler<Unwatch> for Observer<CAPACITY> {
    async fn handle(&mut self, Unwatch(target): Unwatch, ctx: &mut Context<Self>) {
        ctx.unwatch(&target);
    }
}

impl<const CAPACITY: usize> Handler<Note> for Observer<CAPACITY> {
    async fn handle(&mut self, Note(n): Note, _ctx: &mut Context<Self>) {
        let _ = self.events.send(Event::Note(n));
    }
}

impl<const CAPACITY: usize> Handler<Hold> for Observer<CAPACITY> {
    async fn handle(&mut self, Hold(gate): Hold, _ctx: &mut Context<Self>) {
        gate.pass().await;
    }
}

impl<const CAPACITY: usize> Handler<HoldThenUnwatch> for Observer<CAPACITY> {
    async fn handle(&mut self, msg: HoldThenUnwatch, ctx: &mut Context<Self>) {
        let HoldThenUnwatch(gate, target) = msg;
        gate.pass().await;
        ctx.unwatch(&target);
    }
}

impl<const CAPACITY: usize> Handler<Terminated> for Observer<CAPACITY> {
    async fn handle(&mut self, terminated: Terminated, _ctx: &mut Context<Self>) {
        let _ = self.events.send(Event::Terminated(terminated));
    }
}

fn observer<const CAPACITY: usize>() -> (Observer<CAPACITY>, mpsc::UnboundedReceiver<Event>) {
    let (events, rx) = mpsc::unbounded_channel();
    (Observer { events }, rx)
}

/// Everything the observer reports up to and including the `Note` asked for
/// now. Notices already on the signal lane are handled before that note.
async fn events_until_flushed<const C: usize>(
    observer: &ActorRef<Observer<C>>,
    events: &mut mpsc::UnboundedReceiver<Event>,
) -> Vec<Event> {
    observer.ask(Note(u64::MAX)).await.unwrap();
    let mut seen = Vec::new();
    while let Some(event) = events.recv().await {
        if event == Event::Note(u64::MAX) {
            return seen;
        }
        seen.push(event);
    }
    panic!("the observer stopped before the flush");
}

fn terminated(target: &ActorRef<Recorder>, reason: StopReason) -> Event {
    Event::Terminated(Terminated {
        id: target.id(),
        reason,
    })
}

#[tokio::test]
async fn one_notice_with_id_and_reason_when_the_target_stops() {
    let system = System::new();
    let (observer, mut events) = observer::<16>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();

    target.stop();
    target.wait_stopped().await;

    assert_eq!(
        events_until_flushed(&observer, &mut events).await,
        vec![terminated(&target, StopReason::Normal)]
    );
}

#[tokio::test]
async fn one_notice_when_the_target_is_killed() {
    let system = System::new();
    let (observer, mut events) = observer::<16>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();

    target.kill();
    target.wait_stopped().await;

    assert_eq!(
        events_until_flushed(&observer, &mut events).await,
        vec![terminated(&target, StopReason::Killed)]
    );
}

#[tokio::test]
async fn one_notice_with_the_panic_text_when_the_target_fails() {
    let system = System::new();
    let (observer, mut events) = observer::<16>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();

    target.tell(Panic("kaput")).await.unwrap();
    let reason = target.wait_stopped().await;

    assert!(matches!(&reason, StopReason::Failed(text) if text.message().contains("kaput")));
    assert_eq!(
        events_until_flushed(&observer, &mut events).await,
        vec![terminated(&target, reason)]
    );
}

#[tokio::test]
async fn watching_twice_yields_one_notice() {
    let system = System::new();
    let (observer, mut events) = observer::<16>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();

    target.stop();
    target.wait_stopped().await;

    assert_eq!(
        events_until_flushed(&observer, &mut events).await,
        vec![terminated(&target, StopReason::Normal)]
    );
}

#[tokio::test]
async fn watching_an_actor_already_dead_yields_one_notice_with_its_reason() {
    let system = System::new();
    let (observer, mut events) = observer::<16>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    target.kill();
    target.wait_stopped().await;

    observer.ask(Watch(target.clone())).await.unwrap();

    assert_eq!(
        events_until_flushed(&observer, &mut events).await,
        vec![terminated(&target, StopReason::Killed)]
    );
}

#[tokio::test]
async fn unwatch_means_no_notice() {
    let system = System::new();
    let (observer, mut events) = observer::<16>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();
    observer.ask(Unwatch(target.clone())).await.unwrap();

    target.stop();
    target.wait_stopped().await;

    assert_eq!(events_until_flushed(&observer, &mut events).await, vec![]);
}

#[tokio::test]
async fn unwatch_drops_a_notice_already_on_its_way() {
    let system = System::new();
    let (observer, mut events) = observer::<16>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();
    let (gate, mut control) = gate();
    observer
        .tell(HoldThenUnwatch(gate, target.clone()))
        .await
        .unwrap();
    control.entered().await;

    // The notice reaches the observer's signal lane while it is held...
    target.stop();
    target.wait_stopped().await;
    // ...and the observer unwatches before it gets to the notice.
    control.open();

    assert_eq!(events_until_flushed(&observer, &mut events).await, vec![]);
}

#[tokio::test]
async fn watch_unwatch_watch_yields_one_notice() {
    let system = System::new();
    let (observer, mut events) = observer::<16>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();
    observer.ask(Unwatch(target.clone())).await.unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();

    target.stop();
    target.wait_stopped().await;

    assert_eq!(
        events_until_flushed(&observer, &mut events).await,
        vec![terminated(&target, StopReason::Normal)]
    );
}

#[tokio::test]
async fn every_watcher_gets_its_own_notice() {
    let system = System::new();
    let (first, mut first_events) = observer::<16>();
    let (second, mut second_events) = observer::<16>();
    let first = system.spawn(first).unwrap();
    let second = system.spawn(second).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    first.ask(Watch(target.clone())).await.unwrap();
    second.ask(Watch(target.clone())).await.unwrap();

    target.kill();
    target.wait_stopped().await;

    let expected = vec![terminated(&target, StopReason::Killed)];
    assert_eq!(
        events_until_flushed(&first, &mut first_events).await,
        expected
    );
    assert_eq!(
        events_until_flushed(&second, &mut second_events).await,
        expected
    );
}

#[tokio::test]
async fn the_notice_overtakes_a_full_mailbox() {
    let system = System::new();
    let (observer, mut events) = observer::<2>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();
    let (gate, mut control) = gate();
    observer.tell(Hold(gate)).await.unwrap();
    control.entered().await;
    observer.tell(Note(1)).await.unwrap();
    observer.tell(Note(2)).await.unwrap();
    assert!(observer.try_tell(Note(3)).unwrap_err().is_full());

    target.stop();
    target.wait_stopped().await;
    control.open();

    assert_eq!(
        events_until_flushed(&observer, &mut events).await,
        vec![
            terminated(&target, StopReason::Normal),
            Event::Note(1),
            Event::Note(2),
        ]
    );
}

#[tokio::test]
async fn a_watcher_that_stopped_first_gets_nothing_and_the_target_is_unaffected() {
    let system = System::new();
    let (observer, _events) = observer::<16>();
    let observer = system.spawn(observer).unwrap();
    let target = system.spawn(Recorder::new()).unwrap();
    observer.ask(Watch(target.clone())).await.unwrap();
    observer.stop();
    observer.wait_stopped().await;

    target.stop();

    assert_eq!(target.wait_stopped().await, StopReason::Normal);
}
