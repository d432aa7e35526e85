//! What a node needs to run handshakes: its identity and the cluster secret.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit};
use proscenium_runtime::NodeId;
use sha2::Sha256;
use zeroize::Zeroize;

use crate::encryption::Encryption;
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

/// The shortest cluster secret [`ClusterSecret::new`] accepts, in bytes:
/// 32 random bytes (256 bits) make guessing it from a recorded handshake
/// hopeless.
pub const MIN_SECRET_LEN: usize = 32;

/// Secrets published with Proscenium's examples: anyone can join a cluster
/// that uses one, so [`ClusterSecret::new`] refuses them.
const PUBLISHED_SECRETS: &[&[u8]] = &[
    b"proscenium demo secret: change me in production",
    b"task_queue demo secret: set PROSCENIUM_SECRET in production",
];

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
    /// Wraps the secret's bytes, refusing an obviously weak secret.
    ///
    /// # Errors
    ///
    /// [`ConfigError::SecretTooShort`] under [`MIN_SECRET_LEN`] bytes;
    /// [`ConfigError::KnownSecret`] for a demo secret published with
    /// Proscenium's examples.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        let bytes = bytes.into();
        if PUBLISHED_SECRETS.contains(&bytes.as_slice()) {
            return Err(ConfigError::KnownSecret);
        }
        Self::checked(bytes, MIN_SECRET_LEN)
    }

    /// Wraps the secret's bytes, accepting a short or published one: for
    /// tests and demos only, where anyone joining does no harm.
    ///
    /// # Errors
    ///
    /// [`ConfigError::SecretTooShort`] for an empty secret.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_net::handshake::ClusterSecret;
    ///
    /// assert!(ClusterSecret::new(*b"demo").is_err());
    /// let _demo = ClusterSecret::allowing_weak(*b"demo")?;
    /// # Ok::<(), proscenium_net::ConfigError>(())
    /// ```
    pub fn allowing_weak(bytes: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        Self::checked(bytes.into(), 1)
    }

    fn checked(mut bytes: Vec<u8>, min: usize) -> Result<Self, ConfigError> {
        let too_short = ConfigError::SecretTooShort {
            len: bytes.len(),
            min,
        };
        if bytes.len() < min {
            return Err(too_short);
        }
        // HMAC accepts keys of any length, so this error cannot occur; it is
        // still mapped rather than unwrapped.
        let mac = Hmac::<Sha256>::new_from_slice(&bytes).map_err(|_| too_short);
        // The keyed HMAC holds what it needs; the raw bytes go.
        bytes.zeroize();
        Ok(Self(mac?))
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
    previous_secret: Option<ClusterSecret>,
    encryption: Encryption,
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
            previous_secret: None,
            encryption: Encryption::default(),
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

    /// Sets how frames after the handshake are protected (default
    /// [`Encryption::Aes256Gcm`]); every node of a cluster must use the
    /// same.
    #[must_use]
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// How this node protects frames after the handshake.
    pub fn encryption(&self) -> Encryption {
        self.encryption
    }

    /// Also accepts peers that prove `previous` instead of the secret, so a
    /// cluster can change its secret without downtime (see
    /// [`NodeBuilder::previous_secret`](crate::NodeBuilder::previous_secret)).
    #[must_use]
    pub fn with_previous_secret(mut self, previous: ClusterSecret) -> Self {
        self.previous_secret = Some(previous);
        self
    }

    /// This configuration for one connection inside a TLS session: proving
    /// `secret`, exported from that session, instead of the cluster's, and
    /// adding no records on top of TLS.
    #[cfg(feature = "tls")]
    pub(crate) fn inside_tls(&self, secret: ClusterSecret) -> Self {
        Self {
            secret,
            previous_secret: None,
            encryption: Encryption::Tls,
            ..self.clone()
        }
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

    /// The secret accepted besides this node's, while the cluster changes it.
    pub(crate) fn previous_secret(&self) -> Option<&ClusterSecret> {
        self.previous_secret.as_ref()
    }
}
