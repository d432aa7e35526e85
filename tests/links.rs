//! `Context::link`: two linked actors fail together. A failure of either
//! fails the other (and its supervisor restarts it); a normal stop only
//! ends the link; `unlink` undoes it from either side; linking to an actor
//! that is gone fails the linker at once. Across nodes all of it holds
//! both ways, and a node going down (killed, too) fails the actors linked
//! to its actors with `NodeDown`.

mod support_cluster;

use std::time::Duration;

use proscenium::net::{Node, RemoteSpawn};
use proscenium::prelude::*;
use proscenium::Failure;
use proscenium::LinkError;
use proscenium::NodeId;
use support_cluster::cluster::{LinkWith, Worker};
use support_cluster::{connected_pair, node_down, test_node, within, NodeProcess};
use tokio::sync::mpsc;

/// An actor that links, unlinks and crashes on request, and reports each
/// restart's reason.
struct Peer {
    name: &'static str,
    /// Linked to in `on_start` (so again after each restart).
    link_to: Option<&'static str>,
    restarts: Option<mpsc::UnboundedSender<(&'static str, StopReason)>>,
}

impl Peer {
    fn plain(name: &'static str) -> Self {
        Self {
            name,
            link_to: None,
            restarts: None,
        }
    }
}

impl Actor for Peer {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        if let Some(name) = self.link_to {
            let other = ctx
                .system()
                .lookup::<Peer>(name)
                .ok_or("the actor to link to is not registered")?;
            ctx.link(&other);
        }
        Ok(())
    }

    async fn on_restart(
        &mut self,
        ctx: &mut Context<Self>,
        reason: &StopReason,
    ) -> Result<(), ActorError> {
        // Linked again before the report, so the test sees the new link.
        self.on_start(ctx).await?;
        if let Some(restarts) = &self.restarts {
            let _ = restarts.send((self.name, reason.clone()));
        }
        Ok(())
    }
}

struct LinkTo(ActorRef<Peer>);
impl Message for LinkTo {
    type Reply = ();
}
impl Handler<LinkTo> for Peer {
    async fn handle(&mut self, LinkTo(other): LinkTo, ctx: &mut Context<Self>) {
        ctx.link(&other);
    }
}

struct UnlinkFrom(ActorRef<Peer>);
impl Message for UnlinkFrom {
    type Reply = ();
}
impl Handler<UnlinkFrom> for Peer {
    async fn handle(&mut self, UnlinkFrom(other): UnlinkFrom, ctx: &mut Context<Self>) {
        ctx.unlink(&other);
    }
}

struct Crash;
impl Message for Crash {
    type Reply = ();
}
impl Handler<Crash> for Peer {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("{} crashed on request", self.name);
    }
}

struct Ping;
impl Message for Ping {
    type Reply = &'static str;
}
impl Handler<Ping> for Peer {
    async fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> &'static str {
        self.name
    }
}

/// The link error inside a failure reason.
fn link_error(reason: &StopReason) -> LinkError {
    let failure: &Failure = reason
        .failure()
        .unwrap_or_else(|| panic!("expected a failure, got {reason}"));
    failure
        .downcast_ref::<LinkError>()
        .unwrap_or_else(|| panic!("not a link failure: {failure:?}"))
        .clone()
}

/// Checks that `reason` is the failure of the linked actor `peer`, whose
/// own failure says `text`; returns that failure.
#[track_caller]
fn failed_because_of(reason: &StopReason, peer: ActorId, text: &str) -> Failure {
    let LinkError::PeerFailed {
        peer: failed,
        reason: why,
    } = link_error(reason)
    else {
        panic!("not a failed peer: {reason}");
    };
    assert_eq!(failed, peer);
    let failure = why.failure().expect("a failure").clone();
    assert!(failure.message().contains(text), "{failure}");
    failure
}

#[tokio::test]
async fn a_failure_propagates_both_ways_and_the_supervisor_restarts_the_linked_one() {
    let system = System::new();
    let (tx, mut restarts) = mpsc::unbounded_channel();
    let (tx_a, tx_b) = (tx.clone(), tx);
    let strategy = SupervisorStrategy::one_for_one().intensity(10, Duration::from_secs(60));
    let supervisor = Supervisor::new(strategy)
        .child(
            ChildSpec::new(move || Peer {
                restarts: Some(tx_a.clone()),
                ..Peer::plain("a")
            })
            .name("a"),
        )
        .child(
            ChildSpec::new(move || Peer {
                link_to: Some("a"),
                restarts: Some(tx_b.clone()),
                ..Peer::plain("b")
            })
            .name("b"),
        );
    let supervisor = system.spawn(supervisor).unwrap();
    within("the start", supervisor.wait_started())
        .await
        .unwrap();
    let a = system.lookup::<Peer>("a").unwrap();
    let b = system.lookup::<Peer>("b").unwrap();

    // a fails: a is restarted for its panic, b for the link.
    a.tell(Crash).await.unwrap();
    let mut first = vec![
        within("a restart", restarts.recv()).await.unwrap(),
        within("a restart", restarts.recv()).await.unwrap(),
    ];
    first.sort_by_key(|(name, _)| *name);
    let [(_, a_reason), (_, b_reason)] = <[_; 2]>::try_from(first).unwrap();
    assert!(
        a_reason.failure().is_some_and(Failure::is_panic),
        "{a_reason}"
    );
    assert_eq!(
        link_error(&b_reason),
        LinkError::PeerFailed {
            peer: a.id(),
            reason: a_reason
        }
    );

    // b linked again on its restart; now b fails and takes a with it.
    b.tell(Crash).await.unwrap();
    let mut second = vec![
        within("b restart", restarts.recv()).await.unwrap(),
        within("b restart", restarts.recv()).await.unwrap(),
    ];
    second.sort_by_key(|(name, _)| *name);
    let [(_, a_reason), (_, b_reason)] = <[_; 2]>::try_from(second).unwrap();
    assert!(
        b_reason.failure().is_some_and(Failure::is_panic),
        "{b_reason}"
    );
    assert!(
        matches!(link_error(&a_reason), LinkError::PeerFailed { peer, .. } if peer == b.id()),
        "{a_reason}"
    );
    // Both serve again, same refs.
    assert_eq!(a.ask(Ping).await, Ok("a"));
    assert_eq!(b.ask(Ping).await, Ok("b"));
    system.shutdown().await;
}

#[tokio::test]
async fn a_linked_actor_that_fails_without_a_supervisor_fails_its_peer() {
    let system = System::new();
    let x = system.spawn(Peer::plain("x")).unwrap();
    let y = system.spawn(Peer::plain("y")).unwrap();
    y.ask(LinkTo(x.clone())).await.unwrap();
    x.tell(Crash).await.unwrap();
    let x_reason = within("x to stop", x.wait_stopped()).await;
    let y_reason = within("y to stop", y.wait_stopped()).await;
    assert_eq!(
        link_error(&y_reason),
        LinkError::PeerFailed {
            peer: x.id(),
            reason: x_reason
        }
    );
    assert!(
        y_reason.to_string().contains("x crashed on request"),
        "{y_reason}"
    );
}

#[tokio::test]
async fn a_normal_stop_ends_the_link_without_failing_the_peer() {
    let system = System::new();
    let x = system.spawn(Peer::plain("x")).unwrap();
    let y = system.spawn(Peer::plain("y")).unwrap();
    y.ask(LinkTo(x.clone())).await.unwrap();
    x.stop();
    assert_eq!(
        within("x to stop", x.wait_stopped()).await,
        StopReason::Normal
    );
    // The notice went out before x counted as stopped, on y's signal lane,
    // which y reads before this ask.
    assert_eq!(y.ask(Ping).await, Ok("y"));
    assert!(y.is_alive());
    // Killed is not a failure either.
    let z = system.spawn(Peer::plain("z")).unwrap();
    y.ask(LinkTo(z.clone())).await.unwrap();
    z.kill();
    assert_eq!(
        within("z to stop", z.wait_stopped()).await,
        StopReason::Killed
    );
    assert_eq!(y.ask(Ping).await, Ok("y"));
    system.shutdown().await;
}

#[tokio::test]
async fn unlink_from_either_side_undoes_the_link() {
    let system = System::new();
    let x = system.spawn(Peer::plain("x")).unwrap();
    let y = system.spawn(Peer::plain("y")).unwrap();

    // The side that linked unlinks.
    y.ask(LinkTo(x.clone())).await.unwrap();
    y.ask(UnlinkFrom(x.clone())).await.unwrap();
    x.tell(Crash).await.unwrap();
    assert!(within("x to stop", x.wait_stopped()).await.is_failure());
    assert_eq!(y.ask(Ping).await, Ok("y"));

    // The other side unlinks.
    let z = system.spawn(Peer::plain("z")).unwrap();
    y.ask(LinkTo(z.clone())).await.unwrap();
    z.ask(UnlinkFrom(y.clone())).await.unwrap();
    y.tell(Crash).await.unwrap();
    assert!(within("y to stop", y.wait_stopped()).await.is_failure());
    assert_eq!(z.ask(Ping).await, Ok("z"));
    system.shutdown().await;
}

#[tokio::test]
async fn linking_to_an_actor_that_is_gone_fails_the_linker() {
    let system = System::new();
    let x = system.spawn(Peer::plain("x")).unwrap();
    x.stop();
    assert_eq!(
        within("x to stop", x.wait_stopped()).await,
        StopReason::Normal
    );
    let y = system.spawn(Peer::plain("y")).unwrap();
    // The handler returns (its reply goes out), then y fails.
    y.ask(LinkTo(x.clone())).await.unwrap();
    let reason = within("y to stop", y.wait_stopped()).await;
    assert_eq!(
        link_error(&reason),
        LinkError::PeerGone {
            peer: x.id(),
            reason: StopReason::Normal
        }
    );
}

// ===== across nodes =====

/// Node `a`, connected to node `b`: the linking side is on `a` (named
/// `near`), the actor it links to on `b` (named `far`).
struct Across {
    a: Node,
    b: Node,
    b_id: NodeId,
}

impl Across {
    async fn new() -> Self {
        let (a, b, b_id) = connected_pair().await;
        Self { a, b, b_id }
    }

    /// A plain `near` on `a` and a plain `far` on `b`.
    fn spawn_plain(&self) -> (ActorRef<Peer>, ActorRef<Peer>) {
        let near = self.a.system().spawn_named("near", Peer::plain("near"));
        let far = self.b.system().spawn_named("far", Peer::plain("far"));
        (near.unwrap(), far.unwrap())
    }

    /// Links `near` to `far` on `b`, and returns once `b` holds the link,
    /// with `far` as `a` sees it.
    async fn link(&self, near: &ActorRef<Peer>) -> ActorRef<Peer> {
        let far_from_a = self
            .a
            .lookup_on::<Peer>(self.b_id, "far")
            .await
            .expect("b answers")
            .expect("b has far");
        near.ask(LinkTo(far_from_a.clone())).await.unwrap();
        self.sync_a_to_b().await;
        far_from_a
    }

    /// Returns once `b` has handled every frame `a` sent before: `b` reads
    /// a connection's frames in order, and answers this lookup after them.
    /// A link notice goes to its actor's signal lane, which the actor reads
    /// before any message asked of it afterwards.
    async fn sync_a_to_b(&self) {
        let found = self.a.lookup_on::<Peer>(self.b_id, "far").await;
        found.expect("b answers");
    }

    /// As [`sync_a_to_b`](Self::sync_a_to_b), the other way.
    async fn sync_b_to_a(&self) {
        let found = self.b.lookup_on::<Peer>(self.a.id(), "near").await;
        found.expect("a answers");
    }

    /// Shuts `a` down and waits until `b` has seen it go.
    async fn shut_down_a(&self) {
        let mut events = self.b.events();
        self.a.shutdown().await;
        node_down(&mut events, "a").await;
    }

    async fn shutdown(self) {
        self.a.shutdown().await;
        self.b.shutdown().await;
    }
}

/// Spawns a supervisor of one permanent child, `name`, made by `make`, on
/// `node`, and returns the child once started.
async fn spawn_supervised(
    node: &Node,
    name: &'static str,
    make: impl Fn() -> Peer + Send + Sync + 'static,
) -> ActorRef<Peer> {
    let strategy = SupervisorStrategy::one_for_one().intensity(10, Duration::from_secs(60));
    let supervisor = Supervisor::new(strategy).child(ChildSpec::new(make).name(name));
    let supervisor = node.system().spawn(supervisor).unwrap();
    within("the supervisor to start", supervisor.wait_started())
        .await
        .unwrap();
    node.system().lookup::<Peer>(name).unwrap()
}

#[tokio::test]
async fn a_link_to_an_actor_on_another_node_fails_the_linker_when_it_fails() {
    let across = Across::new().await;
    let (near, far) = across.spawn_plain();
    across.link(&near).await;
    far.tell(Crash).await.unwrap();
    let reason = within("near to stop", near.wait_stopped()).await;
    // Only the text of the remote failure crossed.
    let failure = failed_because_of(&reason, far.id(), "far crashed on request");
    assert!(!failure.is_panic());
    across.shutdown().await;
}

#[tokio::test]
async fn a_failure_of_the_linking_actor_fails_the_actor_on_the_other_node() {
    let across = Across::new().await;
    let (near, far) = across.spawn_plain();
    across.link(&near).await;
    near.tell(Crash).await.unwrap();
    let reason = within("far to stop", far.wait_stopped()).await;
    failed_because_of(&reason, near.id(), "near crashed on request");
    across.shutdown().await;
}

#[tokio::test]
async fn a_restart_in_place_on_the_other_node_fails_the_linker() {
    let across = Across::new().await;
    let near = across.a.system().spawn_named("near", Peer::plain("near"));
    let near = near.unwrap();
    // A restart keeps far's id and is no stop, so watches do not see it;
    // the link ends with far's incarnation all the same.
    let far = spawn_supervised(&across.b, "far", || Peer::plain("far")).await;
    across.link(&near).await;
    far.tell(Crash).await.unwrap();
    let reason = within("near to stop", near.wait_stopped()).await;
    assert!(
        matches!(link_error(&reason), LinkError::PeerFailed { peer, .. } if peer == far.id()),
        "{reason}"
    );
    assert_eq!(far.ask(Ping).await, Ok("far"), "far was not restarted");
    across.shutdown().await;
}

/// Stops itself: a permanent child is restarted, as a new incarnation.
struct StopSelf;
impl Message for StopSelf {
    type Reply = ();
}
impl Handler<StopSelf> for Peer {
    async fn handle(&mut self, _: StopSelf, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[tokio::test]
async fn a_normal_end_of_the_linking_actor_only_ends_the_link_on_the_other_node() {
    let across = Across::new().await;
    let (tx, mut restarts) = mpsc::unbounded_channel();
    let near = spawn_supervised(&across.a, "near", move || Peer {
        restarts: Some(tx.clone()),
        ..Peer::plain("near")
    })
    .await;
    let far = across.b.system().spawn_named("far", Peer::plain("far"));
    let far = far.unwrap();
    across.link(&near).await;

    // A normal end of near's incarnation: the link ends, far goes on.
    near.tell(StopSelf).await.unwrap();
    let (_, reason) = within("near's restart", restarts.recv()).await.unwrap();
    assert_eq!(reason, StopReason::Normal);
    across.sync_a_to_b().await;
    assert_eq!(far.ask(Ping).await, Ok("far"));

    // The restarted near is not linked: its failure stays on a.
    near.tell(Crash).await.unwrap();
    let (_, reason) = within("near's second restart", restarts.recv())
        .await
        .unwrap();
    assert!(reason.is_failure(), "{reason}");
    across.sync_a_to_b().await;
    assert_eq!(far.ask(Ping).await, Ok("far"));

    // Nor does b keep the link: a going down, which fails whoever is
    // linked to its actors, leaves far running.
    across.shut_down_a().await;
    assert_eq!(far.ask(Ping).await, Ok("far"));
    across.b.shutdown().await;
}

#[tokio::test]
async fn unlink_by_the_linking_side_undoes_the_link_on_both_nodes() {
    let across = Across::new().await;
    let (near, far) = across.spawn_plain();
    let far_from_a = across.link(&near).await;
    near.ask(UnlinkFrom(far_from_a)).await.unwrap();
    near.tell(Crash).await.unwrap();
    let reason = within("near to stop", near.wait_stopped()).await;
    assert!(reason.is_failure(), "{reason}");
    across.sync_a_to_b().await;
    assert_eq!(far.ask(Ping).await, Ok("far"));
    // b kept nothing of the link: a going down leaves far running.
    across.shut_down_a().await;
    assert_eq!(far.ask(Ping).await, Ok("far"));
    across.b.shutdown().await;
}

#[tokio::test]
async fn unlink_by_the_other_side_undoes_the_link_on_both_nodes() {
    let across = Across::new().await;
    let (near, far) = across.spawn_plain();
    across.link(&near).await;
    let near_from_b = across
        .b
        .lookup_on::<Peer>(across.a.id(), "near")
        .await
        .expect("a answers")
        .expect("a has near");
    far.ask(UnlinkFrom(near_from_b)).await.unwrap();
    // near's watch of far went with the link: far's failure stays on b.
    far.tell(Crash).await.unwrap();
    let reason = within("far to stop", far.wait_stopped()).await;
    assert!(reason.is_failure(), "{reason}");
    across.sync_b_to_a().await;
    assert_eq!(near.ask(Ping).await, Ok("near"));
    across.shutdown().await;
}

#[tokio::test]
async fn the_linking_node_going_down_fails_the_actor_on_the_other_node() {
    let across = Across::new().await;
    let (near, far) = across.spawn_plain();
    across.link(&near).await;
    across.shut_down_a().await;
    let reason = within("far to stop", far.wait_stopped()).await;
    assert_eq!(
        link_error(&reason),
        LinkError::PeerFailed {
            peer: near.id(),
            reason: StopReason::NodeDown
        }
    );
    across.b.shutdown().await;
}

#[tokio::test]
async fn killing_the_linking_node_process_fails_the_linked_actor_with_node_down() {
    // The linking actor lives in a node process, killed with SIGKILL.
    let mut one = NodeProcess::start("one").await;
    let two = test_node("two").await;
    let one_id = two.connect(one.addr).await.expect("connect to one");
    let linker = two
        .spawn_remote::<Worker>(one_id, "linker".to_owned())
        .await
        .expect("spawn on one");
    let linked = two
        .system()
        .spawn(Worker::from_args("linked".to_owned()))
        .unwrap();
    // The link's frames go out before the reply, on the same connection.
    linker.ask(LinkWith(linked.clone())).await.unwrap();

    one.kill().await;
    let reason = within("the linked actor to stop", linked.wait_stopped()).await;
    assert_eq!(
        link_error(&reason),
        LinkError::PeerFailed {
            peer: linker.id(),
            reason: StopReason::NodeDown
        }
    );
    two.shutdown().await;
}
