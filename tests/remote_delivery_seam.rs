//! A ref made with `remote::actor_ref` routes every operation through the
//! `RemoteDelivery` it was given. Here a fake transport stands in for the
//! network: it routes `Record` and `Seen` to a local actor by downcasting the
//! `AnyMessage`, and refuses every other message type.

mod support;

use std::future::ready;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proscenium::prelude::*;
use proscenium::runtime::remote::{
    self, AnyMessage, AnyReply, RemoteAsk, RemoteDelivery, RemoteSendError, RemoteStopped,
    Undeliverable, Watcher,
};
use proscenium::{ask_all, NodeId};
use support::{Panic, Record, Recorder, Seen};
use tokio::sync::mpsc;

type Target = Recorder<16>;

/// Delivers to one local actor as if it lived on node 9.
#[derive(Debug)]
struct FakeTransport {
    remote_id: ActorId,
    target: ActorRef<Target>,
    /// While set, the node counts as unreachable.
    down: AtomicBool,
    watchers: Arc<Mutex<Vec<Watcher>>>,
}

impl FakeTransport {
    fn new(target: ActorRef<Target>) -> Arc<Self> {
        Arc::new(Self {
            remote_id: ActorId::new(NodeId::new(9, 1), 77),
            target,
            down: AtomicBool::new(false),
            watchers: Arc::default(),
        })
    }

    fn remote_ref(self: &Arc<Self>) -> ActorRef<Target> {
        remote::actor_ref(self.remote_id, self.clone(), Duration::from_secs(5))
    }

    fn watcher_count(&self) -> usize {
        self.watchers.lock().unwrap().len()
    }
}

/// Asked through the fake, which answers with a reply of the wrong type.
struct Count;
impl Message for Count {
    type Reply = u64;
}

impl Handler<Count> for Target {
    async fn handle(&mut self, _: Count, _ctx: &mut Context<Self>) -> u64 {
        0
    }
}

impl RemoteDelivery for FakeTransport {
    fn tell(&self, to: ActorId, message: AnyMessage) -> Result<(), RemoteSendError> {
        assert_eq!(to, self.remote_id);
        if self.down.load(Ordering::SeqCst) {
            return Err(RemoteSendError {
                reason: Undeliverable::NodeDown,
                message,
            });
        }
        match message.downcast::<Record>() {
            Ok(record) => {
                self.target
                    .try_tell(record)
                    .expect("the fake's target has room");
                Ok(())
            }
            Err(message) => Err(RemoteSendError {
                reason: Undeliverable::NotRemote,
                message,
            }),
        }
    }

    fn ask(&self, to: ActorId, message: AnyMessage, timeout: Duration) -> RemoteAsk {
        assert_eq!(to, self.remote_id);
        if self.down.load(Ordering::SeqCst) {
            return Box::pin(ready(Err(AskError::NodeDown)));
        }
        let target = self.target.clone();
        let message = match message.downcast::<Seen>() {
            Ok(seen) => {
                return Box::pin(async move {
                    let reply = target.ask_timeout(seen, timeout).await?;
                    Ok(Box::new(reply) as AnyReply)
                })
            }
            Err(message) => message,
        };
        if message.downcast_ref::<Count>().is_some() {
            return Box::pin(ready(Ok(Box::new("not a number") as AnyReply)));
        }
        Box::pin(ready(Err(AskError::NotRemote {
            message: message.type_name().to_owned(),
        })))
    }

    fn stop(&self, to: ActorId) {
        assert_eq!(to, self.remote_id);
        self.target.stop();
    }

    fn kill(&self, to: ActorId) {
        assert_eq!(to, self.remote_id);
        self.target.kill();
    }

    fn watch(&self, target: ActorId, watcher: Watcher) {
        assert_eq!(target, self.remote_id);
        self.watchers.lock().unwrap().push(watcher);
        let (local, watchers) = (self.target.clone(), self.watchers.clone());
        tokio::spawn(async move {
            let reason = local.wait_stopped().await;
            let watchers = std::mem::take(&mut *watchers.lock().unwrap());
            for watcher in watchers {
                watcher.notify(target, reason.clone());
            }
        });
    }

    fn unwatch(&self, target: ActorId, watcher: ActorId) {
        assert_eq!(target, self.remote_id);
        self.watchers.lock().unwrap().retain(|w| w.id() != watcher);
    }

    fn is_alive(&self, target: ActorId) -> bool {
        assert_eq!(target, self.remote_id);
        self.target.is_alive()
    }

    fn wait_stopped(&self, target: ActorId) -> RemoteStopped {
        assert_eq!(target, self.remote_id);
        let local = self.target.clone();
        Box::pin(async move { local.wait_stopped().await })
    }
}

fn setup() -> (System, Arc<FakeTransport>, ActorRef<Target>) {
    let system = System::new();
    let local = system.spawn(Target::new()).unwrap();
    let transport = FakeTransport::new(local);
    let remote = transport.remote_ref();
    (system, transport, remote)
}

#[tokio::test]
async fn tell_and_ask_go_through_the_transport() {
    let (_system, transport, remote) = setup();

    remote.tell(Record(1)).await.unwrap();
    remote.try_tell(Record(2)).unwrap();

    assert!(!remote.is_local());
    assert_eq!(remote.id(), transport.remote_id);
    assert_eq!(remote.ask(Seen).await, Ok(vec![1, 2]));
    assert_eq!(transport.target.ask(Seen).await, Ok(vec![1, 2]));
}

#[tokio::test]
async fn a_recipient_of_a_remote_ref_goes_through_the_transport() {
    let (_system, transport, remote) = setup();
    let record: Recipient<Record> = remote.recipient();
    let seen: Recipient<Seen> = remote.recipient();

    record.tell(Record(3)).await.unwrap();

    assert_eq!(seen.id(), transport.remote_id);
    assert_eq!(seen.ask(Seen).await, Ok(vec![3]));
}

#[tokio::test]
async fn ask_all_reaches_remote_refs_and_recipients_through_the_transport() {
    let (_system, transport, remote) = setup();
    remote.tell(Record(4)).await.unwrap();
    let by_id: Recipient<Seen> = remote::recipient(
        transport.remote_id,
        transport.clone(),
        Duration::from_secs(5),
    );
    let via_ref: Recipient<Seen> = remote.recipient();
    let local: Recipient<Seen> = transport.target.recipient();

    let replies = ask_all([(&by_id, Seen), (&via_ref, Seen), (&local, Seen)]).await;
    assert_eq!(replies, [Ok(vec![4]), Ok(vec![4]), Ok(vec![4])]);
    let replies = ask_all([(&remote, Seen), (&transport.target, Seen)]).await;
    assert_eq!(replies, [Ok(vec![4]), Ok(vec![4])]);
}

#[tokio::test]
async fn an_unknown_message_type_comes_back_as_not_remote() {
    let (_system, _transport, remote) = setup();

    match remote.tell(Panic("not for the wire")).await {
        Err(SendError::NotRemote(Panic(text))) => assert_eq!(text, "not for the wire"),
        other => panic!("expected SendError::NotRemote, got {other:?}"),
    }
    match remote.try_tell(Panic("nor this")) {
        Err(TrySendError::Send(SendError::NotRemote(Panic(text)))) => {
            assert_eq!(text, "nor this");
        }
        other => panic!("expected SendError::NotRemote, got {other:?}"),
    }
    assert_eq!(
        remote.ask(Panic("or this")).await,
        Err(AskError::NotRemote {
            message: std::any::type_name::<Panic>().to_owned()
        })
    );
}

#[tokio::test]
async fn a_node_down_comes_back_as_node_down() {
    let (_system, transport, remote) = setup();
    transport.down.store(true, Ordering::SeqCst);

    assert_eq!(
        remote.tell(Record(5)).await,
        Err(SendError::NodeDown(Record(5)))
    );
    assert_eq!(remote.ask(Seen).await, Err(AskError::NodeDown));
}

#[tokio::test]
async fn a_reply_of_the_wrong_type_is_a_remote_error() {
    let (_system, _transport, remote) = setup();

    let reply = remote.ask(Count).await;

    assert!(matches!(reply, Err(AskError::Remote(_))), "{reply:?}");
}

#[tokio::test]
async fn stop_and_wait_stopped_go_through_the_transport() {
    let (_system, transport, remote) = setup();
    assert!(remote.is_alive());

    remote.stop();

    assert_eq!(remote.wait_stopped().await, StopReason::Normal);
    assert!(!remote.is_alive());
    assert!(!transport.target.is_alive());
}

#[tokio::test]
async fn kill_goes_through_the_transport() {
    let (_system, transport, remote) = setup();

    remote.kill();

    assert_eq!(remote.wait_stopped().await, StopReason::Killed);
    assert_eq!(transport.target.wait_stopped().await, StopReason::Killed);
}

/// Watches on request and forwards every `Terminated` it gets.
struct Observer {
    notices: mpsc::UnboundedSender<Terminated>,
}

impl Actor for Observer {}

struct Watch(ActorRef<Target>);
impl Message for Watch {
    type Reply = ();
}

struct Unwatch(ActorRef<Target>);
impl Message for Unwatch {
    type Reply = ();
}

impl Handler<Watch> for Observer {
    async fn handle(&mut self, Watch(target): Watch, ctx: &mut Context<Self>) {
        ctx.watch(&target);
    }
}

impl Handler<Unwatch> for Observer {
    async fn handle(&mut self, Unwatch(target): Unwatch, ctx: &mut Context<Self>) {
        ctx.unwatch(&target);
    }
}

impl Handler<Terminated> for Observer {
    async fn handle(&mut self, terminated: Terminated, _ctx: &mut Context<Self>) {
        let _ = self.notices.send(terminated);
    }
}

#[tokio::test]
async fn watch_through_the_transport_yields_one_terminated() {
    let (system, transport, remote) = setup();
    let (notices, mut received) = mpsc::unbounded_channel();
    let observer = system.spawn(Observer { notices }).unwrap();
    observer.ask(Watch(remote.clone())).await.unwrap();
    observer.ask(Watch(remote.clone())).await.unwrap();
    assert_eq!(transport.watcher_count(), 1);

    remote.kill();

    assert_eq!(
        received.recv().await,
        Some(Terminated {
            id: transport.remote_id,
            reason: StopReason::Killed,
        })
    );
    // Once the observer has stopped, every notice it handled has been forwarded.
    observer.stop();
    observer.wait_stopped().await;
    assert_eq!(received.recv().await, None);
}

#[tokio::test]
async fn unwatch_goes_through_the_transport() {
    let (system, transport, remote) = setup();
    let (notices, mut received) = mpsc::unbounded_channel();
    let observer = system.spawn(Observer { notices }).unwrap();
    observer.ask(Watch(remote.clone())).await.unwrap();

    observer.ask(Unwatch(remote.clone())).await.unwrap();

    assert_eq!(transport.watcher_count(), 0);
    remote.stop();
    remote.wait_stopped().await;
    observer.stop();
    observer.wait_stopped().await;
    assert_eq!(received.recv().await, None);
}
