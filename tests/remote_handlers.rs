//! `#[handler(remote)]` declares a remote message once: the generated
//! message crosses the wire and the actor receives it from other nodes,
//! with no `#[actor(remote(..))]` list and no serde derive to write.

use proscenium::net::{Node, NodeError, RemoteMessage};
use proscenium::prelude::*;

#[derive(Actor, Default)]
struct Account {
    total: u64,
    notes: Vec<String>,
}

#[handlers]
impl Account {
    #[handler(remote)]
    async fn deposit(&mut self, amount: u64, note: String) -> u64 {
        self.total += amount;
        self.notes.push(note);
        self.total
    }

    #[handler(remote = "tests.remote_handlers.Balance")]
    async fn balance(&mut self) -> (u64, Vec<String>) {
        (self.total, self.notes.clone())
    }

    /// Not remote: local senders only.
    #[handler]
    async fn audit(&mut self) -> usize {
        self.notes.len()
    }
}

/// Every handler of a `#[handlers(remote)]` block is remote.
#[derive(Actor, Default)]
struct Echo;

#[handlers(remote, ext = EchoExt)]
impl Echo {
    #[handler]
    async fn repeat(&mut self, text: String) -> String {
        text
    }

    #[handler]
    async fn shout(&mut self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Err("nothing to shout".to_owned())
        } else {
            Ok(text.to_uppercase())
        }
    }
}

const SECRET: &[u8] = b"remote handlers test secret, 32b";

async fn two_nodes() -> Result<(Node, Node), NodeError> {
    let server = Node::builder("server")
        .secret(SECRET)
        .listen("127.0.0.1:0".parse().unwrap())
        .start()
        .await?;
    let client = Node::builder("client").secret(SECRET).start().await?;
    client.connect(server.local_addr().unwrap()).await?;
    Ok((server, client))
}

#[test]
fn tags_default_to_actor_and_message_names() {
    assert_eq!(Deposit::TAG, "Account::Deposit");
    assert_eq!(Balance::TAG, "tests.remote_handlers.Balance");
    assert_eq!(Repeat::TAG, "Echo::Repeat");
    assert_eq!(Shout::TAG, "Echo::Shout");
}

#[tokio::test]
async fn remote_tells_and_asks_reach_a_handlers_actor() {
    let (server, client) = two_nodes().await.unwrap();
    server
        .system()
        .spawn_named("account", Account::default())
        .unwrap();
    let account = client
        .lookup::<Account>("account")
        .await
        .expect("found on the server node");
    assert!(!account.is_local());

    account.tell_deposit(5, "first".to_owned()).await.unwrap();
    assert_eq!(account.deposit(7, "second".to_owned()).await, Ok(12));
    assert_eq!(
        account.ask(Balance).await,
        Ok((12, vec!["first".to_owned(), "second".to_owned()]))
    );
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_handler_not_marked_remote_is_refused_not_panicked() {
    let (server, client) = two_nodes().await.unwrap();
    server
        .system()
        .spawn_named("account", Account::default())
        .unwrap();
    let account = client.lookup::<Account>("account").await.unwrap();
    assert!(matches!(
        account.tell_audit().await,
        Err(SendError::NotRemote(Audit))
    ));
    assert!(matches!(
        account.audit().await,
        Err(AskError::NotRemote { .. })
    ));
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_remote_block_sends_every_handler_across() {
    let (server, client) = two_nodes().await.unwrap();
    server.system().spawn_named("echo", Echo).unwrap();
    let echo = client.lookup::<Echo>("echo").await.unwrap();
    assert_eq!(echo.repeat("hi".to_owned()).await, Ok("hi".to_owned()));
    assert_eq!(echo.shout("hi".to_owned()).await, Ok(Ok("HI".to_owned())));
    assert_eq!(
        echo.shout(String::new()).await,
        Ok(Err("nothing to shout".to_owned()))
    );
    client.shutdown().await;
    server.shutdown().await;
}
