//! `send_after` fires once after its delay, `send_interval` every period;
//! `TimerHandle::cancel` stops either, and so does the actor stopping.
//!
//! Time is paused: the clock only moves when every task is idle, straight to
//! the next timer, so a `sleep` here lets virtual time pass without racing.

use std::time::Duration;

use proscenium::prelude::*;
use proscenium::TimerHandle;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Schedules timers on request and reports every `Fire` with the time it came.
struct Ticker {
    log: mpsc::UnboundedSender<(u64, Instant)>,
}

impl Actor for Ticker {}

#[derive(Clone)]
struct Fire(u64);
impl Message for Fire {
    type Reply = ();
}

/// Schedules `Fire(label)` once after the delay.
struct After(u64, Duration);
impl Message for After {
    type Reply = TimerHandle;
}

/// Schedules `Fire(label)` every period.
struct Every(u64, Duration);
impl Message for Every {
    type Reply = TimerHandle;
}

/// Replies once every message queued before it has been handled.
struct Flush;
impl Message for Flush {
    type Reply = ();
}

impl Handler<Fire> for Ticker {
    async fn handle(&mut self, Fire(label): Fire, _ctx: &mut Context<Self>) {
        let _ = self.log.send((label, Instant::now()));
    }
}

impl Handler<After> for Ticker {
    async fn handle(&mut self, After(label, delay): After, ctx: &mut Context<Self>) -> TimerHandle {
        ctx.send_after(Fire(label), delay)
    }
}

impl Handler<Every> for Ticker {
    async fn handle(
        &mut self,
        Every(label, period): Every,
        ctx: &mut Context<Self>,
    ) -> TimerHandle {
        ctx.send_interval(Fire(label), period)
    }
}

impl Handler<Flush> for Ticker {
    async fn handle(&mut self, _: Flush, _ctx: &mut Context<Self>) {}
}

fn ticker(system: &System) -> (ActorRef<Ticker>, mpsc::UnboundedReceiver<(u64, Instant)>) {
    let (log, rx) = mpsc::unbounded_channel();
    (system.spawn(Ticker { log }).unwrap(), rx)
}

/// Lets a long stretch of virtual time pass, then returns every `Fire`
/// handled so far that was not read yet.
async fn fired_after_an_hour(
    ticker: &ActorRef<Ticker>,
    log: &mut mpsc::UnboundedReceiver<(u64, Instant)>,
) -> Vec<u64> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    if ticker.is_alive() {
        ticker.ask(Flush).await.unwrap();
    }
    let mut fired = Vec::new();
    while let Ok((label, _)) = log.try_recv() {
        fired.push(label);
    }
    fired
}

#[tokio::test(start_paused = true)]
async fn send_after_fires_once_after_the_delay() {
    let system = System::new();
    let (ticker, mut log) = ticker(&system);
    let start = Instant::now();

    ticker.ask(After(1, Duration::from_secs(5))).await.unwrap();

    let (label, at) = log.recv().await.unwrap();
    assert_eq!(label, 1);
    assert_eq!(at.duration_since(start).as_secs(), 5);
    assert_eq!(
        fired_after_an_hour(&ticker, &mut log).await,
        Vec::<u64>::new()
    );
}

#[tokio::test(start_paused = true)]
async fn send_interval_fires_every_period() {
    let system = System::new();
    let (ticker, mut log) = ticker(&system);
    let start = Instant::now();

    let handle = ticker.ask(Every(2, Duration::from_secs(1))).await.unwrap();

    for n in 1..=3 {
        let (label, at) = log.recv().await.unwrap();
        assert_eq!(label, 2);
        assert_eq!(at.duration_since(start).as_secs(), n);
    }
    handle.cancel();
}

#[tokio::test(start_paused = true)]
async fn send_interval_with_a_zero_period_ticks_every_millisecond() {
    let system = System::new();
    let (ticker, mut log) = ticker(&system);
    let start = Instant::now();

    let handle = ticker.ask(Every(3, Duration::ZERO)).await.unwrap();

    for n in 1..=3 {
        let tick = tokio::time::timeout(Duration::from_secs(3600), log.recv()).await;
        let (label, at) = tick.expect("a tick within the hour").unwrap();
        assert_eq!(label, 3);
        assert_eq!(at.duration_since(start), Duration::from_millis(n));
    }
    handle.cancel();
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_send_after() {
    let system = System::new();
    let (ticker, mut log) = ticker(&system);
    let handle = ticker.ask(After(3, Duration::from_secs(5))).await.unwrap();

    handle.cancel();

    assert!(handle.is_cancelled());
    assert_eq!(
        fired_after_an_hour(&ticker, &mut log).await,
        Vec::<u64>::new()
    );
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_send_interval() {
    let system = System::new();
    let (ticker, mut log) = ticker(&system);
    let handle = ticker.ask(Every(4, Duration::from_secs(1))).await.unwrap();
    assert_eq!(log.recv().await.unwrap().0, 4);
    assert_eq!(log.recv().await.unwrap().0, 4);

    handle.cancel();

    assert_eq!(
        fired_after_an_hour(&ticker, &mut log).await,
        Vec::<u64>::new()
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_one_timer_leaves_the_others() {
    let system = System::new();
    let (ticker, mut log) = ticker(&system);
    let cancelled = ticker.ask(After(5, Duration::from_secs(5))).await.unwrap();
    let kept = ticker.ask(After(6, Duration::from_secs(5))).await.unwrap();

    cancelled.cancel();

    assert!(!kept.is_cancelled());
    assert_eq!(fired_after_an_hour(&ticker, &mut log).await, vec![6]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_does_not_cancel() {
    let system = System::new();
    let (ticker, mut log) = ticker(&system);

    drop(ticker.ask(After(7, Duration::from_secs(5))).await.unwrap());

    assert_eq!(fired_after_an_hour(&ticker, &mut log).await, vec![7]);
}

#[tokio::test(start_paused = true)]
async fn timers_are_cancelled_when_the_actor_stops() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let (ticker, mut log) = ticker(&system);
    let once = ticker.ask(After(8, Duration::from_secs(5))).await.unwrap();
    let every = ticker.ask(Every(9, Duration::from_secs(1))).await.unwrap();
    assert_eq!(log.recv().await.unwrap().0, 9);

    ticker.stop();
    assert_eq!(ticker.wait_stopped().await, StopReason::Normal);

    assert!(once.is_cancelled());
    assert!(every.is_cancelled());
    assert_eq!(
        fired_after_an_hour(&ticker, &mut log).await,
        Vec::<u64>::new()
    );
    // A timer that outlived its actor would leave a dead letter.
    assert_eq!(dead_letters.try_recv(), None);
}
