//! Types marked remote by the derive macros are registered at link time:
//! two nodes with default registries reach each other's actors.

use proscenium::net::{Node, NodeError};
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Message, Serialize, Deserialize)]
#[message(reply = u64, remote)]
struct Deposit(u64);

#[derive(Message, Serialize, Deserialize)]
#[message(reply = u64, remote = "tests.remote_derive.Balance")]
struct Balance;

/// Not marked remote: it must not cross the wire.
#[derive(Message)]
struct LocalOnly;

#[derive(Actor, Default)]
#[actor(remote(Deposit, Balance))]
struct Account {
    total: u64,
}

impl Handler<Deposit> for Account {
    async fn handle(&mut self, Deposit(n): Deposit, _: &mut Context<Self>) -> u64 {
        self.total += n;
        self.total
    }
}

impl Handler<Balance> for Account {
    async fn handle(&mut self, _: Balance, _: &mut Context<Self>) -> u64 {
        self.total
    }
}

impl Handler<LocalOnly> for Account {
    async fn handle(&mut self, _: LocalOnly, _: &mut Context<Self>) {}
}

const SECRET: &[u8] = b"remote derive test secret, 32 b.";

async fn two_nodes() -> Result<(Node, Node), NodeError> {
    let bank = Node::builder("bank")
        .secret(SECRET)
        .listen("127.0.0.1:0".parse().unwrap())
        .start()
        .await?;
    let client = Node::builder("client").secret(SECRET).start().await?;
    client.connect(bank.local_addr().unwrap()).await?;
    Ok((bank, client))
}

#[tokio::test]
async fn derived_remote_types_work_across_nodes() {
    let (bank, client) = two_nodes().await.unwrap();
    bank.system()
        .spawn_named("account", Account::default())
        .unwrap();
    let account = client
        .lookup::<Account>("account")
        .await
        .expect("found on the bank node");
    assert!(!account.is_local());
    account.tell(Deposit(5)).await.unwrap();
    assert_eq!(account.ask(Deposit(7)).await, Ok(12));
    assert_eq!(account.ask(Balance).await, Ok(12));
    client.shutdown().await;
    bank.shutdown().await;
}

#[tokio::test]
async fn a_message_not_marked_remote_is_refused_not_panicked() {
    let (bank, client) = two_nodes().await.unwrap();
    bank.system()
        .spawn_named("account", Account::default())
        .unwrap();
    let account = client.lookup::<Account>("account").await.unwrap();
    assert!(matches!(
        account.tell(LocalOnly).await,
        Err(SendError::NotRemote(LocalOnly))
    ));
    assert!(matches!(
        account.ask(LocalOnly).await,
        Err(AskError::NotRemote { .. })
    ));
    client.shutdown().await;
    bank.shutdown().await;
}
