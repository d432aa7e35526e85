//! A message or reply whose payload fits the frame limit but whose frame,
//! with its header, does not, is refused with an error where it is made;
//! it never reaches the link's writer, where it used to end the whole link
//! (and every frame queued on it) without a trace of its own.

mod support_cluster;

use bytes::Bytes;
use proscenium::net::{Node, NodeEvent, Registry, RemoteMessage};
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};
use support_cluster::{in_process_node, within};

/// The frame limit of both nodes: small, so a test payload can approach it.
const MAX_FRAME: usize = 4096;

#[derive(Default)]
struct Store(usize);
impl Actor for Store {}

/// A payload of the given bytes, told.
#[derive(Serialize, Deserialize)]
struct Put(Bytes);
impl Message for Put {
    type Reply = ();
}
impl RemoteMessage for Put {
    const TAG: &'static str = "tests::near_limit::Put";
}
impl Handler<Put> for Store {
    async fn handle(&mut self, Put(bytes): Put, _: &mut Context<Self>) {
        self.0 += bytes.len();
    }
}

/// Asks for a reply of the given length.
#[derive(Serialize, Deserialize)]
struct Echo(usize);
impl Message for Echo {
    type Reply = Bytes;
}
impl RemoteMessage for Echo {
    const TAG: &'static str = "tests::near_limit::Echo";
}
impl Handler<Echo> for Store {
    async fn handle(&mut self, Echo(len): Echo, _: &mut Context<Self>) -> Bytes {
        Bytes::from(vec![7; len])
    }
}

#[derive(Serialize, Deserialize)]
struct Stored;
impl Message for Stored {
    type Reply = usize;
}
impl RemoteMessage for Stored {
    const TAG: &'static str = "tests::near_limit::Stored";
}
impl Handler<Stored> for Store {
    async fn handle(&mut self, _: Stored, _: &mut Context<Self>) -> usize {
        self.0
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .handler::<Store, Put>()
        .handler::<Store, Echo>()
        .handler::<Store, Stored>();
    registry
}

async fn pair() -> (Node, Node, ActorRef<Store>) {
    let alpha = in_process_node("alpha", true, |node| {
        node.registry(registry()).max_frame_length(MAX_FRAME)
    })
    .await;
    alpha
        .system()
        .spawn_named("store", Store::default())
        .unwrap();
    let beta = in_process_node("beta", false, |node| {
        node.registry(registry()).max_frame_length(MAX_FRAME)
    })
    .await;
    within("beta to connect", beta.connect(alpha.local_addr().unwrap()))
        .await
        .unwrap();
    let store = within("lookup", beta.lookup::<Store>("store"))
        .await
        .expect("store on alpha");
    (alpha, beta, store)
}

/// Whether `events` holds a `NodeDown` now.
fn saw_node_down(events: &mut tokio::sync::broadcast::Receiver<NodeEvent>) -> bool {
    std::iter::from_fn(|| events.try_recv().ok()).any(|e| matches!(e, NodeEvent::NodeDown { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tell_just_under_the_frame_limit_is_refused_and_the_link_stays() {
    let (alpha, beta, store) = pair().await;
    let mut events = beta.events();
    // The payload's own encoding fits the limit; with the frame's header it does not.
    let result = store.tell(Put(Bytes::from(vec![1; MAX_FRAME - 8]))).await;
    assert!(result.is_err(), "an unsendable tell was accepted");
    store.tell(Put(Bytes::from(vec![1; 100]))).await.unwrap();
    assert_eq!(within("the total", store.ask(Stored)).await, Ok(100));
    assert!(!saw_node_down(&mut events), "the link ended");
    beta.shutdown().await;
    alpha.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_just_under_the_frame_limit_fails_the_ask_and_the_link_stays() {
    let (alpha, beta, store) = pair().await;
    let mut events = beta.events();
    let reply = within("the big reply", store.ask(Echo(MAX_FRAME - 8))).await;
    assert!(
        matches!(reply, Err(AskError::Remote(_))),
        "expected a remote error, got {:?}",
        reply.map(|b| b.len())
    );
    assert_eq!(
        within("a small reply", store.ask(Echo(10)))
            .await
            .map(|b| b.len()),
        Ok(10)
    );
    assert!(!saw_node_down(&mut events), "the link ended");
    beta.shutdown().await;
    alpha.shutdown().await;
}
