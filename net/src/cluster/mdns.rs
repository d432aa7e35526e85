//! Finding members on the LAN by multicast DNS (feature `mdns`): a seed
//! source, never a failure detector.
//!
//! Each node publishes a `_proscenium._udp.local.` service at its
//! advertised address, with its cluster's label in the TXT record, and
//! browses for the same service type; every resolved instance with the
//! same label is a seed the membership task announces to. The `mdns-sd`
//! crate runs the responder on its own thread; the stream owns it, so it
//! stops (and says goodbye on the LAN) when the membership task ends.

use std::net::SocketAddr;

use futures_util::stream::{self, BoxStream, StreamExt};
use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent, ServiceInfo};

use crate::NodeError;

/// The DNS-SD service type every Proscenium member publishes.
pub(crate) const SERVICE_TYPE: &str = "_proscenium._udp.local.";

/// The TXT key of the cluster label.
const CLUSTER_KEY: &str = "cluster";

/// Publishes this node (`name` at `advertised`) under the cluster label
/// `cluster` and returns the addresses of the other nodes with that label,
/// as they are found.
pub(crate) fn discover(
    cluster: &str,
    name: &str,
    advertised: SocketAddr,
) -> Result<BoxStream<'static, SocketAddr>, NodeError> {
    let failed = |error: mdns_sd::Error| NodeError::Mdns(error.to_string());
    let daemon = Responder(ServiceDaemon::new().map_err(failed)?);
    // Unique per node run on a host: the name and the port.
    let instance = format!("{name}-{}", advertised.port());
    let host = format!("{}.local.", host_label(name));
    let properties = [(CLUSTER_KEY, cluster)];
    let service = ServiceInfo::new(
        SERVICE_TYPE,
        &instance,
        &host,
        advertised.ip(),
        advertised.port(),
        &properties[..],
    )
    .map_err(failed)?;
    daemon.0.register(service).map_err(failed)?;
    let events = daemon.0.browse(SERVICE_TYPE).map_err(failed)?;
    let cluster = cluster.to_owned();
    let found = stream::unfold((events, daemon), move |(events, daemon)| {
        let cluster = cluster.clone();
        async move {
            loop {
                match events.recv_async().await {
                    Ok(ServiceEvent::ServiceResolved(service)) => {
                        let addrs = addresses(&service, &cluster);
                        return Some((stream::iter(addrs), (events, daemon)));
                    }
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
        }
    });
    Ok(found.flatten().boxed())
}

/// The addresses of `service` if it belongs to cluster `cluster`.
fn addresses(service: &ResolvedService, cluster: &str) -> Vec<SocketAddr> {
    if service.txt_properties.get_property_val_str(CLUSTER_KEY) != Some(cluster) {
        return Vec::new();
    }
    let mut addrs: Vec<SocketAddr> = service
        .addresses
        .iter()
        .map(|ip| SocketAddr::new(ip.to_ip_addr(), service.port))
        .collect();
    addrs.sort();
    addrs
}

/// `name` as a DNS label: letters, digits and `-`, at most 63 bytes.
fn host_label(name: &str) -> String {
    let label: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    if label.is_empty() {
        "proscenium".to_owned()
    } else {
        label
    }
}

/// The mDNS responder, shut down (its services unregistered) when dropped.
struct Responder(ServiceDaemon);

impl Drop for Responder {
    fn drop(&mut self) {
        if let Err(error) = self.0.shutdown() {
            tracing::debug!(%error, "could not stop the mDNS responder");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(cluster: &str, ips: &str, port: u16) -> ResolvedService {
        ServiceInfo::new(
            SERVICE_TYPE,
            "n1-7000",
            "n1.local.",
            ips,
            port,
            &[(CLUSTER_KEY, cluster)][..],
        )
        .expect("a valid service")
        .as_resolved_service()
    }

    #[test]
    fn members_of_the_same_cluster_are_seeds_at_each_address() {
        let found = addresses(&resolved("orders", "127.0.0.1,::1", 7000), "orders");
        assert_eq!(
            found,
            [
                "127.0.0.1:7000".parse::<SocketAddr>().expect("an address"),
                "[::1]:7000".parse().expect("an address"),
            ]
        );
    }

    #[test]
    fn nodes_of_another_cluster_are_not() {
        assert!(addresses(&resolved("billing", "127.0.0.1", 7000), "orders").is_empty());
    }

    #[test]
    fn names_become_host_labels() {
        assert_eq!(host_label("web-1"), "web-1");
        assert_eq!(host_label("a.b c"), "a-b-c");
        assert_eq!(host_label(""), "proscenium");
        assert_eq!(host_label(&"x".repeat(100)).len(), 63);
    }
}
