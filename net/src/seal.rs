//! Refs as capabilities: the [`Seal`] a node makes for each of its actors
//! whose ref it writes to the wire, and checks on every frame a peer
//! addresses to one of them.
//!
//! Actor ids are easy to guess: the node number comes from the node's
//! name, and sequence numbers count from 1. So an id alone does not reach
//! an actor from another node. A ref written to the wire carries, beside
//! the id, a seal: the first 64 bits of HMAC-SHA256 of the id under a key
//! drawn from the OS when the node starts, known to no one else and never
//! sent. A peer can only repeat seals it was given (in a ref inside a
//! message or reply, a lookup's answer, a spawn's answer, a name or group
//! table), and a frame whose seal is wrong is handled exactly as one for an
//! actor that does not exist.
//!
//! The in-process [`ActorId`] is unchanged, so local sends pay nothing.
//! Sealing costs one HMAC when a ref to a local actor is written (a few
//! hundred nanoseconds); checking, one HMAC and a constant-time compare
//! when a frame names an actor, skipped for a run of tells to the same
//! actor with the same seal (see `inbound`).

use hmac::{Hmac, KeyInit, Mac};
use proscenium_runtime::remote::Seal;
use proscenium_runtime::ActorId;
use sha2::Sha256;

/// Separates these MACs from any other use of HMAC-SHA256 in the crate.
const DOMAIN: &[u8] = b"proscenium/seal/v1\0";

/// The key one node run seals its actors' refs with.
pub(crate) struct SealKey {
    /// Keyed with the random key and the domain label, ready to clone.
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// A key of 256 bits from the OS, new for every node run.
    ///
    /// # Errors
    ///
    /// The OS's error when it gives no randomness: a node must not make
    /// seals that could be guessed.
    pub(crate) fn random() -> Result<Self, getrandom::Error> {
        let mut key = [0; 32];
        getrandom::fill(&mut key)?;
        Ok(Self::from_key(&key))
    }

    /// A key from its bytes (tests).
    pub(crate) fn from_key(key: &[u8; 32]) -> Self {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(DOMAIN);
        Self { mac }
    }

    /// The MAC of `id`, ready to finalize or verify.
    fn mac_of(&self, id: ActorId) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(&id.node().number().to_le_bytes());
        mac.update(&id.node().incarnation().to_le_bytes());
        mac.update(&id.seq().to_le_bytes());
        mac
    }

    /// The seal of `id`, an actor of this node run.
    pub(crate) fn seal(&self, id: ActorId) -> Seal {
        let tag = self.mac_of(id).finalize().into_bytes();
        let mut seal = [0; 8];
        seal.copy_from_slice(&tag[..8]);
        Seal::new(seal)
    }

    /// Whether `seal` is `id`'s, compared in constant time.
    pub(crate) fn opens(&self, id: ActorId, seal: Seal) -> bool {
        self.mac_of(id)
            .verify_truncated_left(&seal.to_bytes())
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proscenium_runtime::NodeId;

    fn id(node: u64, incarnation: u64, seq: u64) -> ActorId {
        ActorId::new(NodeId::new(node, incarnation), seq)
    }

    #[test]
    fn a_seal_opens_only_its_own_id() {
        let key = SealKey::from_key(&[1; 32]);
        let a = id(7, 9, 1);
        let seal = key.seal(a);
        assert!(key.opens(a, seal));
        assert!(!key.opens(id(7, 9, 2), seal));
        assert!(!key.opens(id(7, 8, 1), seal));
        assert!(!key.opens(id(6, 9, 1), seal));
        assert!(!key.opens(a, Seal::NONE));
    }

    #[test]
    fn another_key_makes_other_seals() {
        let (one, two) = (SealKey::from_key(&[1; 32]), SealKey::from_key(&[2; 32]));
        let a = id(7, 9, 1);
        assert_ne!(one.seal(a), two.seal(a));
        assert!(!two.opens(a, one.seal(a)));
        let (r1, r2) = (SealKey::random().unwrap(), SealKey::random().unwrap());
        assert!(!r2.opens(a, r1.seal(a)));
    }

    proptest! {
        /// A seal that differs from the right one in any bit, for any id,
        /// does not open it; the right one always does.
        #[test]
        fn only_the_exact_seal_opens(
            key in any::<[u8; 32]>(),
            (node, incarnation, seq) in any::<(u64, u64, u64)>(),
            flip in 0usize..64,
        ) {
            let key = SealKey::from_key(&key);
            let target = id(node, incarnation, seq);
            let seal = key.seal(target);
            prop_assert!(key.opens(target, seal));
            let mut bytes = seal.to_bytes();
            bytes[flip / 8] ^= 1 << (flip % 8);
            prop_assert!(!key.opens(target, Seal::new(bytes)));
        }

        /// Guessed seals (any 64 bits) for guessed ids open nothing.
        #[test]
        fn guessed_seals_open_nothing(
            seq in 1u64..1_000,
            guess in any::<[u8; 8]>(),
        ) {
            let key = SealKey::from_key(&[3; 32]);
            let target = id(5, 5, seq);
            prop_assume!(Seal::new(guess) != key.seal(target));
            prop_assert!(!key.opens(target, Seal::new(guess)));
        }
    }
}
