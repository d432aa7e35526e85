//! Replies, `Terminated` notices, watch requests and link frames are
//! scoped by the peer that sent them: a third node that knows (or guesses)
//! a correlation id, an actor id or a watcher id cannot answer another
//! node's ask, end another node's watch, cancel a watch made on the node
//! itself, or make, undo or fail a link in another node's name.

mod support_cluster;

use proscenium::net::{wire, Frame, Registry, RemoteMessage, RemoteSpawn};
use proscenium::prelude::*;
use proscenium::{ActorId, LinkError};
use serde::{Deserialize, Serialize};
use support_cluster::cluster::{self, Crash, LinkWith, Worker};
use support_cluster::rogue::Rogue;
use support_cluster::{in_process_node, within, Monitor, Watch};
use tokio::sync::{mpsc, oneshot};

/// Answers `Hold` only when the test releases it, so its ask stays pending.
struct Gate {
    arrived: mpsc::UnboundedSender<oneshot::Sender<u64>>,
}
impl Actor for Gate {}

#[derive(Serialize, Deserialize)]
struct Hold;
impl Message for Hold {
    type Reply = u64;
}
impl RemoteMessage for Hold {
    const TAG: &'static str = "tests::frames_trusted::Hold";
}
impl Handler<Hold> for Gate {
    async fn handle(&mut self, _: Hold, _: &mut Context<Self>) -> u64 {
        let (release, released) = oneshot::channel();
        let _ = self.arrived.send(release);
        released.await.unwrap_or(0)
    }
}

fn registry() -> Registry {
    let mut registry = cluster::registry();
    registry.handler::<Gate, Hold>();
    registry
}

#[tokio::test]
async fn a_reply_from_another_peer_does_not_answer_an_ask() {
    let b = in_process_node("b", true, |n| n.registry(registry())).await;
    let a = in_process_node("a", true, |n| n.registry(registry())).await;
    let (arrived, mut arrivals) = mpsc::unbounded_channel();
    b.system()
        .spawn_named("gate", Gate { arrived })
        .expect("spawn the gate");
    a.connect(b.local_addr().expect("b listens"))
        .await
        .expect("connect to b");
    let gate = a.lookup::<Gate>("gate").await.expect("the gate, on b");
    let asked = tokio::spawn(async move { gate.ask(Hold).await });
    let release = within("the ask to reach b", arrivals.recv())
        .await
        .expect("the gate is alive");

    // Correlation ids are small counters: a rogue peer can spray them all.
    let mut rogue = Rogue::connect(a.local_addr().expect("a listens"), "rogue").await;
    let forged = bytes::Bytes::from(wire::encode(&666u64, 1024).expect("encode"));
    for correlation in 0..256 {
        rogue
            .send(Frame::Reply {
                correlation,
                result: Ok(forged.clone()),
            })
            .await;
    }
    rogue.sync().await;

    release.send(7).expect("the gate waits");
    let answer = within("the real reply", asked).await.expect("the ask task");
    assert_eq!(answer, Ok(7), "the ask took a reply from another peer");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_terminated_notice_counts_only_from_the_node_of_the_actor() {
    let b = in_process_node("b", true, |n| n).await;
    let a = in_process_node("a", true, |n| n).await;
    let b_id = a
        .connect(b.local_addr().expect("b listens"))
        .await
        .expect("connect to b");
    let worker = a
        .spawn_remote::<Worker>(b_id, "watched".to_owned())
        .await
        .expect("spawn on b");
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor.ask(Watch(worker.clone())).await.expect("watch");

    let mut rogue = Rogue::connect(a.local_addr().expect("a listens"), "rogue").await;
    rogue
        .send(Frame::Terminated {
            id: worker.id(),
            reason: StopReason::Killed,
        })
        .await;
    rogue.sync().await;

    worker.stop();
    let terminated = within("the Terminated", reports.recv()).await.unwrap();
    assert_eq!(
        terminated,
        Terminated {
            id: worker.id(),
            reason: StopReason::Normal
        },
        "a notice from another peer ended the watch"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_peer_cannot_cancel_or_take_over_a_local_watch() {
    let b = in_process_node("b", true, |n| n).await;
    let first = b
        .system()
        .spawn(Worker::from_args("first".to_owned()))
        .expect("spawn");
    let second = b
        .system()
        .spawn(Worker::from_args("second".to_owned()))
        .expect("spawn");
    let (monitor, mut reports) = Monitor::spawn(b.system());
    monitor.ask(Watch(first.clone())).await.expect("watch");
    monitor.ask(Watch(second.clone())).await.expect("watch");

    // The watcher id is the local monitor's: a peer's frames must not
    // reach the watch the monitor made, even a peer given `first`'s ref.
    b.system().register("first", &first).expect("a free name");
    let mut rogue = Rogue::connect(b.local_addr().expect("b listens"), "rogue").await;
    let (target, seal) = rogue.lookup("first").await.expect("first is registered");
    rogue
        .send(Frame::Watch {
            target,
            seal,
            watcher: monitor.id(),
        })
        .await;
    rogue
        .send(Frame::Unwatch {
            target: first.id(),
            watcher: monitor.id(),
        })
        .await;
    rogue.sync().await;

    first.stop();
    second.stop();
    let terminated = within("the first Terminated", reports.recv())
        .await
        .unwrap();
    assert_eq!(
        terminated.id,
        first.id(),
        "the monitor's watch of `first` was cancelled by another node"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn a_peer_holds_at_most_its_quota_of_watches() {
    let b = in_process_node("b", true, |n| n.max_watches_per_peer(3)).await;
    let worker = b
        .system()
        .spawn(Worker::from_args("watched".to_owned()))
        .expect("spawn");
    b.system()
        .register("watched", &worker)
        .expect("a free name");
    let mut rogue = Rogue::connect(b.local_addr().expect("b listens"), "rogue").await;
    let (target, seal) = rogue.lookup("watched").await.expect("registered");
    // Each watch with a new watcher id would cost b memory for as long as
    // the worker lives; past the quota the watch is refused at once.
    for seq in 1..=4 {
        rogue
            .send(Frame::Watch {
                target,
                seal,
                watcher: ActorId::new(rogue.id, seq),
            })
            .await;
    }
    let refused = rogue
        .next(|frame| matches!(frame, Frame::Terminated { .. }))
        .await;
    assert_eq!(
        refused,
        Frame::Terminated {
            id: worker.id(),
            reason: StopReason::NodeDown
        }
    );
    // The three watches within the quota hold: one notice for them when
    // the worker stops (the notice names the actor, not the watcher).
    worker.stop();
    let terminated = rogue
        .next(|frame| matches!(frame, Frame::Terminated { .. }))
        .await;
    assert_eq!(
        terminated,
        Frame::Terminated {
            id: worker.id(),
            reason: StopReason::Normal
        }
    );
    b.shutdown().await;
}

#[tokio::test]
async fn link_frames_count_only_from_the_node_of_the_linked_actor() {
    let b = in_process_node("b", true, |n| n).await;
    let a = in_process_node("a", false, |n| n).await;
    a.connect(b.local_addr().expect("b listens"))
        .await
        .expect("connect to b");
    let far = b
        .system()
        .spawn(Worker::from_args("far".to_owned()))
        .expect("spawn");
    b.system().register("far", &far).expect("a free name");
    let near = a
        .system()
        .spawn(Worker::from_args("near".to_owned()))
        .expect("spawn");
    let far_from_a = a.lookup::<Worker>("far").await.expect("far, on b");
    near.ask(LinkWith(far_from_a))
        .await
        .expect("near links far");

    // Each names near, an actor of a, as the far end: only a may.
    let mut rogue = Rogue::connect(b.local_addr().expect("b listens"), "rogue").await;
    let (to, seal) = rogue.lookup("far").await.expect("far is registered");
    let forged = [
        Frame::LinkDown {
            to,
            from: near.id(),
            token: u64::MAX,
            reason: StopReason::Failed("forged".into()),
        },
        Frame::Unlink {
            to,
            from: near.id(),
            token: u64::MAX,
        },
        Frame::Link {
            to,
            seal,
            from: near.id(),
            token: 1,
        },
    ];
    for frame in forged {
        rogue.send(frame).await;
    }
    rogue.sync().await;
    assert_eq!(b.stats().link_frames_refused, 3);

    // The real link holds: near's failure fails far, and names near.
    near.tell(Crash).await.expect("near is alive");
    let reason = within("far to stop", far.wait_stopped()).await;
    let failure = reason.failure().expect("far failed");
    let Some(LinkError::PeerFailed { peer, reason: why }) = failure.downcast_ref::<LinkError>()
    else {
        panic!("not a link failure: {failure}");
    };
    assert_eq!(*peer, near.id());
    assert!(why.to_string().contains("near crashed"), "{why}");
    a.shutdown().await;
    b.shutdown().await;
}
