//! A ref or recipient of a local actor that went to another node inside a
//! message and came back in a reply is the local one again: it reaches the
//! actor directly, not through a link to its own node (which there is not).

mod support_cluster;

use proscenium::net::Node;
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};
use support_cluster::within;

/// Adds one; the sink answers with the sum so far.
#[derive(Message, Serialize, Deserialize)]
#[message(reply = u32, remote = "tests.recipient_comes_home.Note")]
struct Note(u32);

/// Hands a recipient back.
#[derive(Message, Serialize, Deserialize)]
#[message(reply = Recipient<Note>, remote = "tests.recipient_comes_home.Echo")]
struct Echo(Recipient<Note>);

/// Hands a ref back.
#[derive(Message, Serialize, Deserialize)]
#[message(reply = ActorRef<Sink>, remote = "tests.recipient_comes_home.EchoRef")]
struct EchoRef(ActorRef<Sink>);

#[derive(Actor, Default)]
#[actor(remote(Note))]
struct Sink {
    sum: u32,
}

impl Handler<Note> for Sink {
    async fn handle(&mut self, Note(n): Note, _: &mut Context<Self>) -> u32 {
        self.sum += n;
        self.sum
    }
}

#[derive(Actor)]
#[actor(remote(Echo, EchoRef))]
struct Mirror;

impl Handler<Echo> for Mirror {
    async fn handle(&mut self, Echo(back): Echo, _: &mut Context<Self>) -> Recipient<Note> {
        back
    }
}

impl Handler<EchoRef> for Mirror {
    async fn handle(&mut self, EchoRef(back): EchoRef, _: &mut Context<Self>) -> ActorRef<Sink> {
        back
    }
}

const SECRET: &[u8] = b"recipient comes home secret, 32b";

/// `home`, and the ref it holds to `away`'s mirror.
async fn two_nodes() -> (Node, Node, ActorRef<Mirror>) {
    let away = Node::builder("away")
        .secret(SECRET)
        .listen("127.0.0.1:0".parse().expect("a loopback address"))
        .start()
        .await
        .expect("start away");
    away.system().spawn_named("mirror", Mirror).expect("spawn");
    let home = Node::builder("home")
        .secret(SECRET)
        .start()
        .await
        .expect("start home");
    let addr = away.local_addr().expect("away listens");
    within("connect", home.connect(addr))
        .await
        .expect("connect");
    let mirror = within("lookup", home.lookup::<Mirror>("mirror"))
        .await
        .expect("away has a mirror");
    (home, away, mirror)
}

#[tokio::test]
async fn a_recipient_back_from_another_node_reaches_the_local_actor() {
    let (home, away, mirror) = two_nodes().await;
    let sink = home.system().spawn(Sink::default()).expect("spawn");

    let back = within("echo", mirror.ask(Echo(sink.recipient())))
        .await
        .expect("the mirror answers");

    assert_eq!(back.id(), sink.id());
    assert!(back.is_alive());
    assert_eq!(within("ask", back.ask(Note(40))).await, Ok(40));
    within("tell", back.tell(Note(2))).await.expect("tell");
    assert_eq!(sink.ask(Note(0)).await, Ok(42));
    home.shutdown().await;
    away.shutdown().await;
}

#[tokio::test]
async fn a_ref_back_from_another_node_is_local() {
    let (home, away, mirror) = two_nodes().await;
    let sink = home.system().spawn(Sink::default()).expect("spawn");

    let back = within("echo", mirror.ask(EchoRef(sink.clone())))
        .await
        .expect("the mirror answers");

    assert!(back.is_local());
    assert_eq!(back, sink);
    assert_eq!(within("ask", back.ask(Note(7))).await, Ok(7));
    home.shutdown().await;
    away.shutdown().await;
}

#[tokio::test]
async fn a_ref_back_to_a_stopped_local_actor_reports_it_stopped() {
    let (home, away, mirror) = two_nodes().await;
    let sink = home.system().spawn(Sink::default()).expect("spawn");
    sink.stop();
    within("the sink to stop", sink.wait_stopped()).await;

    let back = within("echo", mirror.ask(EchoRef(sink.clone())))
        .await
        .expect("the mirror answers");
    let recipient = within("echo", mirror.ask(Echo(sink.recipient())))
        .await
        .expect("the mirror answers");

    assert!(!back.is_alive());
    assert!(matches!(
        back.tell(Note(1)).await,
        Err(SendError::Stopped(Note(1)))
    ));
    assert_eq!(back.ask(Note(1)).await, Err(AskError::Stopped));
    assert_eq!(
        within("wait_stopped", back.wait_stopped()).await,
        StopReason::Normal
    );
    assert!(!recipient.is_alive());
    assert!(matches!(
        recipient.tell(Note(2)).await,
        Err(SendError::Stopped(Note(2)))
    ));
    assert_eq!(recipient.ask(Note(2)).await, Err(AskError::Stopped));
    home.shutdown().await;
    away.shutdown().await;
}
