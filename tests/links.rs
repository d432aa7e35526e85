//! `Context::link`: two linked actors fail together. A failure of either
//! fails the other (and its supervisor restarts it); a normal stop only
//! ends the link; `unlink` undoes it from either side; linking to an actor
//! that is gone fails the linker at once; and a link reaches across nodes.

mod support_cluster;

use std::time::Duration;

use proscenium::prelude::*;
use proscenium::Failure;
use proscenium::LinkError;
use support_cluster::{connected_pair, within};
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

#[tokio::test]
async fn a_link_to_an_actor_on_another_node_fails_the_linker_when_it_fails() {
    let (a, b, b_id) = connected_pair().await;
    let far = b.system().spawn_named("far", Peer::plain("far")).unwrap();
    let remote = a
        .lookup_on::<Peer>(b_id, "far")
        .await
        .expect("b answers")
        .expect("b has the actor");
    let near = a.system().spawn(Peer::plain("near")).unwrap();
    near.ask(LinkTo(remote)).await.unwrap();
    // The link's watch went out before this lookup, and b answers frames
    // in order: once this is answered, b holds the watch.
    a.lookup_on::<Peer>(b_id, "far")
        .await
        .expect("b answers")
        .expect("b still has the actor");

    far.tell(Crash).await.unwrap();
    let reason = within("near to stop", near.wait_stopped()).await;
    let LinkError::PeerFailed { peer, reason: why } = link_error(&reason) else {
        panic!("not a failed peer: {reason}");
    };
    assert_eq!(peer, far.id());
    // Only the text of the remote failure crossed.
    let failure = why.failure().expect("a failure");
    assert!(
        failure.message().contains("far crashed on request"),
        "{failure}"
    );
    assert!(!failure.is_panic());
    a.shutdown().await;
    b.shutdown().await;
}
