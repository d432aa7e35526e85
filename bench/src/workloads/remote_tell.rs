//! Remote tell throughput: 100-byte messages from one OS process to an
//! actor in another, over loopback.

use std::time::Duration;

use super::{Metric, Mode, Outcome, Workload};

/// Bytes of payload in each message.
pub const PAYLOAD_LEN: usize = 100;

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// How many 100-byte messages the sender tells.
    pub messages: u64,
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        let messages = std::env::var("PROSCENIUM_PROFILE_REMOTE_MESSAGES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| mode.pick(2_000, 1_000_000));
        Self { messages }
    }

    /// The payload of message `i`: 100 bytes, each `i % 251`.
    pub fn payload(i: u64) -> Vec<u8> {
        vec![(i % 251) as u8; PAYLOAD_LEN]
    }

    /// The sum of every payload byte of messages `0..messages`.
    pub fn expected_byte_sum(&self) -> u64 {
        (0..self.messages)
            .map(|i| (i % 251) * PAYLOAD_LEN as u64)
            .sum()
    }

    /// The outcome of a run that took `elapsed` and after which the
    /// receiver had counted `count` messages with payload bytes summing to
    /// `byte_sum`.
    ///
    /// # Panics
    ///
    /// Panics if the count or the byte sum is wrong.
    #[track_caller]
    pub fn measured(&self, elapsed: Duration, count: u64, byte_sum: u64) -> Outcome {
        assert_eq!(count, self.messages, "remote-tell: wrong count");
        assert_eq!(
            byte_sum,
            self.expected_byte_sum(),
            "remote-tell: wrong byte sum"
        );
        Outcome::Measured(vec![self.messages as f64 / elapsed.as_secs_f64() / 1e6])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "remote-tell",
    title: "Remote tell throughput",
    about: "This process starts a second OS process of the bench binary as the receiving \
            node, on 127.0.0.1, connects to it, and tells its counting actor n messages of \
            100 payload bytes each as fast as it can, then asks for the count and byte sum \
            (which must match). Time runs from the first tell to the answer. ractor: \
            ractor_cluster, run by its own binary (bench/ractor-cluster).",
    metrics: &[Metric::higher("throughput", "M msg/s")],
    describe: |mode| {
        format!(
            "{} messages of {PAYLOAD_LEN} bytes, two processes on loopback",
            Params::new(mode).messages
        )
    },
    run: |fw, mode| fw.remote_tell(&Params::new(mode)),
};
