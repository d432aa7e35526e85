//! [`RemoteDelivery`] for a node: how refs to actors on other nodes send.
//!
//! Every remote ref holds a [`RefTransport`]: the node's shared state and the
//! seal the ref was given, which goes into every frame addressed to its
//! actor. One with no seal is the node's ref context: it seals refs to the
//! node's own actors as they are written and checks seals as they are read.

use std::any::TypeId;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use proscenium_runtime::remote::{
    with_ref_resolver, AnyActorRef, AnyMessage, AnyRecipient, LinkNotice, RemoteAsk,
    RemoteDelivery, RemoteReady, RemoteSendError, RemoteStopped, Seal, Undeliverable, Watcher,
};
use proscenium_runtime::{ActorId, AskError, DeadLetter, StopReason};
use tokio::sync::oneshot;

use crate::link::{LinkHooks, TellRefused};
use crate::shared::{NodeShared, PendingAsk};
use crate::stats::bump;
use crate::{Frame, MessageTag};

/// Ids of watchers that are not actors (the watches `wait_stopped` makes,
/// and those this node holds for peers); the top bit keeps them apart
/// from the ids of real actors.
static SYNTHETIC_WATCHER: AtomicU64 = AtomicU64::new(1 << 63);

impl std::fmt::Debug for NodeShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeShared")
            .field("name", &self.name)
            .field("node", &self.node_id())
            .finish()
    }
}

impl NodeShared {
    /// A watcher id of this node that no actor and no other watch has.
    pub(crate) fn synthetic_watcher(&self) -> ActorId {
        ActorId::new(
            self.node_id(),
            SYNTHETIC_WATCHER.fetch_add(1, Ordering::Relaxed),
        )
    }

    /// Encodes `message` for the wire, sealing the refs inside it, and
    /// appends it to `dst`.
    fn encode_into(
        self: &Arc<Self>,
        message: &AnyMessage,
        dst: &mut Vec<u8>,
    ) -> Result<MessageTag, Undeliverable> {
        let codec = self
            .registry
            .codec(message.type_id())
            .ok_or(Undeliverable::NotRemote)?;
        let limit = crate::frame::payload_limit(self.max_frame_length);
        match with_ref_resolver(&self.system, &self.ref_context, || {
            (codec.encode)(message, limit, dst)
        }) {
            Ok(()) => Ok(codec.tag),
            Err(error) => {
                tracing::warn!(message = message.type_name(), %error, "could not encode a remote message");
                Err(Undeliverable::NotRemote)
            }
        }
    }

    /// Encodes `message` for the wire in a buffer of its own.
    fn encode(
        self: &Arc<Self>,
        message: &AnyMessage,
    ) -> Result<(MessageTag, Bytes), Undeliverable> {
        let mut payload = Vec::new();
        let tag = self.encode_into(message, &mut payload)?;
        Ok((tag, Bytes::from(payload)))
    }
}

thread_local! {
    /// The buffer each thread encodes its remote tells in: a tell is copied
    /// from it into its link's outbox, so none needs a buffer of its own.
    static TELL_PAYLOAD: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The longest buffer a thread keeps for its next tell: a rare large
/// message should not pin its memory for the thread's life.
const TELL_PAYLOAD_KEPT: usize = 64 * 1024;

/// Runs `encode` with this thread's empty tell buffer.
fn with_tell_payload<R>(encode: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    // Taken, not borrowed: a message whose encoding sends a remote tell
    // gets a fresh buffer instead of a borrow error.
    let mut payload = TELL_PAYLOAD.try_with(Cell::take).unwrap_or_default();
    payload.clear();
    let result = encode(&mut payload);
    if payload.capacity() <= TELL_PAYLOAD_KEPT {
        let _ = TELL_PAYLOAD.try_with(|kept| kept.set(payload));
    }
    result
}

/// The transport of one remote ref: the node's, with the seal the ref was
/// given for its actor.
///
/// With [`Seal::NONE`] it is also the transport that refs read and written
/// by this node are resolved against (see
/// [`with_ref_resolver`](proscenium_runtime::remote::with_ref_resolver)): it seals
/// refs to this node's actors and checks their seals.
#[derive(Debug)]
pub(crate) struct RefTransport {
    node: Arc<NodeShared>,
    seal: Seal,
}

/// The transport that refs read and written by this node are resolved
/// against ([`RefTransport`] with [`Seal::NONE`]), one per node, made with
/// it: encoding and decoding a message then allocate no transport of their
/// own. It holds its node weakly, since the node holds it; the node is
/// alive whenever it encodes or decodes, so the fallbacks for a node that
/// is gone (`NodeDown`, nothing sealed) are for a ref that outlived it.
#[derive(Debug)]
pub(crate) struct RefContext {
    node: Weak<NodeShared>,
}

impl RefContext {
    pub(crate) fn new(node: Weak<NodeShared>) -> Self {
        Self { node }
    }

    fn node(&self) -> Option<Arc<NodeShared>> {
        self.node.upgrade()
    }
}

impl RemoteDelivery for RefContext {
    fn tell(&self, to: ActorId, message: AnyMessage) -> Result<(), RemoteSendError> {
        match self.node() {
            Some(node) => node.tell_sealed(to, Seal::NONE, message),
            None => Err(RemoteSendError {
                reason: Undeliverable::NodeDown,
                message,
            }),
        }
    }

    fn tell_ready(&self, to: ActorId) -> Option<RemoteReady> {
        self.node()?.tell_ready_for(to)
    }

    fn ask(&self, to: ActorId, message: AnyMessage, timeout: Duration) -> RemoteAsk {
        match self.node() {
            Some(node) => node.ask_sealed(to, Seal::NONE, message, timeout),
            None => Box::pin(std::future::ready(Err(AskError::NodeDown))),
        }
    }

    fn stop(&self, to: ActorId) {
        if let Some(node) = self.node() {
            node.stop_sealed(to, Seal::NONE);
        }
    }

    fn kill(&self, to: ActorId) {
        if let Some(node) = self.node() {
            node.kill_sealed(to, Seal::NONE);
        }
    }

    fn watch(&self, target: ActorId, watcher: Watcher) {
        match self.node() {
            Some(node) => node.watch_sealed(target, Seal::NONE, watcher),
            None => watcher.notify(target, StopReason::NodeDown),
        }
    }

    fn unwatch(&self, target: ActorId, watcher: ActorId) {
        if let Some(node) = self.node() {
            node.unwatch_for(target, watcher);
        }
    }

    fn link_notice(&self, to: ActorId, from: ActorId, notice: LinkNotice) {
        if let Some(node) = self.node() {
            node.link_notice_sealed(to, Seal::NONE, from, notice);
        }
    }

    fn is_alive(&self, target: ActorId) -> bool {
        self.node().is_some_and(|node| node.is_alive_for(target))
    }

    fn wait_stopped(&self, target: ActorId) -> RemoteStopped {
        match self.node() {
            Some(node) => node.wait_stopped_sealed(target, Seal::NONE),
            None => Box::pin(std::future::ready(StopReason::NodeDown)),
        }
    }

    fn reported_mailbox_len(&self, target: ActorId) -> Option<usize> {
        self.node()?.reported_mailbox_len_of(target)
    }

    fn local_recipient(&self, actor: &AnyActorRef, message: TypeId) -> Option<AnyRecipient> {
        self.node()?.local_recipient_for(actor, message)
    }

    fn seal(&self, target: ActorId) -> Seal {
        self.node()
            .map_or(Seal::NONE, |node| node.seal_for(target, Seal::NONE))
    }

    fn opens(&self, target: ActorId, seal: Seal) -> bool {
        self.node().is_some_and(|node| node.opens(target, seal))
    }

    fn sealed(&self, _: ActorId, seal: Seal) -> Option<Arc<dyn RemoteDelivery>> {
        Some(self.node()?.ref_transport(seal))
    }
}

impl NodeShared {
    /// The transport of a ref to an actor of another node given with
    /// `seal`; with [`Seal::NONE`], the transport refs are resolved against.
    pub(crate) fn ref_transport(self: &Arc<Self>, seal: Seal) -> Arc<dyn RemoteDelivery> {
        Arc::new(RefTransport {
            node: Arc::clone(self),
            seal,
        })
    }

    fn tell_sealed(
        self: &Arc<Self>,
        to: ActorId,
        seal: Seal,
        message: AnyMessage,
    ) -> Result<(), RemoteSendError> {
        let Some(link) = self.link_to(to.node()) else {
            return Err(RemoteSendError {
                reason: Undeliverable::NodeDown,
                message,
            });
        };
        let sent = with_tell_payload(|payload| {
            let tag = self.encode_into(&message, payload)?;
            link.send_tell(to, seal, tag, payload)
                .map_err(|refused| match refused {
                    TellRefused::Ended => Undeliverable::NodeDown,
                    TellRefused::Oversized(error) => {
                        tracing::warn!(message = message.type_name(), %error, "a remote message too long for a frame");
                        Undeliverable::NotRemote
                    }
                })
        });
        sent.map_err(|reason| RemoteSendError { reason, message })
    }

    fn tell_ready_for(&self, to: ActorId) -> Option<RemoteReady> {
        // Without a link the tell fails at once with `NodeDown`.
        let link = self.link_to(to.node())?;
        if link.has_room_for(to) {
            return None;
        }
        Some(Box::pin(async move { link.wait_for_room(to).await }))
    }

    fn ask_sealed(
        self: &Arc<Self>,
        to: ActorId,
        seal: Seal,
        message: AnyMessage,
        timeout: Duration,
    ) -> RemoteAsk {
        let failed = |error| -> RemoteAsk { Box::pin(std::future::ready(Err(error))) };
        let Some(link) = self.link_to(to.node()) else {
            return failed(AskError::NodeDown);
        };
        let Some(codec) = self.registry.codec(message.type_id()) else {
            return failed(AskError::NotRemote {
                message: message.type_name().to_owned(),
            });
        };
        let (tag, payload) = match self.encode(&message) {
            Ok(encoded) => encoded,
            Err(_) => {
                return failed(AskError::NotRemote {
                    message: message.type_name().to_owned(),
                })
            }
        };
        let correlation = self.correlation();
        let (reply, answer) = oneshot::channel();
        let pending = PendingAsk {
            peer: to.node(),
            reply,
            decode: codec.decode_reply,
        };
        self.asks.insert(correlation, pending);
        if !link.send(Frame::Ask {
            to,
            seal,
            correlation,
            tag,
            payload,
            waits: proscenium_runtime::remote::waits_leading_to(to, crate::MAX_ASK_WAITS),
        }) {
            self.asks.remove(&correlation);
            return failed(AskError::NodeDown);
        }
        let asks = Arc::clone(&self.asks);
        Box::pin(async move {
            match tokio::time::timeout(timeout, answer).await {
                Ok(Ok(reply)) => reply,
                // The pending entry was dropped: the node went down.
                Ok(Err(_)) => Err(AskError::NodeDown),
                Err(_) => {
                    asks.remove(&correlation);
                    Err(AskError::Timeout(timeout))
                }
            }
        })
    }

    fn stop_sealed(&self, to: ActorId, seal: Seal) {
        if let Some(link) = self.link_to(to.node()) {
            link.send(Frame::Stop { to, seal });
        }
    }

    fn kill_sealed(&self, to: ActorId, seal: Seal) {
        if let Some(link) = self.link_to(to.node()) {
            link.send(Frame::Kill { to, seal });
        }
    }

    fn watch_sealed(&self, target: ActorId, seal: Seal, watcher: Watcher) {
        let Some(link) = self.link_to(target.node()) else {
            watcher.notify(target, StopReason::NodeDown);
            return;
        };
        let watcher_id = watcher.id();
        self.watches.entry(target).or_default().push(watcher);
        if !link.send(Frame::Watch {
            target,
            seal,
            watcher: watcher_id,
        }) {
            if let Some((_, watchers)) = self.watches.remove(&target) {
                watchers
                    .into_iter()
                    .for_each(|w| w.notify(target, StopReason::NodeDown));
            }
        }
    }

    fn unwatch_for(&self, target: ActorId, watcher: ActorId) {
        if let Some(mut watchers) = self.watches.get_mut(&target) {
            watchers.retain(|w| w.id() != watcher);
        }
        self.watches
            .remove_if(&target, |_, watchers| watchers.is_empty());
        if let Some(link) = self.link_to(target.node()) {
            link.send(Frame::Unwatch { target, watcher });
        }
    }

    /// Sends a link notice from `from`, an actor of this node, to `to`. A
    /// notice that ends the link also ends what this node holds of it for
    /// the peer, so the peer's end of the connection costs `from` nothing.
    fn link_notice_sealed(&self, to: ActorId, seal: Seal, from: ActorId, notice: LinkNotice) {
        let Some(link) = self.link_to(to.node()) else {
            return;
        };
        let frame = match notice {
            LinkNotice::Linked { token } => Frame::Link {
                to,
                seal,
                from,
                token,
            },
            LinkNotice::Unlinked { token } => {
                link.held_links.forget(from, to, token);
                Frame::Unlink { to, from, token }
            }
            LinkNotice::Down { token, reason } => {
                link.held_links.forget(from, to, token);
                Frame::LinkDown {
                    to,
                    from,
                    token,
                    reason,
                }
            }
            other => {
                tracing::debug!(?other, "a link notice this protocol version cannot carry");
                return;
            }
        };
        link.send(frame);
    }

    fn is_alive_for(&self, target: ActorId) -> bool {
        self.link_to(target.node()).is_some()
    }

    fn wait_stopped_sealed(&self, target: ActorId, seal: Seal) -> RemoteStopped {
        let (tx, rx) = oneshot::channel();
        let id = self.synthetic_watcher();
        self.watch_sealed(
            target,
            seal,
            Watcher::from_fn(id, move |terminated| {
                let _ = tx.send(terminated.reason);
            }),
        );
        Box::pin(async move { rx.await.unwrap_or(StopReason::NodeDown) })
    }

    fn reported_mailbox_len_of(&self, target: ActorId) -> Option<usize> {
        self.mailbox_reports
            .get(target)
            .map(|reported| reported.depth)
    }
}

impl RemoteDelivery for RefTransport {
    fn tell(&self, to: ActorId, message: AnyMessage) -> Result<(), RemoteSendError> {
        self.node.tell_sealed(to, self.seal, message)
    }

    fn tell_ready(&self, to: ActorId) -> Option<RemoteReady> {
        self.node.tell_ready_for(to)
    }

    fn ask(&self, to: ActorId, message: AnyMessage, timeout: Duration) -> RemoteAsk {
        self.node.ask_sealed(to, self.seal, message, timeout)
    }

    fn stop(&self, to: ActorId) {
        self.node.stop_sealed(to, self.seal);
    }

    fn kill(&self, to: ActorId) {
        self.node.kill_sealed(to, self.seal);
    }

    fn watch(&self, target: ActorId, watcher: Watcher) {
        self.node.watch_sealed(target, self.seal, watcher);
    }

    fn unwatch(&self, target: ActorId, watcher: ActorId) {
        self.node.unwatch_for(target, watcher);
    }

    fn link_notice(&self, to: ActorId, from: ActorId, notice: LinkNotice) {
        self.node.link_notice_sealed(to, self.seal, from, notice);
    }

    fn is_alive(&self, target: ActorId) -> bool {
        self.node.is_alive_for(target)
    }

    fn wait_stopped(&self, target: ActorId) -> RemoteStopped {
        self.node.wait_stopped_sealed(target, self.seal)
    }

    fn reported_mailbox_len(&self, target: ActorId) -> Option<usize> {
        self.node.reported_mailbox_len_of(target)
    }

    fn local_recipient(&self, actor: &AnyActorRef, message: TypeId) -> Option<AnyRecipient> {
        self.node.local_recipient_for(actor, message)
    }

    fn seal(&self, target: ActorId) -> Seal {
        self.node.seal_for(target, self.seal)
    }

    fn opens(&self, target: ActorId, seal: Seal) -> bool {
        self.node.opens(target, seal)
    }

    fn sealed(&self, _: ActorId, seal: Seal) -> Option<Arc<dyn RemoteDelivery>> {
        Some(self.node.ref_transport(seal))
    }
}

impl NodeShared {
    fn local_recipient_for(&self, actor: &AnyActorRef, message: TypeId) -> Option<AnyRecipient> {
        let tag = self.registry.codec(message)?.tag;
        let delivery = self.registry.delivery(actor.actor_type(), tag)?;
        (delivery.recipient)(actor)
    }

    /// The seal a ref to `target` is written with: this node's own for
    /// its actors, `given` (the ref's) for another node's.
    fn seal_for(&self, target: ActorId, given: Seal) -> Seal {
        if target.node() == self.node_id() {
            self.seals.seal(target)
        } else {
            given
        }
    }

    fn opens(&self, target: ActorId, seal: Seal) -> bool {
        target.node() == self.node_id() && self.seals.opens(target, seal)
    }

    /// Reports a remote tell to `to` that the link did not deliver, or (if
    /// `possibly_delivered`) cannot say whether it did.
    fn tell_dead_letter(&self, to: ActorId, tag: MessageTag, possibly_delivered: bool) {
        proscenium_runtime::remote::publish_dead_letter(
            &self.system,
            DeadLetter {
                recipient: to,
                message_type: self.registry.type_name(tag).unwrap_or("<unregistered>"),
                reason: StopReason::NodeDown,
                possibly_delivered,
            },
        );
    }
}

impl LinkHooks for NodeShared {
    fn still_wanted(&self, frame: &Frame) -> bool {
        match frame {
            Frame::Ask { correlation, .. } if !self.asks.contains_key(correlation) => {
                bump(&self.stats.asks_expired);
                false
            }
            _ => true,
        }
    }

    fn unsent(&self, frame: Frame) {
        match frame {
            Frame::Tell { to, tag, .. } => self.unsent_tell(to, tag),
            // Nothing was lost: there was nothing left to say.
            Frame::Heartbeat
            | Frame::Ping { .. }
            | Frame::Pong { .. }
            | Frame::Goodbye
            | Frame::Ack { .. } => {}
            _ => bump(&self.stats.frames_unsent),
        }
    }

    fn unsent_tell(&self, to: ActorId, tag: MessageTag) {
        bump(&self.stats.tells_unsent);
        self.tell_dead_letter(to, tag, false);
    }

    fn unacknowledged(&self, to: ActorId, tag: MessageTag) {
        bump(&self.stats.tells_unacknowledged);
        self.tell_dead_letter(to, tag, true);
    }

    fn stalled(&self) {
        bump(&self.stats.links_stalled);
    }

    fn overloaded(&self) {
        bump(&self.stats.links_overloaded);
    }
}

#[cfg(test)]
mod tests {
    use proscenium_runtime::{Message, NodeId};

    use super::*;

    #[derive(Debug, PartialEq)]
    struct Ping(u32);

    impl Message for Ping {
        type Reply = ();
    }

    #[tokio::test]
    async fn a_ref_context_that_outlived_its_node_reports_it_down() {
        let context = RefContext::new(Weak::new());
        let to = ActorId::new(NodeId::new(2, 1), 7);
        let refused = context
            .tell(to, AnyMessage::new(Ping(5)))
            .expect_err("no node to send through");
        assert_eq!(refused.reason, Undeliverable::NodeDown);
        assert_eq!(refused.message.downcast_ref::<Ping>(), Some(&Ping(5)));
        let asked = context
            .ask(to, AnyMessage::new(Ping(5)), Duration::from_secs(60))
            .await;
        assert!(matches!(asked, Err(AskError::NodeDown)), "{asked:?}");
        assert_eq!(context.wait_stopped(to).await, StopReason::NodeDown);
        assert!(!context.is_alive(to));
        assert!(context.sealed(to, Seal::NONE).is_none());
        assert!(!context.opens(to, Seal::NONE));
    }
}
