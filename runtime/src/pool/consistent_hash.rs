//! [`ConsistentHash`]: the same key always goes to the same worker.

use std::hash::{DefaultHasher, Hash, Hasher};

use super::{Route, Routee, Router};

/// A message that names the key a [`ConsistentHash`] pool routes it by.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Keyed, Message};
///
/// struct Deposit {
///     account: String,
///     cents: u64,
/// }
/// impl Message for Deposit {
///     type Reply = ();
/// }
/// impl Keyed for Deposit {
///     type Key = str;
///     fn key(&self) -> &str {
///         &self.account
///     }
/// }
/// # let d = Deposit { account: "a".into(), cents: 1 };
/// # assert_eq!(d.key(), "a"); let _ = d.cents;
/// ```
pub trait Keyed {
    /// The key type.
    type Key: Hash + ?Sized;

    /// The key: messages with equal keys go to the same worker.
    fn key(&self) -> &Self::Key;
}

/// Sends all messages with the same [`Keyed::key`] to the same worker, so a
/// worker can keep per-key state. Growing the pool from `n` to `n + 1`
/// workers moves only about `1 / (n + 1)` of the keys (jump consistent hash,
/// Lamping and Veach 2014); shrinking moves only the keys of removed workers.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConsistentHash;

impl<M: Keyed> Router<M> for ConsistentHash {
    fn route<W: Routee>(&self, message: &M, workers: &[W]) -> Route<M> {
        // `DefaultHasher::new` has fixed keys, so a key maps to the same
        // worker for the life of the process.
        let mut hasher = DefaultHasher::new();
        message.key().hash(&mut hasher);
        Route::One(jump_hash(hasher.finish(), workers.len()))
    }
}

/// Maps `key` to a bucket in `0..buckets` so that adding a bucket moves
/// the fewest keys.
fn jump_hash(mut key: u64, buckets: usize) -> usize {
    let buckets = buckets.max(1) as i64;
    let (mut bucket, mut next) = (-1_i64, 0_i64);
    while next < buckets {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        next = ((bucket + 1) as f64 * ((1_u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    bucket as usize
}

#[cfg(test)]
mod tests {
    use super::jump_hash;

    #[test]
    fn growing_by_one_moves_few_keys() {
        let moved = (0..10_000_u64)
            .filter(|&k| jump_hash(k, 10) != jump_hash(k, 11))
            .count();
        // About 1/11 of the keys should move; all of them to the new bucket.
        assert!(moved > 500 && moved < 1_400, "{moved} keys moved");
        assert!(
            (0..10_000_u64).all(|k| jump_hash(k, 10) == jump_hash(k, 11) || jump_hash(k, 11) == 10)
        );
    }

    #[test]
    fn stays_in_range() {
        assert!((0..1_000_u64).all(|k| jump_hash(k.wrapping_mul(0x9e37_79b9), 7) < 7));
    }
}
