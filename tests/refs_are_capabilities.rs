//! Refs are capabilities: a peer that holds the cluster secret reaches an
//! actor only through a ref it was given (a name lookup, a spawn it asked
//! for, a ref inside a message or reply). Frames addressed with a guessed
//! id, sequential or built from the node's number, fail exactly as for an
//! actor that does not exist, and the node's own remote spawner cannot be
//! reached by guessing either.

mod support_cluster;

use bytes::Bytes;
use proscenium::net::{wire, Frame, MessageTag, Node, Registry, RemoteMessage, RemoteSpawn};
use proscenium::prelude::*;
use proscenium::runtime::remote::Seal;
use proscenium::{ActorId, NodeId};
use serde::{Deserialize, Serialize};
use support_cluster::cluster::{self, WhoAreYou, Worker};
use support_cluster::rogue::Rogue;
use support_cluster::{in_process_node, within};
use tokio::sync::mpsc;

/// Reports every message it handles, so a test sees any that got through.
struct Probe {
    handled: mpsc::UnboundedSender<u64>,
}
impl Actor for Probe {}

#[derive(Debug, Serialize, Deserialize)]
struct Poke(u64);
impl Message for Poke {
    type Reply = u64;
}
impl RemoteMessage for Poke {
    const TAG: &'static str = "tests::refs_are_capabilities::Poke";
}
impl Handler<Poke> for Probe {
    async fn handle(&mut self, Poke(n): Poke, _: &mut Context<Self>) -> u64 {
        let _ = self.handled.send(n);
        n + 1
    }
}

/// Hands out a ref to an actor that has no name, inside a reply.
struct Keeper {
    hidden: ActorRef<Probe>,
}
impl Actor for Keeper {}

#[derive(Debug, Serialize, Deserialize)]
struct GiveRef;
impl Message for GiveRef {
    type Reply = ActorRef<Probe>;
}
impl RemoteMessage for GiveRef {
    const TAG: &'static str = "tests::refs_are_capabilities::GiveRef";
}
impl Handler<GiveRef> for Keeper {
    async fn handle(&mut self, _: GiveRef, _: &mut Context<Self>) -> ActorRef<Probe> {
        self.hidden.clone()
    }
}

/// Forwards a poke to the probe whose ref is inside the message.
struct Forwarder;
impl Actor for Forwarder {}

#[derive(Serialize, Deserialize)]
struct PokeVia {
    to: ActorRef<Probe>,
    n: u64,
}
impl Message for PokeVia {
    type Reply = Result<u64, String>;
}
impl RemoteMessage for PokeVia {
    const TAG: &'static str = "tests::refs_are_capabilities::PokeVia";
}
impl Handler<PokeVia> for Forwarder {
    async fn handle(&mut self, m: PokeVia, _: &mut Context<Self>) -> Result<u64, String> {
        m.to.ask(Poke(m.n)).await.map_err(|e| e.to_string())
    }
}

fn registry() -> Registry {
    let mut registry = cluster::registry();
    registry
        .handler::<Probe, Poke>()
        .handler::<Keeper, GiveRef>()
        .handler::<Forwarder, PokeVia>();
    registry
}

fn poke_payload(n: u64) -> Bytes {
    Bytes::from(wire::encode(&Poke(n), 1024).expect("encode a poke"))
}

fn spawn_probe(node: &Node) -> (ActorRef<Probe>, mpsc::UnboundedReceiver<u64>) {
    let (handled, seen) = mpsc::unbounded_channel();
    let probe = node
        .system()
        .spawn(Probe { handled })
        .expect("spawn a probe");
    (probe, seen)
}

/// Every id a peer could guess on `node`: the first sequence numbers of
/// its run (the remote spawner's among them), and the same numbers under
/// made-up incarnations of its node number.
fn guessed_ids(node: NodeId) -> Vec<ActorId> {
    let mut ids: Vec<ActorId> = (0..48).map(|seq| ActorId::new(node, seq)).collect();
    for incarnation in [0, 1, 2] {
        let made_up = NodeId::new(node.number(), incarnation);
        ids.extend((0..4).map(|seq| ActorId::new(made_up, seq)));
    }
    ids
}

#[tokio::test]
async fn frames_to_guessed_ids_reach_nothing() {
    let b = in_process_node("b", true, |n| n.registry(registry())).await;
    let (probe, mut handled) = spawn_probe(&b);
    let named = b
        .system()
        .spawn_named("named", Worker::from_args("named".into()))
        .expect("spawn a named actor");
    let gone = b
        .system()
        .spawn_named("gone", Worker::from_args("gone".into()))
        .expect("spawn an actor to stop");
    let mut rogue = Rogue::connect(b.local_addr().expect("b listens"), "rogue").await;
    // The rogue was given two refs, by name: their seals, but no other.
    let (named_id, named_seal) = rogue.lookup("named").await.expect("registered");
    assert_eq!(named_id, named.id());
    let (gone_id, gone_seal) = rogue.lookup("gone").await.expect("registered");
    gone.stop();
    gone.wait_stopped().await;
    let missing_before = b.stats().tells_to_missing_actors;

    let ids = guessed_ids(b.id());
    assert!(
        ids.contains(&probe.id()),
        "the probe's id is among the guesses"
    );
    // Each id with no seal, with a made-up one, and with the seal of
    // another actor the rogue was given (a seal opens only its own actor).
    let seals = |id: ActorId| {
        let mut seals = vec![Seal::NONE, Seal::new(id.seq().to_le_bytes())];
        if id != named_id {
            seals.push(named_seal);
        }
        seals
    };
    let mut tells = 0;
    let mut asks = Vec::new();
    for &to in &ids {
        for seal in seals(to) {
            rogue
                .send(Frame::Tell {
                    to,
                    seal,
                    tag: MessageTag::from_name(Poke::TAG),
                    payload: poke_payload(1),
                })
                .await;
            tells += 1;
            let correlation = asks.len() as u64;
            rogue
                .send(Frame::Ask {
                    to,
                    seal,
                    correlation,
                    tag: MessageTag::from_name(Poke::TAG),
                    payload: poke_payload(2),
                    waits: Vec::new(),
                })
                .await;
            asks.push(to);
            rogue.send(Frame::Stop { to, seal }).await;
            rogue.send(Frame::Kill { to, seal }).await;
        }
    }
    // The baseline: an ask to an actor that is gone, with its real seal.
    let baseline = asks.len() as u64;
    rogue
        .send(Frame::Ask {
            to: gone_id,
            seal: gone_seal,
            correlation: baseline,
            tag: MessageTag::from_name(WhoAreYou::TAG),
            payload: Bytes::from(wire::encode(&WhoAreYou, 1024).expect("encode")),
            waits: Vec::new(),
        })
        .await;

    // Every ask is answered as the ask to the actor that is gone. (The
    // node reads a connection's frames in order, so once the last answer
    // is in, it has dealt with every frame before it.)
    let mut answers = std::collections::BTreeMap::new();
    while answers.len() <= asks.len() {
        if let Frame::Reply {
            correlation,
            result,
        } = rogue
            .next(|frame| matches!(frame, Frame::Reply { .. }))
            .await
        {
            answers.insert(correlation, result);
        }
    }
    assert_eq!(answers[&baseline], Err(AskError::Stopped));
    for (correlation, result) in &answers {
        assert_eq!(
            result,
            &answers[&baseline],
            "the ask to {} was answered otherwise",
            asks.get(*correlation as usize).copied().unwrap_or(gone_id)
        );
    }
    // Every tell was dropped as one to a missing actor; no handler ran.
    assert_eq!(b.stats().tells_to_missing_actors - missing_before, tells);
    assert!(
        handled.try_recv().is_err(),
        "a guessed id reached the probe"
    );
    // Nothing was stopped: the probe, the named actor and the spawner work.
    assert_eq!(probe.ask(Poke(41)).await, Ok(42));
    assert_eq!(handled.recv().await, Some(41));
    assert_eq!(
        named.ask(WhoAreYou).await.map(|(label, _)| label),
        Ok("named".to_owned()),
        "a stop with another actor's seal reached it"
    );
    let a = in_process_node("a", false, |n| n.registry(registry())).await;
    let b_id = a
        .connect(b.local_addr().expect("b listens"))
        .await
        .expect("connect to b");
    let spawned = a
        .spawn_remote::<Worker>(b_id, "after the attack".into())
        .await
        .expect("b's spawner still spawns");
    assert_eq!(
        spawned.ask(WhoAreYou).await.map(|(label, _)| label),
        Ok("after the attack".to_owned())
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// The next `Terminated` notice the rogue gets: whose, and why.
async fn next_terminated(rogue: &mut Rogue) -> (ActorId, StopReason) {
    match rogue
        .next(|frame| matches!(frame, Frame::Terminated { .. }))
        .await
    {
        Frame::Terminated { id, reason } => (id, reason),
        _ => unreachable!("`next` picked a Terminated"),
    }
}

#[tokio::test]
async fn a_watch_of_a_guessed_id_is_answered_as_for_a_missing_actor() {
    let b = in_process_node("b", true, |n| n.registry(registry())).await;
    let (probe, _handled) = spawn_probe(&b);
    b.system().register("probe", &probe).expect("a free name");
    let mut rogue = Rogue::connect(b.local_addr().expect("b listens"), "rogue").await;
    let watcher = ActorId::new(rogue.id, 1);

    // Guessed: a Terminated at once, Normal, as for an actor that is not there.
    rogue
        .send(Frame::Watch {
            target: probe.id(),
            seal: Seal::NONE,
            watcher,
        })
        .await;
    assert_eq!(
        next_terminated(&mut rogue).await,
        (probe.id(), StopReason::Normal)
    );
    // Given (by name): the watch holds until the probe really stops.
    let (id, seal) = rogue.lookup("probe").await.expect("registered");
    rogue
        .send(Frame::Watch {
            target: id,
            seal,
            watcher,
        })
        .await;
    rogue.sync().await;
    probe.kill();
    assert_eq!(
        next_terminated(&mut rogue).await,
        (probe.id(), StopReason::Killed)
    );
    b.shutdown().await;
}

#[tokio::test]
async fn refs_given_by_name_spawn_and_message_reach_their_actors() {
    let b = in_process_node("b", true, |n| n.registry(registry())).await;
    let a = in_process_node("a", false, |n| n.registry(registry())).await;
    let b_id = a
        .connect(b.local_addr().expect("b listens"))
        .await
        .expect("connect to b");

    // By name.
    let (named, mut named_seen) = spawn_probe(&b);
    b.system().register("probe", &named).expect("a free name");
    let by_name = a.lookup::<Probe>("probe").await.expect("found on b");
    assert_eq!(by_name.ask(Poke(1)).await, Ok(2));
    assert_eq!(named_seen.recv().await, Some(1));

    // By a spawn a asked for.
    let spawned = a
        .spawn_remote::<Worker>(b_id, "spawned".into())
        .await
        .expect("spawned on b");
    let answer = spawned.ask(WhoAreYou).await.map(|(label, _)| label);
    assert_eq!(answer, Ok("spawned".to_owned()));

    // Inside a reply: a ref to an actor with no name.
    let (hidden, mut hidden_seen) = spawn_probe(&b);
    b.system()
        .spawn_named(
            "keeper",
            Keeper {
                hidden: hidden.clone(),
            },
        )
        .expect("spawn the keeper");
    let keeper = a.lookup::<Keeper>("keeper").await.expect("found on b");
    let given = keeper.ask(GiveRef).await.expect("the keeper answers");
    assert_eq!(given.id(), hidden.id());
    assert_eq!(given.ask(Poke(10)).await, Ok(11));
    given.tell(Poke(20)).await.expect("tell the hidden probe");
    assert_eq!(hidden_seen.recv().await, Some(10));
    assert_eq!(hidden_seen.recv().await, Some(20));

    // Inside a message: a hands b's forwarder a ref to a probe of a's own,
    // which b reaches, and a ref to b's hidden probe, which comes home.
    b.system()
        .spawn_named("forwarder", Forwarder)
        .expect("spawn the forwarder");
    let forwarder = a.lookup::<Forwarder>("forwarder").await.expect("found");
    let (mine, mut mine_seen) = spawn_probe(&a);
    let via = forwarder.ask(PokeVia { to: mine, n: 5 }).await;
    assert_eq!(via, Ok(Ok(6)));
    assert_eq!(mine_seen.recv().await, Some(5));
    let home = forwarder.ask(PokeVia { to: given, n: 7 }).await;
    assert_eq!(home, Ok(Ok(8)));
    assert_eq!(hidden_seen.recv().await, Some(7));

    // A watch through a given ref holds, and ends when the actor stops.
    let watched = a.lookup::<Probe>("probe").await.expect("found on b");
    named.stop();
    assert_eq!(
        within("the stop, seen from a", watched.wait_stopped()).await,
        StopReason::Normal
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_ref_with_a_forged_seal_inside_a_message_comes_out_stopped() {
    let b = in_process_node("b", true, |n| n.registry(registry())).await;
    let (probe, mut handled) = spawn_probe(&b);
    b.system()
        .spawn_named("forwarder", Forwarder)
        .expect("spawn the forwarder");
    let mut rogue = Rogue::connect(b.local_addr().expect("b listens"), "rogue").await;
    let (forwarder, seal) = rogue.lookup("forwarder").await.expect("registered");

    // `PokeVia` as the rogue writes it: a ref to b's probe, seal guessed.
    #[derive(Serialize)]
    struct ForgedPokeVia {
        to: (ActorId, Seal),
        n: u64,
    }
    let forged = ForgedPokeVia {
        to: (probe.id(), Seal::new([0x42; 8])),
        n: 3,
    };
    rogue
        .send(Frame::Ask {
            to: forwarder,
            seal,
            correlation: 9,
            tag: MessageTag::from_name(PokeVia::TAG),
            payload: Bytes::from(wire::encode(&forged, 1024).expect("encode")),
            waits: Vec::new(),
        })
        .await;
    let Frame::Reply { result, .. } = rogue
        .next(|frame| matches!(frame, Frame::Reply { correlation: 9, .. }))
        .await
    else {
        unreachable!("`next` picked a reply");
    };
    let reply: Result<u64, String> =
        wire::decode(&result.expect("the forwarder answers"), 1024).expect("decode the reply");
    assert_eq!(reply, Err(AskError::Stopped.to_string()));
    assert!(
        handled.try_recv().is_err(),
        "the forged ref reached the probe"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn a_ref_handed_on_through_a_third_node_still_reaches_its_actor() {
    let c = in_process_node("c", true, |n| n.registry(registry())).await;
    let b = in_process_node("b", true, |n| n.registry(registry())).await;
    let a = in_process_node("a", false, |n| n.registry(registry())).await;
    for node in [&b, &c] {
        a.connect(node.local_addr().expect("listens"))
            .await
            .expect("a connects");
    }
    b.connect(c.local_addr().expect("c listens"))
        .await
        .expect("b connects to c");
    // A probe on c with no name; a gets its ref in a reply from c...
    let (hidden, mut seen) = spawn_probe(&c);
    c.system()
        .spawn_named("keeper", Keeper { hidden })
        .expect("spawn the keeper");
    let keeper = a.lookup::<Keeper>("keeper").await.expect("found on c");
    let given = keeper.ask(GiveRef).await.expect("the keeper answers");
    // ...and hands it on to b inside a message: b reaches c's probe with it.
    b.system()
        .spawn_named("forwarder", Forwarder)
        .expect("spawn the forwarder");
    let forwarder = a.lookup::<Forwarder>("forwarder").await.expect("on b");
    assert_eq!(
        forwarder.ask(PokeVia { to: given, n: 30 }).await,
        Ok(Ok(31))
    );
    assert_eq!(seen.recv().await, Some(30));
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;
}
