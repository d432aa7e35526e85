//! `ActorRef::send_ask` on a remote ref: the ask is queued on the link when
//! `send_ask` returns, and its `PendingReply` resolves to the remote reply.

mod support_cluster;

use proscenium::net::Node;
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};
use support_cluster::within;

#[derive(Message, Serialize, Deserialize)]
#[message(reply = u64, remote = "tests.remote_send_ask.Deposit")]
struct Deposit(u64);

#[derive(Actor, Default)]
#[actor(remote(Deposit))]
struct Account {
    total: u64,
}

impl Handler<Deposit> for Account {
    async fn handle(&mut self, Deposit(n): Deposit, _: &mut Context<Self>) -> u64 {
        self.total += n;
        self.total
    }
}

const SECRET: &[u8] = b"remote send_ask test secret, 32b";

#[tokio::test]
async fn send_ask_to_a_remote_actor_queues_in_order_and_replies() {
    let bank = Node::builder("bank")
        .secret(SECRET)
        .listen("127.0.0.1:0".parse().expect("a loopback address"))
        .start()
        .await
        .expect("start bank");
    bank.system()
        .spawn_named("account", Account::default())
        .expect("spawn");
    let client = Node::builder("client")
        .secret(SECRET)
        .start()
        .await
        .expect("start client");
    let addr = bank.local_addr().expect("bank listens");
    within("connect", client.connect(addr))
        .await
        .expect("connect");
    let account = within("lookup", client.lookup::<Account>("account"))
        .await
        .expect("found on the bank node");
    assert!(!account.is_local());

    // Three asks queued before any reply is awaited...
    let mut pending = Vec::new();
    for n in [1, 2, 3] {
        let queued = within("send_ask", account.send_ask(Deposit(n))).await;
        pending.push(queued.expect("queued on the link"));
    }
    // ...are handled in order: a plain ask sent after them sees all three.
    assert_eq!(within("ask", account.ask(Deposit(0))).await, Ok(6));
    let mut replies = Vec::new();
    for reply in pending {
        replies.push(within("a pending reply", reply.recv()).await);
    }
    assert_eq!(replies, vec![Ok(1), Ok(3), Ok(6)]);

    // Once the bank is gone, a queued ask fails as a plain ask would.
    bank.shutdown().await;
    let after = within("send_ask", account.send_ask(Deposit(1))).await;
    let failed = match after {
        Ok(reply) => within("a pending reply", reply.recv()).await,
        Err(error) => Err(error),
    };
    assert_eq!(failed, Err(AskError::NodeDown));
    client.shutdown().await;
}
