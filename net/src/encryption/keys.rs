//! Session keys: one per direction, from the handshake.

use std::fmt;

use aes_gcm::{Aes256Gcm, Key};
use hkdf::Hkdf;
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use sha2::Sha256;
use zeroize::Zeroize;

/// The keys of one connection's record layer, as seen from one end: the
/// key it seals with and the key it opens with.
///
/// Derived by [`Handshake`](crate::handshake::Handshake) once both proofs
/// verified: HKDF-SHA256 whose pseudorandom key is an HMAC, keyed with the
/// cluster secret, over the whole handshake transcript (version, both
/// hellos with their fresh nonces, identities and encryption modes). Then one
/// expansion per direction, so the two directions never share a key and a
/// record can never be reflected back to its sender. Fresh nonces make
/// every connection's keys new, so nothing recorded from one connection
/// opens in another. `Debug` shows nothing of them, and dropping them
/// overwrites them with zeros (the expanded key schedules that `ring`
/// builds from them are `ring`'s, and it does not wipe those).
#[derive(Clone)]
pub struct SessionKeys {
    pub(super) seal: Key<Aes256Gcm>,
    pub(super) open: Key<Aes256Gcm>,
}

/// HKDF's `info` for the key of records the initiator sends.
const INITIATOR_TO_ACCEPTOR: &[u8] = b"proscenium/records/v1 initiator to acceptor";
/// HKDF's `info` for the key of records the acceptor sends.
const ACCEPTOR_TO_INITIATOR: &[u8] = b"proscenium/records/v1 acceptor to initiator";

impl SessionKeys {
    /// Both ends' keys from the handshake's pseudorandom key: the
    /// initiator's `(seal, open)` pair, and the acceptor's, which is the
    /// same pair swapped.
    pub(crate) fn derive(prk: &[u8], initiator: bool) -> Self {
        let expand = |info: &[u8]| {
            let mut key = Key::<Aes256Gcm>::default();
            // A 32-byte PRK from HMAC-SHA256 and a 32-byte output are always
            // within HKDF's limits; an error here would be a bug, and it
            // still must not panic: a zero key would fail every record.
            if let Ok(hkdf) = Hkdf::<Sha256>::from_prk(prk) {
                let _ = hkdf.expand(info, &mut key);
            }
            key
        };
        let (seal, open) = if initiator {
            (INITIATOR_TO_ACCEPTOR, ACCEPTOR_TO_INITIATOR)
        } else {
            (ACCEPTOR_TO_INITIATOR, INITIATOR_TO_ACCEPTOR)
        };
        Self {
            seal: expand(seal),
            open: expand(open),
        }
    }

    /// The ciphers that seal and open records, or `None` if ring refuses
    /// the keys (it refuses only keys of the wrong length, which these are
    /// not).
    pub(super) fn ciphers(&self) -> Option<(LessSafeKey, LessSafeKey)> {
        let cipher = |key: &Key<Aes256Gcm>| {
            UnboundKey::new(&AES_256_GCM, key.as_slice())
                .ok()
                .map(LessSafeKey::new)
        };
        Some((cipher(&self.seal)?, cipher(&self.open)?))
    }
}

impl SessionKeys {
    /// Overwrites both keys with zeros.
    fn wipe(&mut self) {
        self.seal.as_mut_slice().zeroize();
        self.open.as_mut_slice().zeroize();
    }
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_ends_seal_with_the_key_the_other_opens_with() {
        let prk = [7u8; 32];
        let initiator = SessionKeys::derive(&prk, true);
        let acceptor = SessionKeys::derive(&prk, false);
        assert_eq!(initiator.seal, acceptor.open);
        assert_eq!(initiator.open, acceptor.seal);
        assert_ne!(initiator.seal, initiator.open, "directions share a key");
    }

    #[test]
    fn another_transcript_gives_other_keys() {
        let one = SessionKeys::derive(&[1u8; 32], true);
        let two = SessionKeys::derive(&[2u8; 32], true);
        assert_ne!(one.seal, two.seal);
        assert_ne!(one.open, two.open);
    }

    #[test]
    fn wiped_keys_are_zeros() {
        let mut keys = SessionKeys::derive(&[3u8; 32], true);
        assert!(keys
            .seal
            .iter()
            .chain(keys.open.iter())
            .any(|&byte| byte != 0));
        keys.wipe();
        assert!(keys
            .seal
            .iter()
            .chain(keys.open.iter())
            .all(|&byte| byte == 0));
    }
}
