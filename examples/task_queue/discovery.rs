//! Finding the broker, and noticing when it goes away or is replaced:
//! the one piece of cluster logic workers and clients share.

use std::time::Duration;

use proscenium::net::{GroupEvent, Node, NodeEvent};
use proscenium::prelude::*;
use tokio::sync::{broadcast, mpsc};

use crate::broker::Broker;
use crate::protocol::{Connect, BROKER_GROUP};

/// How often a follower without a broker looks for one between events.
const LOOK_AGAIN: Duration = Duration::from_millis(500);

/// What a follower of the broker hears.
#[derive(Debug)]
pub enum BrokerChange {
    /// This is the broker now (the first one, a restarted one, or the
    /// same one after its link to us was replaced).
    Found(ActorRef<Broker>),
    /// The broker we had is unreachable; a `Found` follows when one is back.
    Lost,
}

/// Watches the cluster for the broker and sends each change to
/// `changes`, until `changes` closes.
///
/// The broker is whichever actor is in [`BROKER_GROUP`]; it is lost when
/// its node's link goes down or membership declares it down or gone,
/// and found again (possibly as a new run) when it is in the group and
/// answers [`Connect`].
pub fn follow_broker(node: Node, changes: mpsc::UnboundedSender<BrokerChange>) {
    let mut groups = node.group_events();
    let mut nodes = node.events();
    tokio::spawn(async move {
        let mut current: Option<ActorRef<Broker>> = None;
        loop {
            if current.is_none() {
                current = connect(&node).await;
                if let Some(broker) = &current {
                    if changes.send(BrokerChange::Found(broker.clone())).is_err() {
                        return;
                    }
                }
            }
            let lost = tokio::select! {
                event = groups.recv() => match event {
                    Ok(GroupEvent::Left { group, actor }) if group == BROKER_GROUP => {
                        current.as_ref().is_some_and(|b| b.id() == actor)
                    }
                    // A join: if we have no broker, the loop looks again.
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => false,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                event = nodes.recv() => match event {
                    Ok(NodeEvent::NodeDown { node, .. })
                    | Ok(NodeEvent::MemberDown { node, .. })
                    | Ok(NodeEvent::MemberLeft { node, .. }) => {
                        current.as_ref().is_some_and(|b| b.id().node() == node)
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => false,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                // Events can race the link to a new broker: look again now and then.
                () = tokio::time::sleep(LOOK_AGAIN), if current.is_none() => false,
                () = changes.closed() => return,
            };
            if lost {
                current = None;
                if changes.send(BrokerChange::Lost).is_err() {
                    return;
                }
            }
        }
    });
}

/// The broker's full ref, from the first member of its group that answers.
async fn connect(node: &Node) -> Option<ActorRef<Broker>> {
    for member in node.group_members::<Connect>(BROKER_GROUP) {
        if let Ok(broker) = member.ask(Connect).await {
            return Some(broker);
        }
    }
    None
}
