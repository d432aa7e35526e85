//! A man in the middle between two nodes: a relay on 127.0.0.1 that passes
//! the handshake untouched, then flips a byte of, injects before, replays,
//! drops or reorders one record of the sealed stream. Each attack must be
//! detected by the receiving node, which closes the connection (counted in
//! `links_tampered`), and no altered, replayed or out-of-order message may
//! reach the actor.
//!
//! Both nodes run in this process so the test can read the target actor's
//! state directly; heartbeats are off so the only records are the test's.

mod support_cluster;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proscenium::net::{HandshakeError, Node, NodeError, NodeEvent};
use proscenium::prelude::*;
use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::{in_process_node, node_down, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Long enough that no heartbeat is sent during a test.
const NO_HEARTBEATS: Duration = Duration::from_secs(600);

/// The initiator's handshake messages (hello, proof) before its records.
const HANDSHAKE_MESSAGES: u64 = 2;

/// What the relay does to the next record the dialing node sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// Flips one bit in the middle of the record.
    Flip,
    /// Sends a record of the attacker's making first.
    Inject,
    /// Sends the record twice.
    Replay,
    /// Swallows the record.
    Drop,
    /// Holds the record back and sends it after the next one.
    Reorder,
}

/// A relay that understands the framing well enough to count handshake
/// messages and records (both are a 4-byte big-endian length, then that
/// many bytes), and attacks the dialer's records on request.
struct Relay {
    addr: SocketAddr,
    armed: Arc<Mutex<Option<Armed>>>,
    task: tokio::task::JoinHandle<()>,
}

/// An attack waiting for the next record, and whom to tell once done.
type Armed = (Attack, oneshot::Sender<()>);

impl Relay {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("the relay's address");
        let armed = Arc::new(Mutex::new(None));
        let task = tokio::spawn({
            let armed = Arc::clone(&armed);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(target).await else {
                        continue;
                    };
                    let (client_read, mut client_write) = client.into_split();
                    let (mut server_read, server_write) = server.into_split();
                    tokio::spawn(attack_records(
                        client_read,
                        server_write,
                        Arc::clone(&armed),
                    ));
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    });
                }
            }
        });
        Self { addr, armed, task }
    }

    /// Attacks the next record; the receiver hears once that is done.
    fn arm(&self, attack: Attack) -> oneshot::Receiver<()> {
        let (done, applied) = oneshot::channel();
        *self.armed.lock().expect("the relay's lock") = Some((attack, done));
        applied
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the dialer's stream unit by unit and forwards it, attacking the
/// first record after an [`Attack`] is armed.
async fn attack_records(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    armed: Arc<Mutex<Option<Armed>>>,
) {
    let mut units = 0u64;
    let mut held: Option<Vec<u8>> = None;
    loop {
        let Ok(len) = from.read_u32().await else {
            return;
        };
        let mut unit = len.to_be_bytes().to_vec();
        unit.resize(4 + len as usize, 0);
        if from.read_exact(&mut unit[4..]).await.is_err() {
            return;
        }
        units += 1;
        let attack = if units > HANDSHAKE_MESSAGES {
            armed.lock().expect("the relay's lock").take()
        } else {
            None
        };
        let attack = attack.map(|(attack, done)| {
            let _ = done.send(());
            attack
        });
        let mut out = Vec::new();
        match attack {
            None => out.extend_from_slice(&unit),
            Some(Attack::Flip) => {
                let middle = 4 + (unit.len() - 4) / 2;
                unit[middle] ^= 0x04;
                out.extend_from_slice(&unit);
            }
            Some(Attack::Inject) => {
                let forged: Vec<u8> = (0..48u8).map(|i| i.wrapping_mul(37)).collect();
                out.extend_from_slice(&(forged.len() as u32).to_be_bytes());
                out.extend_from_slice(&forged);
                out.extend_from_slice(&unit);
            }
            Some(Attack::Replay) => {
                out.extend_from_slice(&unit);
                out.extend_from_slice(&unit);
            }
            Some(Attack::Drop) => {}
            Some(Attack::Reorder) => {
                held = Some(unit);
                continue;
            }
        }
        if let Some(earlier) = held.take() {
            out.extend_from_slice(&earlier);
        }
        if to.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The receiving node and its counter, named `counter`.
async fn target() -> (Node, ActorRef<Counter>) {
    let node = in_process_node("target", true, |node| node.heartbeat(NO_HEARTBEATS)).await;
    let counter = node
        .system()
        .spawn_named("counter", Counter::default())
        .expect("spawn the counter");
    (node, counter)
}

/// A fresh dialing node, connected to the target through `relay`, with
/// the target's counter looked up and one value, `first`, delivered.
async fn dialer(relay: &Relay, first: u64) -> (Node, ActorRef<Counter>) {
    let node = in_process_node("dialer", false, |node| node.heartbeat(NO_HEARTBEATS)).await;
    within("connect through the relay", node.connect(relay.addr))
        .await
        .expect("the handshake passes the relay untouched");
    let counter = within("the lookup", node.lookup::<Counter>("counter"))
        .await
        .expect("the counter");
    counter.tell(Add(first)).await.expect("a tell");
    // Answered only once everything sent before it was handled.
    within("a sync ask", counter.ask(Values))
        .await
        .expect("the counter answers");
    (node, counter)
}

async fn values(counter: &ActorRef<Counter>) -> Vec<u64> {
    within("the counter's values", counter.ask(Values))
        .await
        .expect("the local counter answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tampered_record_closes_the_link_and_reaches_no_actor() {
    let (target, counter) = target().await;
    let relay = Relay::start(target.local_addr().expect("listening")).await;
    let mut expected = Vec::new();
    for (round, attack) in [
        Attack::Flip,
        Attack::Inject,
        Attack::Replay,
        Attack::Drop,
        Attack::Reorder,
    ]
    .into_iter()
    .enumerate()
    {
        let base = 1000 * (round as u64 + 1);
        let (dialer, remote) = dialer(&relay, base).await;
        expected.push(base);
        let mut events = dialer.events();
        let applied = relay.arm(attack);
        remote.tell(Add(base + 1)).await.expect("a tell");
        if matches!(attack, Attack::Drop | Attack::Reorder) {
            // The record after the dropped or held one is the one refused,
            // so it must be a record of its own.
            within("the attack", applied)
                .await
                .expect("the relay carries out the attack");
            remote.tell(Add(base + 2)).await.expect("a tell");
        }
        node_down(&mut events, "target").await;
        if attack == Attack::Replay {
            // The original record was authentic; only its copy is refused.
            expected.push(base + 1);
        }
        assert_eq!(values(&counter).await, expected, "{attack:?}");
        assert_eq!(
            target.stats().links_tampered,
            round as u64 + 1,
            "{attack:?}: {:?}",
            target.stats()
        );
        dialer.shutdown().await;
    }
    assert!(relay.armed.lock().expect("the relay's lock").is_none());
    target.shutdown().await;
}

#[tokio::test]
async fn a_plaintext_node_cannot_connect_to_an_encrypting_one() {
    let (target, _counter) = target().await;
    let plaintext = in_process_node("plaintext", false, |node| node.insecure_plaintext()).await;
    let refused = within(
        "the handshake",
        plaintext.connect(target.local_addr().expect("listening")),
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(NodeError::Handshake {
                source: HandshakeError::EncryptionMismatch { .. },
                ..
            })
        ),
        "{refused:?}"
    );
    assert!(target.peers().is_empty());
    plaintext.shutdown().await;
    target.shutdown().await;
}

#[tokio::test]
async fn two_plaintext_nodes_talk() {
    let (target, counter) = {
        let node = in_process_node("target", true, |node| node.insecure_plaintext()).await;
        let counter = node
            .system()
            .spawn_named("counter", Counter::default())
            .expect("spawn the counter");
        (node, counter)
    };
    let dialer = in_process_node("dialer", false, |node| node.insecure_plaintext()).await;
    let mut events = dialer.events();
    within(
        "connect",
        dialer.connect(target.local_addr().expect("listening")),
    )
    .await
    .expect("two plaintext nodes agree");
    assert!(matches!(events.recv().await, Ok(NodeEvent::NodeUp { .. })));
    let remote = within("the lookup", dialer.lookup::<Counter>("counter"))
        .await
        .expect("the counter");
    remote.tell(Add(7)).await.expect("a tell");
    assert_eq!(values(&remote).await, [7]);
    assert_eq!(values(&counter).await, [7]);
    dialer.shutdown().await;
    target.shutdown().await;
}

#[tokio::test]
async fn weak_secrets_are_refused_unless_allowed() {
    let short = Node::builder("short")
        .secret(b"sixteen byte key".to_vec())
        .start()
        .await;
    assert!(
        matches!(
            short,
            Err(NodeError::Config(
                proscenium::net::ConfigError::SecretTooShort { len: 16, min: 32 }
            ))
        ),
        "{short:?}"
    );
    let demo = Node::builder("demo")
        .secret(support_cluster::cluster::DEMO_SECRET)
        .start()
        .await;
    assert!(
        matches!(
            demo,
            Err(NodeError::Config(proscenium::net::ConfigError::KnownSecret))
        ),
        "{demo:?}"
    );
    let allowed = Node::builder("allowed")
        .secret(b"sixteen byte key".to_vec())
        .allow_weak_secret()
        .start()
        .await
        .expect("a weak secret, allowed explicitly");
    allowed.shutdown().await;
}
