//! Cluster membership in deterministic simulation: real nodes (handshake,
//! links, SWIM over UDP) on turmoil's simulated network and clock, with
//! partitions, crashes, loss and latency, each run fixed by a seed.
//!
//! A failing run prints its seed; `PROSCENIUM_SIM_SEED=<seed> cargo test
//! --test cluster_simulation` runs it again, and `PROSCENIUM_SIM_SWEEP=<n>`
//! runs every test with `n` fresh seeds. See `support_sim`.

mod support_sim;

use std::time::Duration;

use proscenium::net::{MemberState, MembershipConfig, NodeEvent};
use support_sim::{for_each_seed, Cluster, Seen, Setup};

/// Simulated time within which a cluster on a LAN joins, many times over:
/// a hang guard, not a timing assertion.
const JOIN_GUARD: Duration = Duration::from_secs(120);

/// The failure detector's defaults (`MembershipConfig::default()`, checked
/// in `the_bounds_use_the_default_failure_detector`): each member probes
/// one other every `PROBE_PERIOD`; a suspect that does not refute within
/// `SUSPICION` is declared down; news spreads every `GOSSIP_INTERVAL`.
const PROBE_PERIOD: Duration = Duration::from_millis(500);
const SUSPICION: Duration = Duration::from_secs(3);
const GOSSIP_INTERVAL: Duration = Duration::from_millis(200);

/// How long a suspicion takes to reach every member: ten gossip rounds,
/// each to three members (three rounds reach 27), with room for latency.
const SPREAD: Duration = Duration::from_millis(10 * 200);

/// The longest a dead member can wait for its first probe in a cluster of
/// `members`: each member probes the others in a shuffled round, one per
/// period, so it reaches any given one within two rounds; plus the period
/// of that probe itself (its timeout and the indirect probes).
fn first_probe_bound(members: usize) -> Duration {
    PROBE_PERIOD * (2 * (members as u32 - 1) + 1)
}

fn join(cluster: &mut Cluster) -> Duration {
    let names = cluster.names().to_vec();
    let took = cluster.run_until("every node to list every node up", JOIN_GUARD, |c| {
        c.all_list_all_up(&names)
    });
    eprintln!("{} nodes joined in {took:?} (simulated)", names.len());
    took
}

/// The events of kind `what` about `name` seen at or after `since`.
fn seen_about<'a>(
    seen: &'a [Seen],
    since: Duration,
    name: &'a str,
    what: fn(&NodeEvent) -> Option<&str>,
) -> impl Iterator<Item = &'a Seen> + 'a {
    seen.iter()
        .filter(move |s| s.at >= since && what(&s.event) == Some(name))
}

fn member_down(event: &NodeEvent) -> Option<&str> {
    match event {
        NodeEvent::MemberDown { name, .. } => Some(name),
        _ => None,
    }
}

fn member_suspect(event: &NodeEvent) -> Option<&str> {
    match event {
        NodeEvent::MemberSuspect { name, .. } => Some(name),
        _ => None,
    }
}

#[test]
fn the_bounds_use_the_default_failure_detector() {
    let ours = MembershipConfig::default()
        .probe_period(PROBE_PERIOD)
        .suspicion(SUSPICION)
        .gossip_interval(GOSSIP_INTERVAL);
    assert_eq!(ours, MembershipConfig::default());
}

#[test]
fn fifty_nodes_joining_through_one_seed_each_list_all_fifty_up() {
    for_each_seed(&[1], |seed| {
        let setup = Setup {
            nodes: 50,
            ..Setup::default()
        };
        let mut cluster = Cluster::start(seed, &setup, |node| node);
        join(&mut cluster);
        assert_eq!(cluster.missed(), 0, "the event recorders kept up");
    });
}

#[test]
fn a_partition_of_half_the_cluster_heals_and_nobody_stays_down() {
    for_each_seed(&[2], |seed| {
        let setup = Setup {
            nodes: 8,
            latency: (Duration::from_millis(1), Duration::from_millis(10)),
            ..Setup::default()
        };
        let mut cluster = Cluster::start(seed, &setup, |node| node);
        join(&mut cluster);
        let names = cluster.names().to_vec();
        let (left, right) = names.split_at(names.len() / 2);
        cluster.partition(left, right);
        cluster.run_until("each side to see the other down", JOIN_GUARD, |c| {
            left.iter()
                .all(|l| right.iter().all(|r| c.sees(l, r, MemberState::Down)))
                && right
                    .iter()
                    .all(|r| left.iter().all(|l| c.sees(r, l, MemberState::Down)))
        });
        cluster.repair(left, right);
        // Down members are asked to announce themselves again about once a
        // minute (foca's LAN profile): the guard allows several rounds.
        cluster.run_until(
            "every node to list every node up again",
            5 * JOIN_GUARD,
            |c| c.all_list_all_up(&names),
        );
    });
}

#[test]
fn no_member_is_declared_down_without_a_crash_despite_loss_and_latency() {
    for_each_seed(&[3], |seed| {
        let setup = Setup {
            nodes: 10,
            latency: (Duration::from_millis(1), Duration::from_millis(20)),
            ..Setup::default()
        };
        // 1 % of every node's membership datagrams are lost.
        let mut cluster = Cluster::start(seed, &setup, |node| {
            node.membership(MembershipConfig::default().outgoing_loss(0.01))
        });
        join(&mut cluster);
        let joined = cluster.now();
        cluster.run_for(Duration::from_secs(60));
        let seen = cluster.seen();
        let downs: Vec<&Seen> = seen
            .iter()
            .filter(|s| s.at >= joined && member_down(&s.event).is_some())
            .collect();
        assert!(
            downs.is_empty(),
            "declared down without a crash: {downs:#?}"
        );
        let names = cluster.names().to_vec();
        assert!(cluster.all_list_all_up(&names), "{}", cluster.describe());
        assert_eq!(cluster.missed(), 0, "the event recorders kept up");
    });
}

#[test]
fn a_crashed_node_is_declared_down_by_every_other_within_the_bound_and_rejoins() {
    for_each_seed(&[4], |seed| {
        let setup = Setup {
            nodes: 20,
            ..Setup::default()
        };
        let mut cluster = Cluster::start(seed, &setup, |node| node);
        join(&mut cluster);
        let names = cluster.names().to_vec();
        let victim = "n07";
        let old_run = cluster
            .members_of("n00")
            .into_iter()
            .find(|m| m.name == victim)
            .map(|m| m.id);
        let others: Vec<String> = names.iter().filter(|n| *n != victim).cloned().collect();
        let crashed = cluster.now();
        cluster.crash(victim);
        cluster.run_until(
            "every other node to see the crashed one down",
            JOIN_GUARD,
            |c| others.iter().all(|o| c.sees(o, victim, MemberState::Down)),
        );

        let seen = cluster.seen();
        let first_suspect = seen_about(&seen, crashed, victim, member_suspect)
            .map(|s| s.at)
            .min()
            .expect("someone suspected the crashed node first");
        assert!(
            first_suspect - crashed <= first_probe_bound(names.len()),
            "first suspected {:?} after the crash",
            first_suspect - crashed
        );
        for observer in &others {
            let down = seen_about(&seen, crashed, victim, member_down)
                .find(|s| s.observer == *observer)
                .unwrap_or_else(|| panic!("{observer} recorded no MemberDown for {victim}"));
            assert!(
                down.at - first_suspect <= SUSPICION + SPREAD,
                "{observer} declared it down {:?} after the first suspicion",
                down.at - first_suspect
            );
        }

        cluster.restart(victim);
        cluster.run_until(
            "the restarted node to be listed up by all",
            JOIN_GUARD,
            |c| c.all_list_all_up(&names),
        );
        let new_run = cluster
            .members_of("n00")
            .into_iter()
            .find(|m| m.name == victim)
            .map(|m| m.id);
        assert_ne!(new_run, old_run, "the restart is a new run");
    });
}

/// The simulated membership benchmark (BENCHMARKS.md, "Membership",
/// "Simulated"): at 100 nodes, the time to join, and over repeated crashes
/// (of different nodes, one after the other) the time each other member
/// takes to declare the crashed one down, in simulated time. Run with
/// `cargo test --release --test cluster_simulation -- --ignored --nocapture simulated_membership_at_100_nodes`
/// (`PROSCENIUM_SIM_SEED` picks the seed; the build profile changes only
/// how long it takes, not what it measures).
#[test]
#[ignore = "a benchmark: minutes of real time; run it by name"]
fn simulated_membership_at_100_nodes() {
    const NODES: usize = 100;
    const CRASHES: usize = 5;
    for_each_seed(&[100], |seed| {
        let setup = Setup {
            nodes: NODES,
            ..Setup::default()
        };
        let mut cluster = Cluster::start(seed, &setup, |node| node);
        let converged = join(&mut cluster);
        let names = cluster.names().to_vec();
        let mut each = Vec::new();
        let mut all = Vec::new();
        let mut crashed_nodes: Vec<String> = Vec::new();
        for crash in 0..CRASHES {
            // Every other node in turn, never the seed.
            let victim = names[1 + crash * (NODES - 1) / CRASHES].clone();
            crashed_nodes.push(victim.clone());
            let others: Vec<String> = names
                .iter()
                .filter(|n| !crashed_nodes.contains(n))
                .cloned()
                .collect();
            let crashed = cluster.now();
            cluster.crash(&victim);
            let everyone =
                cluster.run_until("every other node to see the crash", JOIN_GUARD, |c| {
                    others.iter().all(|o| c.sees(o, &victim, MemberState::Down))
                });
            all.push(everyone);
            let seen = cluster.seen();
            for observer in &others {
                let down = seen_about(&seen, crashed, &victim, member_down)
                    .find(|s| s.observer == *observer)
                    .expect("every observer recorded the MemberDown");
                each.push(down.at - crashed);
            }
            eprintln!("crash {crash} of {victim}: all saw it down after {everyone:?}");
            // Let the cluster settle before the next crash.
            cluster.run_for(Duration::from_secs(5));
        }
        each.sort();
        all.sort();
        let at = |sorted: &[Duration], quantile: f64| {
            sorted[((sorted.len() - 1) as f64 * quantile).round() as usize]
        };
        println!("seed {seed}: {NODES} nodes joined through one seed in {converged:?} (simulated)");
        println!(
            "crash detected by each member ({} observations over {CRASHES} crashes): median {:?}, p99 {:?}, max {:?}",
            each.len(),
            at(&each, 0.5),
            at(&each, 0.99),
            at(&each, 1.0),
        );
        println!(
            "crash detected by every member: median {:?}, max {:?} (over {CRASHES} crashes)",
            at(&all, 0.5),
            at(&all, 1.0),
        );
    });
}
