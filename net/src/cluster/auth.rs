//! Authenticated membership datagrams: a MAC with the cluster secret on
//! every datagram, and a replay window per sender.
//!
//! # Layout
//!
//! ```text
//! version  u8      DATAGRAM_VERSION
//! kind     u8      0 = a foca message, 1 = a leave notice, 2 = a table chunk,
//!                  3 = a load report, 4 = a table digest, 5 = a table pull
//! sender   u64 BE  the sender's node number
//! session  u64 BE  the sender process's session (its start time, ns since 1970)
//! counter  u64 BE  1, 2, 3, ... per session
//! payload  ...
//! tag      32      HMAC-SHA256(secret, DOMAIN || everything above)
//! ```
//!
//! The MAC is checked first, in constant time, so a datagram without the
//! secret changes nothing. Then the replay check: per sender, only the
//! newest session is accepted (a restarted node starts a later one), and
//! within it each counter once, in a window of the last [`WINDOW`] counters
//! so that datagrams the network reorders still count.
//!
//! What this does not stop: the first datagram of a session this node has
//! never seen is accepted, so a recorded datagram of a node that has since
//! died can be replayed once to a node started after it. Its content is
//! old SWIM state, which the members' incarnation rules already outrank.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::handshake::ClusterSecret;

/// Separates these MACs from any other use of the same secret.
const DOMAIN: &[u8] = b"proscenium/membership/v1\0";

/// The layout version; the first byte of every datagram.
pub(crate) const DATAGRAM_VERSION: u8 = 3;

/// Bytes before the payload.
pub(crate) const HEADER_LEN: usize = 1 + 1 + 8 + 8 + 8;

/// Bytes of the MAC after the payload.
pub(crate) const TAG_LEN: usize = 32;

/// How many counters behind the newest one a datagram may be and still be
/// accepted (once).
pub(crate) const WINDOW: u64 = 64;

/// What a datagram carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A message of the SWIM protocol, for foca.
    Swim,
    /// The sender is leaving the cluster; the payload is its identity.
    Leave,
    /// A chunk of one of the sender's replicated tables (groups, names).
    Table,
    /// A part of the sender's load report: its group members' mailbox depths.
    Load,
    /// The versions of the sender's replicated tables.
    Digest,
    /// The sender asks for some of the receiver's tables again.
    Pull,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Self::Swim => 0,
            Self::Leave => 1,
            Self::Table => 2,
            Self::Load => 3,
            Self::Digest => 4,
            Self::Pull => 5,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Swim),
            1 => Some(Self::Leave),
            2 => Some(Self::Table),
            3 => Some(Self::Load),
            4 => Some(Self::Digest),
            5 => Some(Self::Pull),
            _ => None,
        }
    }
}

/// Why a datagram was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DatagramError {
    #[error("a datagram of {len} bytes is too short to be a membership datagram")]
    TooShort { len: usize },
    #[error("membership datagram version {0} is not {DATAGRAM_VERSION}; run the same Proscenium version on every node")]
    Version(u8),
    #[error("unknown membership datagram kind {0}")]
    Kind(u8),
    #[error("a membership datagram failed authentication: the sender does not have this cluster's secret, or it was altered")]
    BadMac,
    #[error("a membership datagram from node {sender} was replayed")]
    Replayed { sender: u64 },
    #[error("a membership datagram from an earlier run of node {sender}")]
    StaleSession { sender: u64 },
}

/// An authenticated datagram's contents.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Opened<'a> {
    pub(crate) kind: Kind,
    /// The node number the sender claimed, covered by the MAC.
    pub(crate) sender: u64,
    pub(crate) payload: &'a [u8],
}

/// Seals this node's outgoing datagrams.
#[derive(Debug)]
pub(crate) struct Sealer {
    secret: ClusterSecret,
    sender: u64,
    session: u64,
    counter: u64,
}

impl Sealer {
    /// A sealer for node number `sender` in session `session`, which must
    /// be later than any earlier run of the same node used.
    pub(crate) fn new(secret: ClusterSecret, sender: u64, session: u64) -> Self {
        Self {
            secret,
            sender,
            session,
            counter: 0,
        }
    }

    /// The datagram carrying `payload`.
    pub(crate) fn seal(&mut self, kind: Kind, payload: &[u8]) -> Vec<u8> {
        self.counter += 1;
        let mut datagram = Vec::with_capacity(HEADER_LEN + payload.len() + TAG_LEN);
        datagram.push(DATAGRAM_VERSION);
        datagram.push(kind.byte());
        datagram.extend_from_slice(&self.sender.to_be_bytes());
        datagram.extend_from_slice(&self.session.to_be_bytes());
        datagram.extend_from_slice(&self.counter.to_be_bytes());
        datagram.extend_from_slice(payload);
        let tag = mac(&self.secret, &datagram).finalize().into_bytes();
        datagram.extend_from_slice(&tag);
        datagram
    }
}

fn mac(secret: &ClusterSecret, authenticated: &[u8]) -> Hmac<Sha256> {
    let mut mac = secret.keyed_mac();
    mac.update(DOMAIN);
    mac.update(authenticated);
    mac
}

/// Checks incoming datagrams and remembers what each sender has sent.
#[derive(Debug)]
pub(crate) struct Opener {
    secret: ClusterSecret,
    /// Also accepted while the cluster changes its secret.
    previous: Option<ClusterSecret>,
    /// The replay window of each sender that has passed authentication
    /// (so only holders of the secret add entries).
    seen: HashMap<u64, ReplayWindow>,
}

impl Opener {
    pub(crate) fn new(secret: ClusterSecret) -> Self {
        Self {
            secret,
            previous: None,
            seen: HashMap::new(),
        }
    }

    /// Also accepts datagrams sealed with `previous`, if any.
    pub(crate) fn accepting_previous(mut self, previous: Option<ClusterSecret>) -> Self {
        self.previous = previous;
        self
    }

    /// Authenticates `datagram` and accepts it at most once.
    pub(crate) fn open<'a>(&mut self, datagram: &'a [u8]) -> Result<Opened<'a>, DatagramError> {
        let len = datagram.len();
        if len < HEADER_LEN + TAG_LEN {
            return Err(DatagramError::TooShort { len });
        }
        let (authenticated, tag) = datagram.split_at(len - TAG_LEN);
        let (header, payload) = authenticated.split_at(HEADER_LEN);
        if header[0] != DATAGRAM_VERSION {
            return Err(DatagramError::Version(header[0]));
        }
        let authentic = [Some(&self.secret), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .any(|secret| mac(secret, authenticated).verify_slice(tag).is_ok());
        if !authentic {
            return Err(DatagramError::BadMac);
        }
        let kind = Kind::from_byte(header[1]).ok_or(DatagramError::Kind(header[1]))?;
        let field = |at: usize| {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&header[at..at + 8]);
            u64::from_be_bytes(bytes)
        };
        let (sender, session, counter) = (field(2), field(10), field(18));
        self.seen
            .entry(sender)
            .or_insert_with(|| ReplayWindow::new(session))
            .accept(session, counter)
            .map_err(|refusal| match refusal {
                Refusal::Replayed => DatagramError::Replayed { sender },
                Refusal::StaleSession => DatagramError::StaleSession { sender },
            })?;
        Ok(Opened {
            kind,
            sender,
            payload,
        })
    }
}

enum Refusal {
    Replayed,
    StaleSession,
}

/// One sender's newest session and which of its last [`WINDOW`] counters
/// have arrived (bit `i` of `seen` is counter `newest - i`).
#[derive(Debug)]
struct ReplayWindow {
    session: u64,
    newest: u64,
    seen: u64,
}

impl ReplayWindow {
    fn new(session: u64) -> Self {
        Self {
            session,
            newest: 0,
            seen: 0,
        }
    }

    fn accept(&mut self, session: u64, counter: u64) -> Result<(), Refusal> {
        if session < self.session {
            return Err(Refusal::StaleSession);
        }
        if session > self.session {
            *self = Self::new(session);
        }
        if counter > self.newest {
            let shift = counter - self.newest;
            self.seen = if shift >= WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.newest = counter;
            return Ok(());
        }
        let behind = self.newest - counter;
        if behind >= WINDOW || self.seen & (1 << behind) != 0 {
            return Err(Refusal::Replayed);
        }
        self.seen |= 1 << behind;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn secret(byte: u8) -> ClusterSecret {
        ClusterSecret::new([byte; 32]).expect("a long enough secret")
    }

    fn pair() -> (Sealer, Opener) {
        (Sealer::new(secret(1), 7, 100), Opener::new(secret(1)))
    }

    #[test]
    fn a_sealed_datagram_opens_once() {
        let (mut sealer, mut opener) = pair();
        let datagram = sealer.seal(Kind::Swim, b"hello");
        let opened = opener.open(&datagram).expect("authentic");
        assert_eq!(
            opened,
            Opened {
                kind: Kind::Swim,
                sender: 7,
                payload: b"hello"
            }
        );
        assert_eq!(
            opener.open(&datagram),
            Err(DatagramError::Replayed { sender: 7 })
        );
    }

    #[test]
    fn the_previous_secret_opens_while_the_secret_changes() {
        let mut old_sender = Sealer::new(secret(2), 7, 100);
        let mut new_sender = Sealer::new(secret(1), 8, 100);
        let mut opener = Opener::new(secret(1)).accepting_previous(Some(secret(2)));
        assert!(opener.open(&old_sender.seal(Kind::Swim, b"old")).is_ok());
        assert!(opener.open(&new_sender.seal(Kind::Swim, b"new")).is_ok());
        let mut stranger = Sealer::new(secret(3), 9, 100);
        assert!(matches!(
            opener.open(&stranger.seal(Kind::Swim, b"?")),
            Err(DatagramError::BadMac)
        ));
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let mut intruder = Sealer::new(secret(2), 7, 100);
        let mut opener = Opener::new(secret(1));
        let datagram = intruder.seal(Kind::Leave, b"me");
        assert_eq!(opener.open(&datagram), Err(DatagramError::BadMac));
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let (mut sealer, _) = pair();
        let datagram = sealer.seal(Kind::Swim, b"payload");
        for bit in 0..datagram.len() * 8 {
            let mut tampered = datagram.clone();
            tampered[bit / 8] ^= 1 << (bit % 8);
            let mut opener = Opener::new(secret(1));
            assert!(opener.open(&tampered).is_err(), "bit {bit} went unnoticed");
        }
    }

    #[test]
    fn reordered_datagrams_count_once_each() {
        let (mut sealer, mut opener) = pair();
        let datagrams: Vec<_> = (0..10).map(|_| sealer.seal(Kind::Swim, b"x")).collect();
        for i in [3, 0, 9, 1, 2, 8, 4, 5, 7, 6] {
            assert!(opener.open(&datagrams[i]).is_ok(), "datagram {i}");
        }
        for datagram in &datagrams {
            assert!(opener.open(datagram).is_err());
        }
    }

    #[test]
    fn datagrams_older_than_the_window_are_refused() {
        let (mut sealer, mut opener) = pair();
        let old = sealer.seal(Kind::Swim, b"old");
        for _ in 0..WINDOW {
            let newer = sealer.seal(Kind::Swim, b"new");
            opener.open(&newer).expect("authentic");
        }
        assert_eq!(
            opener.open(&old),
            Err(DatagramError::Replayed { sender: 7 })
        );
    }

    #[test]
    fn a_later_session_outdates_the_earlier_one() {
        let mut opener = Opener::new(secret(1));
        let mut first_run = Sealer::new(secret(1), 7, 100);
        let mut second_run = Sealer::new(secret(1), 7, 200);
        let old = first_run.seal(Kind::Swim, b"a");
        let recorded = first_run.seal(Kind::Swim, b"b");
        opener.open(&old).expect("authentic");
        // The restarted node's counter starts again at 1.
        opener
            .open(&second_run.seal(Kind::Swim, b"c"))
            .expect("authentic");
        assert_eq!(
            opener.open(&recorded),
            Err(DatagramError::StaleSession { sender: 7 })
        );
    }

    #[test]
    fn senders_have_windows_of_their_own() {
        let mut opener = Opener::new(secret(1));
        let mut a = Sealer::new(secret(1), 1, 100);
        let mut b = Sealer::new(secret(1), 2, 100);
        // Both send counter 1; neither is a replay of the other.
        assert!(opener.open(&a.seal(Kind::Swim, b"")).is_ok());
        assert!(opener.open(&b.seal(Kind::Swim, b"")).is_ok());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_open(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut opener = Opener::new(secret(1));
            prop_assert!(opener.open(&bytes).is_err());
        }

        #[test]
        fn truncated_or_extended_datagrams_never_open(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            cut in 1usize..100,
            extra in proptest::collection::vec(any::<u8>(), 1..8),
        ) {
            let (mut sealer, mut opener) = pair();
            let datagram = sealer.seal(Kind::Swim, &payload);
            let truncated = &datagram[..datagram.len().saturating_sub(cut)];
            prop_assert!(opener.open(truncated).is_err());
            let mut extended = datagram.clone();
            extended.extend_from_slice(&extra);
            prop_assert!(opener.open(&extended).is_err());
            prop_assert!(opener.open(&datagram).is_ok());
        }

        #[test]
        fn any_delivery_order_accepts_each_recent_datagram_exactly_once(
            order in proptest::collection::vec(0usize..32, 0..96),
        ) {
            let (mut sealer, mut opener) = pair();
            let datagrams: Vec<_> = (0..32).map(|_| sealer.seal(Kind::Swim, b"")).collect();
            let mut delivered = std::collections::HashSet::new();
            for i in order {
                let accepted = opener.open(&datagrams[i]).is_ok();
                // 32 datagrams fit in the window: only a repeat is refused.
                prop_assert_eq!(accepted, delivered.insert(i), "datagram {}", i);
            }
        }
    }
}
