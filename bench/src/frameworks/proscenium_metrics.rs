//! Proscenium with its metrics on (bench feature `metrics`), recording into
//! a real exporter's recorder: the tell and ask rows, to show what
//! recording costs per message. Compare with the `proscenium` rows of the
//! same build, where the feature is compiled in and switched off.

use std::sync::OnceLock;

use proscenium::{System, SystemBuilder};

use super::proscenium::Setup;
use super::{tokio_runtime, Framework};
use crate::workloads::{
    ask, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong, ring, spawn, tell,
    Outcome,
};

/// Proscenium with `SystemBuilder::metrics(true)`, recording into
/// `metrics-exporter-prometheus`'s recorder (built without its HTTP
/// listener: nothing scrapes it, so this is the cost of recording alone).
#[derive(Debug, Clone, Copy)]
pub struct ProsceniumMetrics;

/// Why the metrics variant has only the tell and ask rows.
const TELL_AND_ASK_ONLY: &str = "tell and ask rows only: they show the cost per message";

/// Installs the Prometheus recorder as the process's global recorder, once:
/// the workloads run on several threads, which a thread-local recorder
/// would not reach, and handles are registered when actors are spawned.
fn install_recorder() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        if let Err(error) = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()
        {
            panic!("installing the Prometheus recorder failed: {error}");
        }
    });
}

fn with_metrics() -> SystemBuilder {
    install_recorder();
    System::builder().metrics(true)
}

impl Framework for ProsceniumMetrics {
    fn name(&self) -> &'static str {
        "proscenium-metrics"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn runtime(&self) -> &'static str {
        tokio_runtime()
    }

    fn tell(&self, params: &tell::Params) -> Outcome {
        Setup::shared(with_metrics).tell(params)
    }

    fn ask(&self, params: &ask::Params) -> Outcome {
        Setup::shared(with_metrics).ask(params)
    }

    fn spawn(&self, _: &spawn::Params) -> Outcome {
        Outcome::NotApplicable(TELL_AND_ASK_ONLY)
    }

    fn ping_pong(&self, _: &ping_pong::Params) -> Outcome {
        Outcome::NotApplicable(TELL_AND_ASK_ONLY)
    }

    fn counting(&self, _: &counting::Params) -> Outcome {
        Outcome::NotApplicable(TELL_AND_ASK_ONLY)
    }

    fn ring(&self, _: &ring::Params) -> Outcome {
        Outcome::NotApplicable(TELL_AND_ASK_ONLY)
    }

    fn fork_join_throughput(&self, _: &fork_join_throughput::Params) -> Outcome {
        Outcome::NotApplicable(TELL_AND_ASK_ONLY)
    }

    fn fork_join_create(&self, _: &fork_join_create::Params) -> Outcome {
        Outcome::NotApplicable(TELL_AND_ASK_ONLY)
    }

    fn fan_out(&self, _: &fan_out::Params) -> Outcome {
        Outcome::NotApplicable(TELL_AND_ASK_ONLY)
    }
}
