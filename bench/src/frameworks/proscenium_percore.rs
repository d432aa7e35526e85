//! Proscenium with `Placement::PerCore`: one current-thread runtime per
//! core, owned by the system, with the actors of one conversation (ring,
//! ping-pong, counting, big, chameneos) spawned together on core 0 with
//! `System::spawn_on`, as actix's single thread has them. Workloads of
//! independent actors (tell, ask, spawn, fork-join, fan-out) let the system
//! place them: round-robin over the cores. Compare with the `proscenium`
//! row, the shared multi-thread runtime (issue 18).
//!
//! The driver (the code that starts a workload and waits for its report)
//! stays a task on the bench's own tokio runtime, as for every row, so its
//! first and last messages cross from that runtime to a per-core thread.

use proscenium::{Placement, System, SystemBuilder};

use super::proscenium::Setup;
use super::Framework;
use crate::workloads::{
    ask, big, chameneos, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong,
    ring, spawn, tell, Outcome,
};

/// Proscenium on per-core threads, one per core.
#[derive(Debug, Clone, Copy)]
pub struct ProsceniumPerCore;

fn per_core() -> SystemBuilder {
    System::builder().placement(Placement::PerCore {
        threads: crate::machine::cores(),
    })
}

const PER_CORE: Setup = Setup::per_core(per_core);

impl Framework for ProsceniumPerCore {
    fn name(&self) -> &'static str {
        "proscenium-percore"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn runtime(&self) -> &'static str {
        "Placement::PerCore: a current-thread tokio runtime per core, one conversation per thread"
    }

    fn tell(&self, params: &tell::Params) -> Outcome {
        PER_CORE.tell(params)
    }

    fn ask(&self, params: &ask::Params) -> Outcome {
        PER_CORE.ask(params)
    }

    fn spawn(&self, params: &spawn::Params) -> Outcome {
        PER_CORE.spawn(params)
    }

    fn ping_pong(&self, params: &ping_pong::Params) -> Outcome {
        PER_CORE.ping_pong(params)
    }

    fn counting(&self, params: &counting::Params) -> Outcome {
        PER_CORE.counting(params)
    }

    fn ring(&self, params: &ring::Params) -> Outcome {
        PER_CORE.ring(params)
    }

    fn fork_join_throughput(&self, params: &fork_join_throughput::Params) -> Outcome {
        PER_CORE.fork_join_throughput(params)
    }

    fn fork_join_create(&self, params: &fork_join_create::Params) -> Outcome {
        PER_CORE.fork_join_create(params)
    }

    fn big(&self, params: &big::Params) -> Outcome {
        PER_CORE.big(params)
    }

    fn chameneos(&self, params: &chameneos::Params) -> Outcome {
        PER_CORE.chameneos(params)
    }

    fn fan_out(&self, params: &fan_out::Params) -> Outcome {
        PER_CORE.fan_out(params)
    }

    fn remote_tell(&self, _: &crate::workloads::remote_tell::Params) -> Outcome {
        Outcome::NotApplicable(NOT_REMOTE_PER_CORE)
    }

    fn remote_ask(&self, _: &crate::workloads::remote_ask::Params) -> Outcome {
        Outcome::NotApplicable(NOT_REMOTE_PER_CORE)
    }
}

/// Why the per-core row has no remote rows.
const NOT_REMOTE_PER_CORE: &str = "local rows only: the remote ones measure the network layer";
