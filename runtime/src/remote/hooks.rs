//! Entry points into the runtime's own types that only a network layer
//! calls. They are free functions here, not methods, so that `ActorRef`,
//! `Recipient`, `System` and `NodeId` show actor code only what it uses.

use std::sync::Arc;
use std::time::Duration;

use crate::remote::{RemoteDelivery, WaitFor};
use crate::{
    Actor, ActorId, ActorRef, AskError, DeadLetter, Handler, Message, NodeId, PendingReply,
    Recipient, System,
};

/// A ref to actor `id` on another node, whose operations go to `transport`;
/// its asks wait at most `ask_timeout` unless given a deadline.
///
/// Application code gets remote refs from lookups and messages instead.
///
/// # Examples
///
/// See the [module docs](crate::remote#examples).
pub fn actor_ref<A: Actor>(
    id: ActorId,
    transport: Arc<dyn RemoteDelivery>,
    ask_timeout: Duration,
) -> ActorRef<A> {
    ActorRef::remote(id, transport, ask_timeout)
}

/// A recipient of `M` for actor `id` on another node, whose operations go
/// to `transport`; as [`actor_ref`], for a type-erased address.
pub fn recipient<M: Message>(
    id: ActorId,
    transport: Arc<dyn RemoteDelivery>,
    ask_timeout: Duration,
) -> Recipient<M> {
    Recipient::remote(id, transport, ask_timeout)
}

/// Queues `message` as an ask to `actor`, a local actor, for an ask that
/// arrived from another node with `waits`: the wait-for edges that lead to
/// its asker there (from [`waits_leading_to`](crate::remote::waits_leading_to)
/// on that node). While the handler runs they count for deadlock detection
/// on this node as local waits do, so an ask that handler makes back along
/// the chain fails at once with [`AskError::Deadlock`]. For a remote
/// `actor` the waits are dropped and this is a plain ask.
///
/// # Errors
///
/// As for [`ActorRef::send_ask`]: [`AskError::Stopped`] if the actor has
/// stopped before the message is queued.
pub async fn send_ask_waited<A, M>(
    actor: &ActorRef<A>,
    message: M,
    waits: Vec<WaitFor>,
) -> Result<PendingReply<M::Reply>, AskError>
where
    A: Handler<M>,
    M: Message,
{
    actor.send_ask_waited(message, waits).await
}

/// Publishes `letter` to `system`'s dead letters.
///
/// A remote tell returns once queued on a connection, so one that is then
/// lost (the connection ends first) is reported here, with
/// [`DeadLetter::possibly_delivered`] set if it was already written.
pub fn publish_dead_letter(system: &System, letter: DeadLetter) {
    system.publish_dead_letter(letter);
}

/// Records `name` as the name of node number `node` in this process, so
/// that its ids print with it (`<beta#4f2a.17>`).
///
/// A network layer calls this for its own node and for every peer and
/// member it learns of; the first name recorded for a number stays (a
/// node's number comes from its name). At most
/// [`NodeId::MAX_NODE_NAMES`] names are kept.
pub fn register_node_name(node: u64, name: &str) {
    NodeId::register_name(node, name);
}
