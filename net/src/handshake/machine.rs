//! The handshake as a pure state machine: frame bodies in, messages and an
//! outcome out. No I/O, no clock, no randomness (nonces are passed in), so
//! every path is testable byte for byte.

use proscenium_runtime::NodeId;
use zeroize::Zeroize;

use super::mac::{self, Direction};
use super::message::{
    peek_hello, HandshakeMessage, Hello, Nonce, Proof, RejectReason, MAGIC, MAX_HEARTBEAT_MS,
    MIN_HEARTBEAT_MS,
};
use super::{ClusterSecret, HandshakeConfig, MAX_NAME_LEN};
use crate::encryption::{Encryption, SessionKeys};
use crate::HandshakeError;

/// Which end of the connection a side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that opened the connection. It proves itself first.
    Initiator,
    /// The side that accepted the connection. It proves itself only to an
    /// initiator that has already proven itself.
    Acceptor,
}

/// The authenticated peer at the other end of a finished handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Peer {
    /// The name the peer gave, for logs (not authenticated beyond the
    /// transcript: any holder of the secret may claim any name).
    pub name: String,
    /// The peer's node number and incarnation.
    pub node: NodeId,
    /// How often the peer's idle writer sends a heartbeat, as it announced.
    pub heartbeat: std::time::Duration,
}

/// What one step of the handshake produced.
#[derive(Debug)]
#[must_use = "a transition may carry a message that must be sent"]
pub struct Transition {
    /// A message to send to the peer now, before acting on `outcome`.
    pub send: Option<HandshakeMessage>,
    /// Whether the handshake goes on, has succeeded, or has failed.
    pub outcome: Outcome,
}

/// Where the handshake stands after a [`Transition`].
#[derive(Debug)]
pub enum Outcome {
    /// Wait for the peer's next message.
    Continue,
    /// Both sides have proven the secret; frames may flow.
    Established(Peer),
    /// The handshake is over and failed; close the connection (after
    /// sending `send`, if any).
    Failed(HandshakeError),
}

#[derive(Debug)]
enum State {
    /// Waiting for the peer's hello.
    AwaitHello,
    /// Hellos exchanged; waiting for the peer's proof.
    AwaitProof { peer: Hello },
    /// Finished, well or badly; every further message is an error.
    Finished,
}

/// One side of one handshake. See the [module docs](super) for the flow.
///
/// # Examples
///
/// Two machines talking to each other directly:
///
/// ```
/// use proscenium_net::handshake::{ClusterSecret, Handshake, HandshakeConfig, Nonce, Outcome};
/// use proscenium_runtime::NodeId;
///
/// let secret = ClusterSecret::new(vec![1; 32])?;
/// let a = HandshakeConfig::new("a", NodeId::new(1, 1), secret.clone())?;
/// let b = HandshakeConfig::new("b", NodeId::new(2, 1), secret)?;
/// let (mut init, hello) = Handshake::initiator(&a, Nonce::from_bytes([1; 32]));
/// let mut acc = Handshake::acceptor(&b, Nonce::from_bytes([2; 32]));
///
/// let mut to_acceptor = Some(hello);
/// let mut established = 0;
/// while let Some(msg) = to_acceptor.take() {
///     let t = acc.receive(&msg.encode()?);
///     established += matches!(t.outcome, Outcome::Established(_)) as usize;
///     if let Some(reply) = t.send {
///         let t = init.receive(&reply.encode()?);
///         established += matches!(t.outcome, Outcome::Established(_)) as usize;
///         to_acceptor = t.send;
///     }
/// }
/// assert_eq!(established, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Handshake {
    role: Role,
    config: HandshakeConfig,
    hello: Hello,
    state: State,
    keys: Option<SessionKeys>,
}

impl Handshake {
    /// The connecting side; returns the hello to send first.
    pub fn initiator(config: &HandshakeConfig, nonce: Nonce) -> (Self, HandshakeMessage) {
        let machine = Self::new(Role::Initiator, config, nonce);
        let hello = HandshakeMessage::Hello(machine.hello.clone());
        (machine, hello)
    }

    /// The accepting side; it waits for the initiator's hello.
    pub fn acceptor(config: &HandshakeConfig, nonce: Nonce) -> Self {
        Self::new(Role::Acceptor, config, nonce)
    }

    fn new(role: Role, config: &HandshakeConfig, nonce: Nonce) -> Self {
        let hello = Hello {
            magic: MAGIC,
            version: config.protocol_version(),
            name: config.name().to_owned(),
            node: config.node(),
            nonce,
            heartbeat_ms: u32::try_from(config.heartbeat().as_millis()).unwrap_or(MAX_HEARTBEAT_MS),
            encryption: config.encryption(),
        };
        Self {
            role,
            config: config.clone(),
            hello,
            state: State::AwaitHello,
            keys: None,
        }
    }

    /// Which end this side is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The record layer's keys for this side, once the handshake has
    /// succeeded with [`Encryption::Aes256Gcm`]; `None` before, after a
    /// failure, and for insecure plaintext.
    pub fn session_keys(&self) -> Option<&SessionKeys> {
        self.keys.as_ref()
    }

    /// Whether the handshake has ended, in success or failure.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// Takes the body of the peer's next handshake frame (without its
    /// length header) and says what to send and what happened.
    ///
    /// `body` is untrusted: any bytes are handled without panicking.
    pub fn receive(&mut self, body: &[u8]) -> Transition {
        let state = std::mem::replace(&mut self.state, State::Finished);
        let transition = match HandshakeMessage::decode(body) {
            Ok(message) => self.step(state, message),
            Err(error) => self.undecodable(&state, body, error),
        };
        if let Outcome::Failed(error) = &transition.outcome {
            tracing::debug!(role = ?self.role, %error, "handshake failed");
        }
        transition
    }

    fn step(&mut self, state: State, message: HandshakeMessage) -> Transition {
        match (state, message) {
            (_, HandshakeMessage::Reject(reason)) => fail(None, self.rejected(reason)),
            (State::AwaitHello, HandshakeMessage::Hello(peer)) => self.on_hello(peer),
            (State::AwaitProof { peer }, HandshakeMessage::Proof(proof)) => {
                self.on_proof(peer, &proof)
            }
            (state, message) => {
                let expected = match state {
                    State::AwaitHello => "hello",
                    State::AwaitProof { .. } => "proof",
                    State::Finished => "nothing",
                };
                let error = HandshakeError::UnexpectedMessage {
                    expected,
                    got: message.kind(),
                };
                let notice = (!matches!(state, State::Finished))
                    .then_some(HandshakeMessage::Reject(RejectReason::ProtocolViolation));
                fail(notice, error)
            }
        }
    }

    fn on_hello(&mut self, peer: Hello) -> Transition {
        if peer.magic != MAGIC {
            return fail(None, HandshakeError::NotProscenium);
        }
        if let Some(transition) = self.check_version(peer.version) {
            return transition;
        }
        if peer.encryption != self.hello.encryption {
            let notice = HandshakeMessage::Reject(RejectReason::EncryptionMismatch {
                encryption: self.hello.encryption,
            });
            let error = HandshakeError::EncryptionMismatch {
                ours: self.hello.encryption,
                theirs: peer.encryption,
            };
            return fail(Some(notice), error);
        }
        if peer.name.is_empty() || peer.name.len() > MAX_NAME_LEN {
            let error = HandshakeError::InvalidHello {
                reason: format!(
                    "name of {} bytes, expected 1 to {MAX_NAME_LEN}",
                    peer.name.len()
                ),
            };
            return fail(
                Some(HandshakeMessage::Reject(RejectReason::ProtocolViolation)),
                error,
            );
        }
        if !(MIN_HEARTBEAT_MS..=MAX_HEARTBEAT_MS).contains(&peer.heartbeat_ms) {
            let error = HandshakeError::InvalidHello {
                reason: format!(
                    "heartbeat of {} ms, expected {MIN_HEARTBEAT_MS} to {MAX_HEARTBEAT_MS}",
                    peer.heartbeat_ms
                ),
            };
            return fail(
                Some(HandshakeMessage::Reject(RejectReason::ProtocolViolation)),
                error,
            );
        }
        // Our own id or nonce coming back means this node dialed itself or
        // someone is reflecting its messages; answer nothing.
        if peer.node == self.hello.node || peer.nonce == self.hello.nonce {
            return fail(None, HandshakeError::Reflected);
        }
        let send = match self.role {
            // The acceptor introduces itself but proves nothing yet.
            Role::Acceptor => HandshakeMessage::Hello(self.hello.clone()),
            // The initiator proves itself first.
            Role::Initiator => HandshakeMessage::Proof(self.prove(
                self.config.secret(),
                Direction::Initiator,
                &peer,
            )),
        };
        self.state = State::AwaitProof { peer };
        Transition {
            send: Some(send),
            outcome: Outcome::Continue,
        }
    }

    fn on_proof(&mut self, peer: Hello, proof: &Proof) -> Transition {
        let Some(secret) = self.verified_secret(&peer, proof) else {
            let notice = HandshakeMessage::Reject(RejectReason::AuthFailed);
            return fail(Some(notice), HandshakeError::BadProof);
        };
        let send = match self.role {
            Role::Acceptor => Some(HandshakeMessage::Proof(self.prove(
                &secret,
                Direction::Acceptor,
                &peer,
            ))),
            Role::Initiator => None,
        };
        if self.hello.encryption == Encryption::Aes256Gcm {
            let (initiator, acceptor) = self.ordered(&peer);
            let mut prk = mac::session_prk(&secret, self.hello.version, initiator, acceptor);
            self.keys = Some(SessionKeys::derive(&prk, self.role == Role::Initiator));
            prk.zeroize();
        }
        Transition {
            send,
            outcome: Outcome::Established(Peer {
                name: peer.name,
                node: peer.node,
                heartbeat: std::time::Duration::from_millis(peer.heartbeat_ms.into()),
            }),
        }
    }

    /// A body that is not a message of this version: if it starts like a
    /// hello of another version, that is a version mismatch.
    fn undecodable(&self, state: &State, body: &[u8], error: crate::FrameError) -> Transition {
        if matches!(state, State::AwaitHello) {
            match peek_hello(body) {
                Some((magic, _)) if magic != MAGIC => {
                    return fail(None, HandshakeError::NotProscenium)
                }
                Some((_, version)) => {
                    if let Some(transition) = self.check_version(version) {
                        return transition;
                    }
                }
                None => {}
            }
        }
        fail(None, HandshakeError::Malformed(error))
    }

    /// A failing transition if the peer's `version` is not ours.
    fn check_version(&self, version: u16) -> Option<Transition> {
        let ours = self.hello.version;
        (version != ours).then(|| {
            let notice = HandshakeMessage::Reject(RejectReason::VersionMismatch { version: ours });
            let error = HandshakeError::VersionMismatch {
                ours,
                theirs: version,
            };
            fail(Some(notice), error)
        })
    }

    /// The error for the peer's rejection.
    fn rejected(&self, reason: RejectReason) -> HandshakeError {
        match reason {
            RejectReason::VersionMismatch { version } => HandshakeError::VersionMismatch {
                ours: self.hello.version,
                theirs: version,
            },
            RejectReason::AuthFailed => HandshakeError::ProofRejected,
            RejectReason::ProtocolViolation => HandshakeError::RejectedByPeer,
            RejectReason::EncryptionMismatch { encryption } => HandshakeError::EncryptionMismatch {
                ours: self.hello.encryption,
                theirs: encryption,
            },
        }
    }

    /// The secret the peer's proof verifies under, if any. The initiator
    /// proves this node's secret; the acceptor may also accept the
    /// previous one and then answers in the secret the initiator used, so
    /// nodes on either side of a secret change still connect.
    fn verified_secret(&self, peer: &Hello, proof: &Proof) -> Option<ClusterSecret> {
        let (theirs, previous) = match self.role {
            Role::Acceptor => (Direction::Initiator, self.config.previous_secret()),
            Role::Initiator => (Direction::Acceptor, None),
        };
        let (initiator, acceptor) = self.ordered(peer);
        let version = self.hello.version;
        [Some(self.config.secret()), previous]
            .into_iter()
            .flatten()
            .find(|secret| mac::verify(secret, theirs, version, initiator, acceptor, proof))
            .cloned()
    }

    fn prove(&self, secret: &ClusterSecret, direction: Direction, peer: &Hello) -> Proof {
        let (initiator, acceptor) = self.ordered(peer);
        mac::prove(secret, direction, self.hello.version, initiator, acceptor)
    }

    /// Both hellos, initiator's first.
    fn ordered<'a>(&'a self, peer: &'a Hello) -> (&'a Hello, &'a Hello) {
        match self.role {
            Role::Initiator => (&self.hello, peer),
            Role::Acceptor => (peer, &self.hello),
        }
    }
}

fn fail(send: Option<HandshakeMessage>, error: HandshakeError) -> Transition {
    Transition {
        send,
        outcome: Outcome::Failed(error),
    }
}
