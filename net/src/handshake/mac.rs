//! The proofs: HMAC-SHA256 over the handshake transcript.
//!
//! Both proofs cover the same transcript and differ only in their direction
//! label, so neither side's proof can be passed off as the other's
//! (reflection), and both nonces are in it, so no proof is valid in another
//! handshake (replay). Every variable-length field is length-prefixed and
//! every fixed field has a fixed width, so two different transcripts never
//! feed the MAC the same bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::message::{Hello, Proof};
use super::ClusterSecret;
use crate::encryption::Encryption;

/// Separates these MACs from any other use of the same secret.
const DOMAIN: &[u8] = b"proscenium/handshake/v1\0";

/// Which side a proof comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// The proof the connecting side sends first.
    Initiator,
    /// The proof the listening side sends once it has verified the initiator.
    Acceptor,
}

impl Direction {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Initiator => b"initiator proof\0",
            Self::Acceptor => b"acceptor proof\0",
        }
    }
}

/// The label of the MAC that becomes the session's HKDF key: a third use
/// of the transcript, distinct from both proofs, so knowing the proofs
/// (they cross the wire) says nothing about the keys.
const SESSION_LABEL: &[u8] = b"session keys\0";

/// The keyed MAC over the transcript under `label`, ready to finalize or verify.
fn transcript(
    secret: &ClusterSecret,
    label: &[u8],
    version: u16,
    initiator: &Hello,
    acceptor: &Hello,
) -> Hmac<Sha256> {
    let mut mac = secret.keyed_mac();
    mac.update(DOMAIN);
    mac.update(label);
    mac.update(&version.to_be_bytes());
    for hello in [initiator, acceptor] {
        mac.update(&hello.node.number().to_be_bytes());
        mac.update(&hello.node.incarnation().to_be_bytes());
        mac.update(hello.nonce.as_bytes());
        let name = hello.name.as_bytes();
        mac.update(&(name.len() as u64).to_be_bytes());
        mac.update(name);
        mac.update(&hello.heartbeat_ms.to_be_bytes());
        mac.update(&[encryption_byte(hello.encryption)]);
    }
    mac
}

fn encryption_byte(encryption: Encryption) -> u8 {
    match encryption {
        Encryption::Aes256Gcm => 1,
        Encryption::InsecurePlaintext => 0,
        Encryption::Tls => 2,
    }
}

/// The pseudorandom key the session's record keys are expanded from
/// (HKDF's PRK): the cluster secret's MAC over the whole transcript.
pub(crate) fn session_prk(
    secret: &ClusterSecret,
    version: u16,
    initiator: &Hello,
    acceptor: &Hello,
) -> [u8; 32] {
    transcript(secret, SESSION_LABEL, version, initiator, acceptor)
        .finalize()
        .into_bytes()
        .into()
}

/// The proof `direction`'s side sends.
pub(crate) fn prove(
    secret: &ClusterSecret,
    direction: Direction,
    version: u16,
    initiator: &Hello,
    acceptor: &Hello,
) -> Proof {
    let tag = transcript(secret, direction.label(), version, initiator, acceptor).finalize();
    Proof {
        mac: tag.into_bytes().into(),
    }
}

/// Whether `proof` is `direction`'s side's proof of this transcript; compared
/// in constant time.
pub(crate) fn verify(
    secret: &ClusterSecret,
    direction: Direction,
    version: u16,
    initiator: &Hello,
    acceptor: &Hello,
    proof: &Proof,
) -> bool {
    transcript(secret, direction.label(), version, initiator, acceptor)
        .verify_slice(&proof.mac)
        .is_ok()
}
