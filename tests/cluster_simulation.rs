//! Cluster membership in deterministic simulation: real nodes (handshake,
//! links, SWIM over UDP) on turmoil's simulated network and clock, with
//! partitions, crashes and latency, each run fixed by a seed.
//!
//! A failing run prints its seed; `PROSCENIUM_SIM_SEED=<seed> cargo test
//! --test cluster_simulation` runs it again, and `PROSCENIUM_SIM_SWEEP=<n>`
//! runs every test with `n` fresh seeds. See `support_sim`.

mod support_sim;

use std::time::Duration;

use support_sim::{for_each_seed, Cluster, Setup};

/// Simulated time within which a cluster on a LAN joins, many times over:
/// a hang guard, not a timing assertion.
const JOIN_GUARD: Duration = Duration::from_secs(120);

#[test]
fn nodes_joining_through_one_seed_each_list_every_node_up() {
    for_each_seed(&[1, 2], |seed| {
        let setup = Setup {
            nodes: 10,
            ..Setup::default()
        };
        let mut cluster = Cluster::start(seed, &setup, |node| node);
        let names = cluster.names().to_vec();
        cluster.run_until("every node to list every node up", JOIN_GUARD, |c| {
            c.all_list_all_up(&names)
        });
    });
}
