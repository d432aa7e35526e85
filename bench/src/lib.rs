//! The same actor workloads on Proscenium, on its peer frameworks (actix,
//! ractor, kameo, xtra) and on a raw tokio baseline, in one run.
//!
//! A tour of the modules, one line each:
//!
//! * [`workloads`]: one module per workload: what it measures, its
//!   parameters in quick and full mode, and the metrics it reports;
//! * [`frameworks`]: the [`Framework`] trait, and one module per framework
//!   implementing every workload with identical parameters;
//! * [`runner`]: warm-up, repeated runs, medians and min–max;
//! * [`report`]: the machine header, the markdown tables and the JSON output;
//! * [`remote`]: the second OS process of the remote workloads;
//! * `ractor_cluster` (with `peers`): the remote workloads on ractor_cluster,
//!   run by a binary of their own (`bench/ractor-cluster`);
//! * [`machine`]: cores, CPU model and resident memory, read from `/proc`.
//!
//! Every implementation asserts its result (sums, counts), so a fast wrong
//! answer panics instead of making the table. The peers are compiled only
//! with the `peers` feature; without it the suite runs Proscenium and the
//! tokio baseline.

pub mod frameworks;
pub mod machine;
#[cfg(feature = "peers")]
pub mod ractor_cluster;
pub mod remote;
pub mod report;
pub mod runner;
pub mod workloads;

pub use frameworks::Framework;
pub use runner::{run, Config, Results};
pub use workloads::{Mode, Outcome, Workload};
