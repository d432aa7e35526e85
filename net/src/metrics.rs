//! Metrics of a node's links, through the `metrics` facade crate (feature
//! `metrics`, turned on with `NodeBuilder::metrics(true)`); the table of
//! every metric is the `metrics` module of the `proscenium` crate.
//!
//! The link code calls the hooks here unconditionally. Without the cargo
//! feature they are empty and compile to nothing; with it, a node whose
//! metrics are off holds `None` and pays one branch per hook. A hook runs
//! per batch of frames written, per frame read and per socket read, never
//! per frame queued, so the senders' side of a link is untouched.
//!
//! The round-trip time is measured with heartbeats: an idle link sends
//! [`Frame::Ping`](crate::Frame::Ping), stamped with the time since the link opened; every node
//! answers a ping with a [`Frame::Pong`](crate::Frame::Pong) carrying the stamp back, and the
//! pinging node sets the gauge to the time elapsed since the stamp (the
//! link keeps it too, for snapshots).

#[cfg(feature = "metrics")]
use std::sync::Arc;

/// The metrics' names, as documented in the facade's `metrics` module.
#[cfg(feature = "metrics")]
mod name {
    pub(super) const FRAMES_SENT: &str = "proscenium_link_frames_sent_total";
    pub(super) const FRAMES_RECEIVED: &str = "proscenium_link_frames_received_total";
    pub(super) const BYTES_SENT: &str = "proscenium_link_bytes_sent_total";
    pub(super) const BYTES_RECEIVED: &str = "proscenium_link_bytes_received_total";
    pub(super) const OUTBOX_BYTES: &str = "proscenium_link_outbox_bytes";
    pub(super) const RTT_SECONDS: &str = "proscenium_link_rtt_seconds";
    pub(super) const RECONNECTS: &str = "proscenium_link_reconnects_total";
}

/// The label with the peer node's name.
#[cfg(feature = "metrics")]
const PEER: &str = "peer";

// ===== impl NodeMetrics =====

/// Whether a node records link metrics, and the peers it has had links
/// to, so that a link to one of them again counts as a reconnect.
#[derive(Debug, Default)]
pub(crate) struct NodeMetrics {
    #[cfg(feature = "metrics")]
    peers_seen: Option<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl NodeMetrics {
    /// Link metrics on (`enabled`, with the feature compiled in) or off.
    pub(crate) fn new(enabled: bool) -> Self {
        #[cfg(feature = "metrics")]
        {
            if enabled {
                describe();
            }
            Self {
                peers_seen: enabled.then(Default::default),
            }
        }
        #[cfg(not(feature = "metrics"))]
        {
            let _ = enabled;
            Self {}
        }
    }

    /// The handles of a new link to `peer`.
    pub(crate) fn link(&self, peer: &str) -> LinkMetrics {
        #[cfg(feature = "metrics")]
        {
            LinkMetrics(
                self.peers_seen
                    .as_ref()
                    .map(|_| Arc::new(Handles::register(peer))),
            )
        }
        #[cfg(not(feature = "metrics"))]
        {
            let _ = peer;
            LinkMetrics {}
        }
    }

    /// A link to `peer` is up; a reconnect if there was one before.
    pub(crate) fn link_up(&self, peer: &str, link: &LinkMetrics) {
        #[cfg(feature = "metrics")]
        if let (Some(seen), Some(handles)) = (&self.peers_seen, &link.0) {
            let again = seen
                .lock()
                .map(|mut seen| !seen.insert(peer.to_owned()))
                .unwrap_or(false);
            if again {
                handles.reconnects.increment(1);
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (peer, link);
    }
}

#[cfg(feature = "metrics")]
fn describe() {
    use metrics::{describe_counter, describe_gauge, Unit};
    describe_counter!(
        name::FRAMES_SENT,
        Unit::Count,
        "Frames written to a peer's connection."
    );
    describe_counter!(
        name::FRAMES_RECEIVED,
        Unit::Count,
        "Frames read from a peer's connection."
    );
    describe_counter!(
        name::BYTES_SENT,
        Unit::Bytes,
        "Bytes written to a peer's socket, framing and encryption included."
    );
    describe_counter!(
        name::BYTES_RECEIVED,
        Unit::Bytes,
        "Bytes read from a peer's socket, framing and encryption included."
    );
    describe_gauge!(name::OUTBOX_BYTES, Unit::Bytes, "Bytes of frames queued for a peer, and of tells written but not yet acknowledged, as the writer last saw them.");
    describe_gauge!(
        name::RTT_SECONDS,
        Unit::Seconds,
        "Round-trip time of the last heartbeat ping answered by the peer."
    );
    describe_counter!(
        name::RECONNECTS,
        Unit::Count,
        "Links to a peer opened after an earlier one to the same peer (by name) ended."
    );
}

// ===== impl LinkMetrics =====

/// One link's handles, shared by its writer, its reader and its stream;
/// empty when metrics are off.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkMetrics(#[cfg(feature = "metrics")] Option<Arc<Handles>>);

#[cfg(feature = "metrics")]
#[derive(Debug)]
struct Handles {
    frames_sent: metrics::Counter,
    frames_received: metrics::Counter,
    bytes_sent: metrics::Counter,
    bytes_received: metrics::Counter,
    outbox_bytes: metrics::Gauge,
    rtt_seconds: metrics::Gauge,
    reconnects: metrics::Counter,
}

#[cfg(feature = "metrics")]
impl Handles {
    fn register(peer: &str) -> Self {
        let labels = [metrics::Label::new(PEER, peer.to_owned())];
        Self {
            frames_sent: metrics::counter!(name::FRAMES_SENT, labels.iter()),
            frames_received: metrics::counter!(name::FRAMES_RECEIVED, labels.iter()),
            bytes_sent: metrics::counter!(name::BYTES_SENT, labels.iter()),
            bytes_received: metrics::counter!(name::BYTES_RECEIVED, labels.iter()),
            outbox_bytes: metrics::gauge!(name::OUTBOX_BYTES, labels.iter()),
            rtt_seconds: metrics::gauge!(name::RTT_SECONDS, labels.iter()),
            reconnects: metrics::counter!(name::RECONNECTS, labels.iter()),
        }
    }
}

impl LinkMetrics {
    /// The writer wrote a batch of `frames` frames.
    pub(crate) fn frames_sent(&self, frames: u64) {
        #[cfg(feature = "metrics")]
        if let Some(handles) = &self.0 {
            handles.frames_sent.increment(frames);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = frames;
    }

    /// The reader read a frame.
    pub(crate) fn frame_received(&self) {
        #[cfg(feature = "metrics")]
        if let Some(handles) = &self.0 {
            handles.frames_received.increment(1);
        }
    }

    /// The socket took `bytes` bytes.
    pub(crate) fn bytes_sent(&self, bytes: usize) {
        #[cfg(feature = "metrics")]
        if let Some(handles) = &self.0 {
            handles.bytes_sent.increment(bytes as u64);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = bytes;
    }

    /// The socket gave `bytes` bytes.
    pub(crate) fn bytes_received(&self, bytes: usize) {
        #[cfg(feature = "metrics")]
        if let Some(handles) = &self.0 {
            handles.bytes_received.increment(bytes as u64);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = bytes;
    }

    /// The outbox holds `bytes` bytes (see [`Frame::weight`](crate::Frame::weight)).
    pub(crate) fn outbox(&self, bytes: usize) {
        #[cfg(feature = "metrics")]
        if let Some(handles) = &self.0 {
            handles.outbox_bytes.set(bytes as f64);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = bytes;
    }

    /// The peer answered a ping after `micros` microseconds.
    pub(crate) fn round_trip(&self, micros: u64) {
        #[cfg(feature = "metrics")]
        if let Some(handles) = &self.0 {
            handles.rtt_seconds.set(micros as f64 / 1e6);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = micros;
    }
}
