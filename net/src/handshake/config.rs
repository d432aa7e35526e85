//! What a node needs to run handshakes: its identity and the cluster secret.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit};
use proscenium_runtime::NodeId;
use sha2::Sha256;

use crate::{ConfigError, PROTOCOL_VERSION};

/// How long a whole handshake may take unless told otherwise: 10 seconds.
///
/// Generous for a round trip across a data centre or a slow TLS layer, short
/// enough that a peer that connects and stalls does not hold a connection
/// slot for long.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The heartbeat interval a node announces unless told otherwise: 1 second.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(1);

/// `interval` within the range a hello may announce.
pub(crate) fn clamp_heartbeat(interval: Duration) -> Duration {
    let ms = u32::try_from(interval.as_millis()).unwrap_or(u32::MAX);
    Duration::from_millis(
        ms.clamp(super::MIN_HEARTBEAT_MS, super::MAX_HEARTBEAT_MS)
            .into(),
    )
}

/// The shortest cluster secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// The longest node name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// The secret every node of a cluster shares; the key of the handshake's HMAC.
///
/// It never crosses the wire: each side proves it holds the secret with a MAC
/// over a transcript of fresh nonces. Only the HMAC key state derived from
/// it is kept, and its `Debug` output shows nothing.
/// Generate it once per cluster from a secure random source, e.g. 32 bytes
/// from `openssl rand -hex 32`.
///
/// # Examples
///
/// ```
/// use proscenium_net::handshake::ClusterSecret;
///
/// let secret = ClusterSecret::new(*b"0123456789abcdef0123456789abcdef")?;
/// assert_eq!(format!("{secret:?}"), "ClusterSecret(..)");
/// assert!(ClusterSecret::new(*b"short").is_err());
/// # Ok::<(), proscenium_net::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ClusterSecret(Hmac<Sha256>);

impl ClusterSecret {
    /// Wraps the secret's bytes.
    ///
    /// # Errors
    ///
    /// [`ConfigError::SecretTooShort`] under [`MIN_SECRET_LEN`] bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_LEN {
            return Err(ConfigError::SecretTooShort {
                len: bytes.len(),
                min: MIN_SECRET_LEN,
            });
        }
        // HMAC accepts keys of any length, so this error cannot occur; it is
        // still mapped rather than unwrapped.
        let mac =
            Hmac::<Sha256>::new_from_slice(&bytes).map_err(|_| ConfigError::SecretTooShort {
                len: bytes.len(),
                min: MIN_SECRET_LEN,
            })?;
        Ok(Self(mac))
    }

    /// A fresh HMAC-SHA256 instance keyed with the secret.
    pub(crate) fn keyed_mac(&self) -> Hmac<Sha256> {
        self.0.clone()
    }
}

impl fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterSecret(..)")
    }
}

/// One node's side of every handshake: its name, id, the cluster secret and
/// the deadline.
///
/// Build it once per node and pass it to [`initiate`](super::initiate) or
/// [`accept`](super::accept) for each connection.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use proscenium_net::handshake::{ClusterSecret, HandshakeConfig};
/// use proscenium_runtime::NodeId;
///
/// let secret = ClusterSecret::new(vec![7; 32])?;
/// let config = HandshakeConfig::new("node-a", NodeId::new(1, 0x5eed), secret)?
///     .with_timeout(Duration::from_secs(3));
/// assert_eq!(config.name(), "node-a");
/// # Ok::<(), proscenium_net::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    name: String,
    node: NodeId,
    secret: ClusterSecret,
    timeout: Duration,
    version: u16,
    heartbeat: Duration,
}

impl HandshakeConfig {
    /// A configuration with the [`DEFAULT_TIMEOUT`] and this crate's
    /// [`PROTOCOL_VERSION`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`] if `name` is empty or longer than
    /// [`MAX_NAME_LEN`] bytes.
    pub fn new(
        name: impl Into<String>,
        node: NodeId,
        secret: ClusterSecret,
    ) -> Result<Self, ConfigError> {
        let name = name.into();
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(ConfigError::InvalidName {
                len: name.len(),
                max: MAX_NAME_LEN,
            });
        }
        Ok(Self {
            name,
            node,
            secret,
            timeout: DEFAULT_TIMEOUT,
            version: PROTOCOL_VERSION,
            heartbeat: DEFAULT_HEARTBEAT,
        })
    }

    /// Sets the deadline for a whole handshake, from the first byte sent or
    /// awaited to the last.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Announces this node's heartbeat interval in the hello (default 1 s;
    /// kept within [`MIN_HEARTBEAT_MS`](super::MIN_HEARTBEAT_MS) and
    /// [`MAX_HEARTBEAT_MS`](super::MAX_HEARTBEAT_MS) milliseconds).
    #[must_use]
    pub fn with_heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = clamp_heartbeat(interval);
        self
    }

    /// The heartbeat interval this node announces.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// Claims another protocol version in the hello.
    ///
    /// Only for testing how nodes of different versions refuse each other;
    /// a node that claims a version it does not speak will fail after the
    /// handshake.
    #[must_use]
    pub fn with_protocol_version(mut self, version: u16) -> Self {
        self.version = version;
        self
    }

    /// This node's name, sent to peers for their logs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This node's id.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The deadline for a whole handshake.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The protocol version this node claims.
    pub fn protocol_version(&self) -> u16 {
        self.version
    }

    pub(crate) fn secret(&self) -> &ClusterSecret {
        &self.secret
    }
}
