//! Mutual TLS between nodes (cargo feature `tls`): certificates from your
//! CA instead of the shared secret.
//!
//! With [`NodeBuilder::tls`](crate::NodeBuilder::tls), every link is a TLS
//! 1.3 session (rustls, with ring as the crypto provider) in which **both**
//! sides present a certificate issued by the cluster's CA and naming the
//! cluster (a DNS name every node's certificate carries as a subject
//! alternative name, such as `nodes.example.internal`), and both sides
//! check both. A certificate with an extended key usage extension must
//! allow both server and client authentication: every node is both.
//! Revocation lists are not checked: remove a node by rotating the CA or
//! by short-lived certificates. A peer whose
//! certificate another CA issued, or that presents none, is refused during
//! the TLS handshake, on both sides, with
//! [`HandshakeError::Tls`].
//!
//! Proscenium's own handshake (versions, node ids, heartbeats) then runs
//! inside the session, proving not the cluster secret but keying material
//! exported from that TLS session (RFC 5705/8446 exporters): the proofs are
//! bound to the session, so a relay that terminates TLS cannot forward
//! them. Frames are protected by TLS; the record layer of
//! [`encryption`](crate::encryption) is not added on top
//! ([`Encryption::Tls`](crate::encryption::Encryption::Tls) in the hello).
//!
//! Cluster membership datagrams are UDP, outside any TLS session: a node
//! that also joins a cluster ([`NodeBuilder::cluster`](crate::NodeBuilder::cluster))
//! still needs the cluster [`secret`](crate::NodeBuilder::secret) to
//! authenticate them. A node with links only (`connect`, `listen`) needs no
//! secret at all.
//!
//! # Examples
//!
//! ```no_run
//! use proscenium_net::tls::TlsConfig;
//! use proscenium_net::Node;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = TlsConfig::from_pem(
//!     "nodes.example.internal",
//!     &std::fs::read("ca.pem")?,
//!     &std::fs::read("node-a.pem")?,
//!     &std::fs::read("node-a.key")?,
//! )?;
//! let node = Node::builder("a")
//!     .tls(tls)
//!     .listen("0.0.0.0:7000".parse()?)
//!     .start()
//!     .await?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::io;
use std::sync::Arc;

use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerifier};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::UnixTime;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::version::TLS13;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::handshake::ClusterSecret;
use crate::link_stream::LinkStream;
use crate::sys::Stream;
use crate::HandshakeError;

/// The exporter label of the secret Proscenium's handshake proves inside
/// a TLS session.
const EXPORTER_LABEL: &[u8] = b"EXPORTER-proscenium-handshake-v1";

/// A node's TLS identity and trust: its certificate chain and key, the CA
/// it trusts for peers, and the name every node's certificate carries.
///
/// Cheap to clone (the rustls configurations are shared).
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    cluster_name: ServerName<'static>,
}

/// A [`TlsConfig`] could not be built from what was given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// The PEM input held nothing of the kind expected, or could not be read.
    #[error("could not read the {what} from PEM: {reason}; pass the PEM file's contents")]
    Pem {
        /// What was being read: "CA certificates", "certificate chain", "private key".
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The CA certificates were refused.
    #[error("the CA certificates are unusable: {0}")]
    Ca(String),
    /// The node's certificate chain or key was refused.
    #[error("this node's certificate or key is unusable: {0}")]
    Certificate(String),
    /// The cluster name is not a valid DNS name or IP address.
    #[error(
        "`{0}` is not a DNS name or IP address; use the name every node's certificate carries"
    )]
    ClusterName(String),
}

impl TlsConfig {
    /// A configuration from DER: the CA certificates peers' certificates
    /// must chain to, this node's certificate chain (leaf first) and its
    /// private key, and `cluster_name`, the DNS name (or IP address) every
    /// node's certificate carries as a subject alternative name, which
    /// this node checks in the certificate of each node it dials.
    ///
    /// # Errors
    ///
    /// [`TlsConfigError::Ca`], [`TlsConfigError::Certificate`] or
    /// [`TlsConfigError::ClusterName`] for input rustls refuses.
    pub fn new(
        cluster_name: &str,
        ca: Vec<CertificateDer<'static>>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsConfigError> {
        let cluster_name = ServerName::try_from(cluster_name.to_owned())
            .map_err(|_| TlsConfigError::ClusterName(cluster_name.to_owned()))?;
        let mut roots = RootCertStore::empty();
        for certificate in ca {
            roots
                .add(certificate)
                .map_err(|error| TlsConfigError::Ca(error.to_string()))?;
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(default_provider());
        let chain_check =
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .build()
                .map_err(|error| TlsConfigError::Ca(error.to_string()))?;
        let name_check =
            WebPkiServerVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .build()
                .map_err(|error| TlsConfigError::Ca(error.to_string()))?;
        let verifier = Arc::new(ClusterMembers {
            chain_check,
            name_check,
            cluster_name: cluster_name.clone(),
        });
        let certificate =
            |error: tokio_rustls::rustls::Error| TlsConfigError::Certificate(error.to_string());
        let server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&TLS13])
            .map_err(certificate)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(certificate)?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&TLS13])
            .map_err(certificate)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(certificate)?;
        Ok(Self {
            server: Arc::new(server),
            client: Arc::new(client),
            cluster_name,
        })
    }

    /// [`new`](Self::new) from the contents of PEM files: the CA
    /// certificate(s), this node's certificate chain, and its private key.
    ///
    /// # Errors
    ///
    /// [`TlsConfigError::Pem`] for PEM input without the expected items,
    /// then as [`new`](Self::new).
    pub fn from_pem(
        cluster_name: &str,
        ca_pem: &[u8],
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Self, TlsConfigError> {
        let ca = certificates(ca_pem, "CA certificates")?;
        let chain = certificates(chain_pem, "certificate chain")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|error| TlsConfigError::Pem {
            what: "private key",
            reason: error.to_string(),
        })?;
        Self::new(cluster_name, ca, chain, key)
    }

    /// Runs the TLS handshake as the dialing side; returns the session and
    /// the secret Proscenium's handshake proves inside it.
    pub(crate) async fn connect(&self, stream: Stream) -> io::Result<(LinkStream, ClusterSecret)> {
        let connector = TlsConnector::from(Arc::clone(&self.client));
        let session = connector.connect(self.cluster_name.clone(), stream).await?;
        let secret = exported(|out| {
            session
                .get_ref()
                .1
                .export_keying_material(out, EXPORTER_LABEL, None)
        })?;
        Ok((LinkStream::TlsClient(Box::new(session)), secret))
    }

    /// Runs the TLS handshake as the accepting side; as [`connect`](Self::connect).
    pub(crate) async fn accept(&self, stream: Stream) -> io::Result<(LinkStream, ClusterSecret)> {
        let acceptor = TlsAcceptor::from(Arc::clone(&self.server));
        let session = acceptor.accept(stream).await?;
        let secret = exported(|out| {
            session
                .get_ref()
                .1
                .export_keying_material(out, EXPORTER_LABEL, None)
        })?;
        Ok((LinkStream::TlsServer(Box::new(session)), secret))
    }
}

/// Checks a dialing node's certificate as the dialer checks the acceptor's:
/// issued by the cluster's CA, and naming the cluster. rustls's client
/// verifier checks only the chain; a certificate the same CA issued for
/// something else must not make its holder a member.
#[derive(Debug)]
struct ClusterMembers {
    chain_check: Arc<dyn ClientCertVerifier>,
    name_check: Arc<WebPkiServerVerifier>,
    cluster_name: ServerName<'static>,
}

impl ClientCertVerifier for ClusterMembers {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.chain_check.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, tokio_rustls::rustls::Error> {
        self.chain_check
            .verify_client_cert(end_entity, intermediates, now)?;
        // The server verifier checks the name (and the chain again); a node
        // certificate serves both roles, so it must allow both uses.
        self.name_check.verify_server_cert(
            end_entity,
            intermediates,
            &self.cluster_name,
            &[],
            now,
        )?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        self.chain_check.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        self.chain_check.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain_check.supported_verify_schemes()
    }
}

/// `error`, as [`HandshakeError::Tls`] if it is TLS refusing the session.
///
/// In TLS 1.3 the dialer finishes its side of the TLS handshake before the
/// acceptor has checked the dialer's certificate, so a refusal of that
/// certificate reaches the dialer as an alert during Proscenium's own
/// handshake, as an I/O error; this gives it its name back.
pub(crate) fn refusal(error: HandshakeError) -> HandshakeError {
    match error {
        HandshakeError::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<tokio_rustls::rustls::Error>()) =>
        {
            HandshakeError::Tls(io)
        }
        other => other,
    }
}

/// 32 bytes of exported keying material, as a handshake secret.
fn exported(
    export: impl FnOnce([u8; 32]) -> Result<[u8; 32], tokio_rustls::rustls::Error>,
) -> io::Result<ClusterSecret> {
    let bytes = export([0; 32]).map_err(io::Error::other)?;
    ClusterSecret::new(bytes.to_vec()).map_err(io::Error::other)
}

fn certificates(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsConfigError::Pem {
            what,
            reason: error.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(TlsConfigError::Pem {
            what,
            reason: "no CERTIFICATE block".to_owned(),
        });
    }
    Ok(certificates)
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cluster_name", &self.cluster_name)
            .finish_non_exhaustive()
    }
}
