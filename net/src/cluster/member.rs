//! [`Member`]s of the cluster and the table that turns foca's member
//! states into changes (up, suspect, down, left).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;

use proscenium_runtime::NodeId;

use crate::cluster::identity::MemberId;

/// Where a member stands, as this node sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum MemberState {
    /// It answers.
    Up,
    /// It stopped answering this node and others are asked to check;
    /// it is treated as up until it is declared down or answers again.
    Suspect,
    /// It was declared down: it did not refute a suspicion in time.
    Down,
    /// It left the cluster on purpose (`Node::shutdown`).
    Left,
}

/// One node of the cluster, as [`Node::members`](crate::Node::members)
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Member {
    /// Its name.
    pub name: String,
    /// Its run: a restarted node has the same number and a new incarnation.
    pub id: NodeId,
    /// Where it listens (TCP for links, UDP for membership).
    pub addr: SocketAddr,
    /// Where it stands.
    pub state: MemberState,
}

/// A member whose state changed, with its new state.
pub(crate) type Change = Member;

/// Every member this node knows, by address, with the identities that
/// said they were leaving.
#[derive(Debug)]
pub(crate) struct MemberTable {
    me: Member,
    others: BTreeMap<SocketAddr, (MemberId, MemberState)>,
    leaving: HashSet<MemberId>,
}

impl MemberTable {
    pub(crate) fn new(me: &MemberId) -> Self {
        Self {
            me: Member {
                name: me.name.clone(),
                id: me.node,
                addr: me.addr,
                state: MemberState::Up,
            },
            others: BTreeMap::new(),
            leaving: HashSet::new(),
        }
    }

    /// This node and every other member known, by name.
    pub(crate) fn members(&self) -> Vec<Member> {
        let mut members: Vec<Member> = std::iter::once(self.me.clone())
            .chain(self.others.values().map(|(id, state)| member(id, *state)))
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name).then(a.addr.cmp(&b.addr)));
        members
    }

    /// The member at `addr` if it is up or suspect.
    pub(crate) fn live(&self, addr: SocketAddr) -> Option<&MemberId> {
        self.others
            .get(&addr)
            .filter(|(_, state)| matches!(state, MemberState::Up | MemberState::Suspect))
            .map(|(id, _)| id)
    }

    /// Whether node run `node` is a live member.
    pub(crate) fn is_live_run(&self, node: NodeId) -> bool {
        self.others
            .values()
            .any(|(id, state)| id.node == node && is_live(*state))
    }

    /// This node has left.
    pub(crate) fn leave(&mut self) {
        self.me.state = MemberState::Left;
    }

    /// `id` said it leaves: when it goes down, it has left.
    pub(crate) fn mark_leaving(&mut self, id: MemberId) {
        self.leaving.insert(id);
    }

    /// Brings the table in line with foca's view of the members and
    /// returns what changed, in order. A member replaced by a later run
    /// at its address first goes down (or left), then the new run is up.
    pub(crate) fn sync<'a>(
        &mut self,
        current: impl Iterator<Item = (&'a MemberId, foca::State)>,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut present = HashSet::new();
        for (id, state) in current {
            present.insert(id.addr);
            proscenium_runtime::remote::register_node_name(id.node.number(), &id.name);
            let state = match state {
                foca::State::Alive => MemberState::Up,
                foca::State::Suspect => MemberState::Suspect,
                foca::State::Down if self.leaving.contains(id) => MemberState::Left,
                foca::State::Down => MemberState::Down,
            };
            let known = self.others.get(&id.addr).cloned();
            match known {
                Some((old, old_state)) if old == *id => {
                    if old_state != state {
                        changes.push(member(id, state));
                    }
                }
                // The same run under a renewed identity: it never stopped,
                // so it is no new member and was not declared down here.
                // foca renews a member's identity when told "you are down",
                // which foca 2.0 also tells a member that refuted its
                // suspicion in time (its suspicion timer sends the notice
                // even when the member is no longer suspect).
                Some((old, old_state)) if is_live(old_state) && old.same_run(id) => {
                    if old_state != state {
                        changes.push(member(id, state));
                    }
                }
                Some((old, old_state)) => {
                    if is_live(old_state) {
                        let gone = if self.leaving.contains(&old) {
                            MemberState::Left
                        } else {
                            MemberState::Down
                        };
                        changes.push(member(&old, gone));
                    }
                    self.leaving.remove(&old);
                    arrived(id, state, &mut changes);
                }
                None => arrived(id, state, &mut changes),
            }
            self.others.insert(id.addr, (id.clone(), state));
        }
        // Members foca has forgotten (long down) leave the list quietly.
        self.others.retain(|addr, _| present.contains(addr));
        self.leaving.retain(|id| present.contains(&id.addr));
        changes
    }
}

/// A run seen for the first time is up (a suspect one was, a moment ago);
/// learning of one only as down or left is no change.
fn arrived(id: &MemberId, state: MemberState, changes: &mut Vec<Change>) {
    if is_live(state) {
        changes.push(member(id, MemberState::Up));
    }
    if state == MemberState::Suspect {
        changes.push(member(id, state));
    }
}

fn is_live(state: MemberState) -> bool {
    matches!(state, MemberState::Up | MemberState::Suspect)
}

fn member(id: &MemberId, state: MemberState) -> Member {
    Member {
        name: id.name.clone(),
        id: id.node,
        addr: id.addr,
        state,
    }
}

#[cfg(test)]
mod tests {
    use foca::State;

    use super::*;

    fn id(name: &str, port: u16, session: u64) -> MemberId {
        MemberId {
            name: name.into(),
            node: NodeId::new(u64::from(port), session),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            session,
            generation: 0,
        }
    }

    fn states(changes: &[Change]) -> Vec<(String, MemberState)> {
        changes.iter().map(|c| (c.name.clone(), c.state)).collect()
    }

    #[test]
    fn members_come_up_turn_suspect_and_go_down() {
        let mut table = MemberTable::new(&id("me", 1, 1));
        let b = id("b", 2, 1);
        let up = table.sync([(&b, State::Alive)].into_iter());
        assert_eq!(states(&up), [("b".into(), MemberState::Up)]);
        assert!(table.sync([(&b, State::Alive)].into_iter()).is_empty());
        let suspect = table.sync([(&b, State::Suspect)].into_iter());
        assert_eq!(states(&suspect), [("b".into(), MemberState::Suspect)]);
        let down = table.sync([(&b, State::Down)].into_iter());
        assert_eq!(states(&down), [("b".into(), MemberState::Down)]);
        let names: Vec<_> = table.members().into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["b", "me"]);
    }

    #[test]
    fn a_member_that_said_it_leaves_has_left() {
        let mut table = MemberTable::new(&id("me", 1, 1));
        let b = id("b", 2, 1);
        table.sync([(&b, State::Alive)].into_iter());
        table.mark_leaving(b.clone());
        let left = table.sync([(&b, State::Down)].into_iter());
        assert_eq!(states(&left), [("b".into(), MemberState::Left)]);
    }

    #[test]
    fn a_restarted_member_replaces_its_earlier_run() {
        let mut table = MemberTable::new(&id("me", 1, 1));
        let (old, new) = (id("b", 2, 1), id("b", 2, 2));
        table.sync([(&old, State::Alive)].into_iter());
        let changes = table.sync([(&new, State::Alive)].into_iter());
        assert_eq!(
            states(&changes),
            [
                ("b".into(), MemberState::Down),
                ("b".into(), MemberState::Up)
            ]
        );
        assert_eq!((changes[0].id, changes[1].id), (old.node, new.node));
        assert_eq!(table.members().len(), 2, "no ghost of the earlier run");
    }

    #[test]
    fn a_live_run_that_renews_its_identity_is_not_declared_down() {
        let mut table = MemberTable::new(&id("me", 1, 1));
        let old = id("b", 2, 1);
        let renewed = MemberId {
            generation: 1,
            ..old.clone()
        };
        table.sync([(&old, State::Suspect)].into_iter());
        let changes = table.sync([(&renewed, State::Alive)].into_iter());
        assert_eq!(states(&changes), [("b".into(), MemberState::Up)]);
        assert!(table
            .sync([(&renewed, State::Alive)].into_iter())
            .is_empty());
        assert_eq!(table.members().len(), 2);
        // Declared down under its renewed identity: that is a down.
        let down = table.sync([(&renewed, State::Down)].into_iter());
        assert_eq!(states(&down), [("b".into(), MemberState::Down)]);
    }

    #[test]
    fn a_run_declared_down_that_rejoins_renewed_is_up_again() {
        let mut table = MemberTable::new(&id("me", 1, 1));
        let old = id("b", 2, 1);
        let renewed = MemberId {
            generation: 1,
            ..old.clone()
        };
        table.sync([(&old, State::Alive)].into_iter());
        table.sync([(&old, State::Down)].into_iter());
        let changes = table.sync([(&renewed, State::Alive)].into_iter());
        assert_eq!(states(&changes), [("b".into(), MemberState::Up)]);
    }

    #[test]
    fn forgotten_members_leave_the_list() {
        let mut table = MemberTable::new(&id("me", 1, 1));
        let b = id("b", 2, 1);
        table.sync([(&b, State::Down)].into_iter());
        assert_eq!(table.members().len(), 2);
        assert!(table.sync(std::iter::empty()).is_empty());
        assert_eq!(table.members().len(), 1);
    }
}
