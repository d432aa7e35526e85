//! Mutual TLS between nodes (feature `tls`): certificates made here with
//! rcgen, one cluster CA and one stranger CA, all on 127.0.0.1.
//!
//! Run with `cargo test --features tls --test tls_links`.
#![cfg(feature = "tls")]

mod support_cluster;

use proscenium::net::tls::TlsConfig;
use proscenium::net::{HandshakeError, Node, NodeError};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use support_cluster::cluster::{self, Add, Counter, Values};
use support_cluster::within;

/// The name every node certificate of the test cluster carries.
const CLUSTER: &str = "nodes.proscenium.test";

/// A certificate authority that can issue node certificates.
struct Ca(CertifiedIssuer<'static, KeyPair>);

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("a CA key");
        Self(CertifiedIssuer::self_signed(params, key).expect("a CA certificate"))
    }

    /// A node's TLS configuration: a certificate naming `name`, issued by
    /// this CA, trusting `trusted`'s certificates, checking `CLUSTER`.
    fn node(&self, name: &str, trusted: &Ca) -> TlsConfig {
        let params = CertificateParams::new(vec![name.to_owned()]).expect("node params");
        let key = KeyPair::generate().expect("a node key");
        let certificate = params.signed_by(&key, &self.0).expect("a node certificate");
        TlsConfig::from_pem(
            CLUSTER,
            trusted.0.pem().as_bytes(),
            certificate.pem().as_bytes(),
            key.serialize_pem().as_bytes(),
        )
        .expect("a TLS configuration")
    }
}

/// A node with TLS and no cluster secret, listening on 127.0.0.1 if `listen`.
async fn tls_node(name: &str, tls: TlsConfig, listen: bool) -> Node {
    let mut builder = Node::builder(name).tls(tls).registry(cluster::registry());
    if listen {
        builder = builder.listen("127.0.0.1:0".parse().expect("a loopback address"));
    }
    builder
        .start()
        .await
        .expect("a TLS node starts without a secret")
}

fn refused_by_tls(result: &Result<proscenium::NodeId, NodeError>) -> bool {
    matches!(
        result,
        Err(NodeError::Handshake {
            source: HandshakeError::Tls(_),
            ..
        })
    )
}

#[tokio::test]
async fn nodes_with_certificates_from_the_cluster_ca_talk_without_a_secret() {
    let ca = Ca::new();
    let b = tls_node("b", ca.node(CLUSTER, &ca), true).await;
    b.system()
        .spawn_named("counter", Counter::default())
        .expect("spawn the counter");
    let a = tls_node("a", ca.node(CLUSTER, &ca), false).await;
    within("connect", a.connect(b.local_addr().expect("listening")))
        .await
        .expect("mutual TLS with one CA");
    let counter = within("the lookup", a.lookup::<Counter>("counter"))
        .await
        .expect("the counter");
    counter.tell(Add(41)).await.expect("a tell");
    counter.tell(Add(1)).await.expect("a tell");
    assert_eq!(
        within("the ask", counter.ask(Values)).await.as_deref(),
        Ok(&[41, 1][..])
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_both_ways() {
    let (ca, stranger) = (Ca::new(), Ca::new());
    let member = tls_node("member", ca.node(CLUSTER, &ca), true).await;
    // Trusts the cluster's CA, but its own certificate is the stranger's.
    let intruder = tls_node("intruder", stranger.node(CLUSTER, &ca), true).await;
    let dialed = within(
        "the intruder dials",
        intruder.connect(member.local_addr().expect("listening")),
    )
    .await;
    assert!(refused_by_tls(&dialed), "{dialed:?}");
    let dialing = within(
        "the member dials",
        member.connect(intruder.local_addr().expect("listening")),
    )
    .await;
    assert!(refused_by_tls(&dialing), "{dialing:?}");
    assert!(member.peers().is_empty() && intruder.peers().is_empty());
    intruder.shutdown().await;
    member.shutdown().await;
}

#[tokio::test]
async fn a_certificate_that_does_not_name_the_cluster_is_refused_both_ways() {
    let ca = Ca::new();
    let misnamed = tls_node("misnamed", ca.node("elsewhere.test", &ca), true).await;
    let a = tls_node("a", ca.node(CLUSTER, &ca), false).await;
    let dialed = within(
        "connect",
        a.connect(misnamed.local_addr().expect("listening")),
    )
    .await;
    assert!(refused_by_tls(&dialed), "{dialed:?}");
    // The other way round: the member checks the dialer's name too.
    let member = tls_node("member", ca.node(CLUSTER, &ca), true).await;
    let dialing = within(
        "the misnamed node dials",
        misnamed.connect(member.local_addr().expect("listening")),
    )
    .await;
    assert!(refused_by_tls(&dialing), "{dialing:?}");
    assert!(member.peers().is_empty());
    member.shutdown().await;
    a.shutdown().await;
    misnamed.shutdown().await;
}

#[tokio::test]
async fn a_node_without_tls_cannot_reach_a_tls_node() {
    let ca = Ca::new();
    let member = tls_node("member", ca.node(CLUSTER, &ca), true).await;
    let plain = Node::builder("plain")
        .secret(b"a secret that is no certificate at all".to_vec())
        .start()
        .await
        .expect("a node without TLS");
    let dialed = within(
        "connect",
        plain.connect(member.local_addr().expect("listening")),
    )
    .await;
    assert!(
        matches!(dialed, Err(NodeError::Handshake { .. })),
        "{dialed:?}"
    );
    assert!(member.peers().is_empty());
    plain.shutdown().await;
    member.shutdown().await;
}

#[tokio::test]
async fn a_tls_node_that_joins_a_cluster_still_needs_the_secret() {
    let ca = Ca::new();
    let refused = Node::builder("member")
        .tls(ca.node(CLUSTER, &ca))
        .listen("127.0.0.1:0".parse().expect("a loopback address"))
        .cluster()
        .start()
        .await;
    assert!(matches!(refused, Err(NodeError::NoSecret)), "{refused:?}");
}
