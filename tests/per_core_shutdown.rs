//! `System::shutdown` under `Placement::PerCore` stops every actor, then
//! ends and joins the system's threads: none is left behind.
//!
//! One test in its own binary: it counts the process's threads by name,
//! and other tests' systems would be counted too.

use proscenium::prelude::*;
use proscenium::Placement;

/// The process's threads that are per-core threads of some system.
#[cfg(target_os = "linux")]
fn core_threads() -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").expect("Linux lists a process's threads");
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .filter(|name| name.starts_with("proscenium-core"))
        .count()
}

struct Keeper(Option<tokio::sync::oneshot::Sender<()>>);
impl Actor for Keeper {
    async fn on_stop(&mut self, _: &mut Context<Self>, _: &StopReason) {
        if let Some(stopped) = self.0.take() {
            let _ = stopped.send(());
        }
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn shutdown_stops_every_actor_then_joins_the_threads() {
    assert_eq!(core_threads(), 0);
    let system = System::builder()
        .placement(Placement::PerCore { threads: 2 })
        .build();
    let mut stops = Vec::new();
    for core in [0, 1, 0, 1] {
        let (stopped, on_stop) = tokio::sync::oneshot::channel();
        let keeper = system.spawn_on(core, Keeper(Some(stopped))).unwrap();
        // Started on its thread: that thread runs, and has its name.
        keeper.wait_started().await.unwrap();
        stops.push(on_stop);
    }
    assert_eq!(core_threads(), 2);
    system.shutdown().await;
    assert_eq!(system.actor_count(), 0);
    for on_stop in stops {
        assert_eq!(on_stop.await, Ok(()), "every actor ran on_stop");
    }
    // `shutdown` has joined every thread; the kernel lists a joined thread
    // until it has reaped it, a moment after the join returns (the exit
    // wakes the joiner before the thread leaves `/proc`). So wait for the
    // listing to catch up: a thread that was never joined, still running,
    // would keep this waiting until the test's time runs out.
    while core_threads() > 0 {
        std::thread::yield_now();
    }
    assert_eq!(
        system.spawn_on(0, Keeper(None)).err(),
        Some(SpawnError::ShutDown)
    );
    // A second shutdown has nothing left to do.
    system.shutdown().await;
}
