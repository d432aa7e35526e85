//! [`Replica`]: a table whose entries each node owns and sends to every
//! member, and the newest copy of every other member's table.
//!
//! Process groups and cluster-wide names are two such tables. A node
//! changes only its own entries; each change bumps the table's version.
//! The whole table goes out cut into [`Chunk`]s, each a datagram of whole
//! entries carrying the table's version, its index and the chunk count,
//! so a table of any size (up to [`MAX_TABLE_BYTES`]) crosses on UDP. A
//! receiver assembles the chunks of one version and takes the table in
//! only once it has all of them: a reader never sees half a table. Chunks
//! of an older version than one held or being assembled are dropped; a
//! newer one restarts the assembly. A missing chunk is repaired by the
//! digest and pull exchange in [`tables`](super::tables).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proscenium_runtime::NodeId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cluster::codec::MAX_ITEM;
use crate::{wire, WireError};

/// The most bytes of entries one node may own in one table, so a table is
/// at most a few hundred datagrams and a receiver's memory for it bounded.
pub(crate) const MAX_TABLE_BYTES: usize = 256 * 1024;

/// The most chunks a receiver accepts for one table: more than a table of
/// [`MAX_TABLE_BYTES`] needs even when entries fill chunks only half.
pub(crate) const MAX_CHUNKS: u16 = 512;

/// Room for entries in one chunk: a datagram less the chunk's own fields
/// (kind, owner, version, index, count and a length: under 40 bytes).
pub(crate) const CHUNK_ROOM: usize = MAX_ITEM - 64;

/// The largest entry: it must fit in a chunk with the length before it.
pub(crate) const MAX_ENTRY: usize = CHUNK_ROOM - 10;

/// Which table a chunk belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum TableKind {
    /// Process groups.
    Groups,
    /// Cluster-wide names.
    Names,
}

/// One datagram's worth of one version of one node's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Chunk {
    pub(crate) kind: TableKind,
    /// The node run that owns the table.
    pub(crate) owner: NodeId,
    pub(crate) version: u64,
    pub(crate) index: u16,
    /// How many chunks this version has, at least 1 (an empty table is
    /// one empty chunk).
    pub(crate) count: u16,
    /// A `wire`-encoded `Vec` of the table's entries.
    pub(crate) entries: Vec<u8>,
}

/// Why an entry cannot be added to this node's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TableError {
    /// The entry alone takes `len` bytes, more than a chunk holds.
    EntryTooLarge { len: usize },
    /// The table would outgrow [`MAX_TABLE_BYTES`].
    Full,
}

/// Why a chunk was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChunkError {
    #[error("chunk {index} of {count} is out of range (at most {MAX_CHUNKS} chunks)")]
    OutOfRange { index: u16, count: u16 },
    #[error("the chunk's entries do not decode: {0}")]
    Entries(#[from] WireError),
}

/// The entries that left and joined another member's table when a newer
/// version of it arrived.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Diff<E> {
    pub(crate) left: Vec<E>,
    pub(crate) joined: Vec<E>,
}

/// The complete table of another member, as last assembled.
#[derive(Debug)]
struct Held<E> {
    owner: NodeId,
    version: u64,
    entries: BTreeSet<E>,
}

/// The chunks received so far of one version of another member's table.
#[derive(Debug)]
struct Partial<E> {
    owner: NodeId,
    version: u64,
    chunks: Vec<Option<Vec<E>>>,
    missing: usize,
}

/// This node's own entries of one table, and every other member's.
#[derive(Debug)]
pub(crate) struct Replica<E> {
    kind: TableKind,
    me: NodeId,
    version: u64,
    /// Each own entry with its encoded size.
    local: BTreeMap<E, usize>,
    local_bytes: usize,
    /// Other members' tables, by node number (one run at a time).
    remote: HashMap<u64, Held<E>>,
    partial: HashMap<u64, Partial<E>>,
}

impl<E> Replica<E>
where
    E: Ord + Clone + Serialize + DeserializeOwned,
{
    /// An empty table of `kind` owned by node run `me`.
    pub(crate) fn new(kind: TableKind, me: NodeId) -> Self {
        Self {
            kind,
            me,
            version: 0,
            local: BTreeMap::new(),
            local_bytes: 0,
            remote: HashMap::new(),
            partial: HashMap::new(),
        }
    }

    /// This node's own entries.
    #[cfg(test)]
    pub(crate) fn local(&self) -> impl Iterator<Item = &E> {
        self.local.keys()
    }

    /// Whether `entry` is one of this node's own.
    pub(crate) fn is_local(&self, entry: &E) -> bool {
        self.local.contains_key(entry)
    }

    /// Every entry of every other member's table.
    pub(crate) fn remote(&self) -> impl Iterator<Item = &E> {
        self.remote.values().flat_map(|held| held.entries.iter())
    }

    /// The version of this node's table.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// The version of `owner`'s table held here; 0 (an empty table) if none.
    pub(crate) fn held_version(&self, owner: NodeId) -> u64 {
        self.remote
            .get(&owner.number())
            .filter(|held| held.owner == owner)
            .map_or(0, |held| held.version)
    }

    /// Adds an own entry; `false` if it was there already.
    pub(crate) fn insert(&mut self, entry: E) -> Result<bool, TableError> {
        if self.local.contains_key(&entry) {
            return Ok(false);
        }
        let len = match wire::encode(&entry, MAX_ITEM as u64) {
            Ok(bytes) if bytes.len() <= MAX_ENTRY => bytes.len(),
            Ok(bytes) => return Err(TableError::EntryTooLarge { len: bytes.len() }),
            Err(WireError::TooLarge { len, .. }) => {
                return Err(TableError::EntryTooLarge {
                    len: usize::try_from(len).unwrap_or(usize::MAX),
                })
            }
            Err(_) => return Err(TableError::EntryTooLarge { len: usize::MAX }),
        };
        if self.local_bytes + len > MAX_TABLE_BYTES {
            return Err(TableError::Full);
        }
        self.local.insert(entry, len);
        self.local_bytes += len;
        self.version += 1;
        Ok(true)
    }

    /// Removes the own entries `which` picks and returns them.
    pub(crate) fn remove_where(&mut self, mut which: impl FnMut(&E) -> bool) -> Vec<E> {
        let gone: Vec<E> = self.local.keys().filter(|e| which(e)).cloned().collect();
        for entry in &gone {
            if let Some(len) = self.local.remove(entry) {
                self.local_bytes -= len;
            }
        }
        if !gone.is_empty() {
            self.version += 1;
        }
        gone
    }

    /// This node's table as it goes on the wire.
    pub(crate) fn chunks(&self) -> Vec<Chunk> {
        let mut groups: Vec<Vec<&E>> = vec![Vec::new()];
        let mut room = CHUNK_ROOM - 10;
        for (entry, &len) in &self.local {
            if len > room && groups.last().is_some_and(|group| !group.is_empty()) {
                groups.push(Vec::new());
                room = CHUNK_ROOM - 10;
            }
            room = room.saturating_sub(len);
            if let Some(group) = groups.last_mut() {
                group.push(entry);
            }
        }
        let count = u16::try_from(groups.len()).unwrap_or(u16::MAX);
        groups
            .iter()
            .enumerate()
            .filter_map(|(index, group)| {
                // Every entry fits its chunk by construction; an entry
                // that no longer encodes would be a bug, logged not sent.
                let entries = wire::encode(group, CHUNK_ROOM as u64)
                    .inspect_err(
                        |error| tracing::error!(%error, "an own table entry does not encode"),
                    )
                    .ok()?;
                Some(Chunk {
                    kind: self.kind,
                    owner: self.me,
                    version: self.version,
                    index: u16::try_from(index).ok()?,
                    count,
                    entries,
                })
            })
            .collect()
    }

    /// Takes in a chunk of another member's table (the caller checked it
    /// is that member's own, and the member live). Returns what changed
    /// once a version newer than the one held is complete.
    ///
    /// # Errors
    ///
    /// A chunk whose index or count is out of range, or whose entries do
    /// not decode, is refused and changes nothing.
    pub(crate) fn receive(&mut self, chunk: Chunk) -> Result<Option<Diff<E>>, ChunkError> {
        if chunk.count == 0 || chunk.count > MAX_CHUNKS || chunk.index >= chunk.count {
            return Err(ChunkError::OutOfRange {
                index: chunk.index,
                count: chunk.count,
            });
        }
        let number = chunk.owner.number();
        let held = self.remote.get(&number);
        if chunk.owner == self.me
            || held.is_some_and(|h| h.owner == chunk.owner && h.version >= chunk.version)
        {
            return Ok(None);
        }
        let entries: Vec<E> = wire::decode(&chunk.entries, MAX_ITEM as u64)?;
        let fresh = match self.partial.get(&number) {
            Some(p) if p.owner == chunk.owner && p.version > chunk.version => return Ok(None),
            Some(p) => {
                p.owner != chunk.owner
                    || p.version != chunk.version
                    || p.chunks.len() != usize::from(chunk.count)
            }
            None => true,
        };
        if fresh {
            // A newer version, another run, or the first chunk: start over.
            self.partial.insert(
                number,
                Partial {
                    owner: chunk.owner,
                    version: chunk.version,
                    chunks: vec![None; usize::from(chunk.count)],
                    missing: usize::from(chunk.count),
                },
            );
        }
        let Some(partial) = self.partial.get_mut(&number) else {
            return Ok(None);
        };
        let slot = &mut partial.chunks[usize::from(chunk.index)];
        if slot.is_none() {
            *slot = Some(entries);
            partial.missing -= 1;
        }
        if partial.missing > 0 {
            return Ok(None);
        }
        let Some(done) = self.partial.remove(&number) else {
            return Ok(None);
        };
        let entries: BTreeSet<E> = done.chunks.into_iter().flatten().flatten().collect();
        Ok(Some(self.replace(done.owner, done.version, entries)))
    }

    /// Holds `entries` as `owner`'s table, replacing whatever this node
    /// held for its node number (an earlier run's entries all leave).
    fn replace(&mut self, owner: NodeId, version: u64, entries: BTreeSet<E>) -> Diff<E> {
        let old = self
            .remote
            .remove(&owner.number())
            .map(|held| held.entries)
            .unwrap_or_default();
        let diff = Diff {
            left: old.difference(&entries).cloned().collect(),
            joined: entries.difference(&old).cloned().collect(),
        };
        self.remote.insert(
            owner.number(),
            Held {
                owner,
                version,
                entries,
            },
        );
        diff
    }

    /// Node run `node` is down or gone: its entries vanish, and are returned.
    pub(crate) fn drop_node(&mut self, node: NodeId) -> Vec<E> {
        if self
            .partial
            .get(&node.number())
            .is_some_and(|p| p.owner == node)
        {
            self.partial.remove(&node.number());
        }
        match self.remote.get(&node.number()) {
            Some(held) if held.owner == node => self
                .remote
                .remove(&node.number())
                .map(|held| held.entries.into_iter().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn owner() -> NodeId {
        NodeId::new(2, 7)
    }

    /// A table of `owner` with `entries`, as its chunks.
    fn chunks_of(entries: impl IntoIterator<Item = String>) -> Vec<Chunk> {
        let mut table = Replica::new(TableKind::Groups, owner());
        for entry in entries {
            table.insert(entry).expect("fits");
        }
        table.chunks()
    }

    fn receiver() -> Replica<String> {
        Replica::new(TableKind::Groups, NodeId::new(1, 1))
    }

    fn long_entries(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{i:04}-{}", "x".repeat(90)))
            .collect()
    }

    #[test]
    fn an_empty_table_is_one_empty_chunk() {
        let chunks = chunks_of([]);
        assert_eq!(chunks.len(), 1);
        assert_eq!((chunks[0].index, chunks[0].count), (0, 1));
        let mut here = receiver();
        let diff = here.receive(chunks[0].clone()).expect("a valid chunk");
        assert_eq!(diff.map(|d| (d.left.len(), d.joined.len())), Some((0, 0)));
    }

    #[test]
    fn a_table_larger_than_a_datagram_arrives_whole_and_only_whole() {
        let entries = long_entries(100);
        let chunks = chunks_of(entries.clone());
        assert!(chunks.len() > 5, "{} chunks", chunks.len());
        for chunk in &chunks {
            let bytes = wire::encode(chunk, MAX_ITEM as u64).expect("a chunk fits a datagram");
            assert!(bytes.len() <= MAX_ITEM);
        }
        let mut here = receiver();
        let (last, first) = chunks.split_last().expect("chunks");
        for chunk in first {
            assert_eq!(
                here.receive(chunk.clone()),
                Ok(None),
                "nothing until complete"
            );
            assert_eq!(here.remote().count(), 0);
        }
        let diff = here
            .receive(last.clone())
            .expect("valid")
            .expect("complete");
        assert_eq!(diff.joined, entries);
        assert_eq!(here.held_version(owner()), 100);
    }

    #[test]
    fn a_newer_version_restarts_the_assembly_and_an_older_one_is_dropped() {
        let old = chunks_of(long_entries(30));
        let new = chunks_of(long_entries(31));
        let mut here = receiver();
        here.receive(old[0].clone()).expect("valid");
        for chunk in &new {
            here.receive(chunk.clone()).expect("valid");
        }
        assert_eq!(here.held_version(owner()), 31);
        // The rest of the old version, late: changes nothing.
        for chunk in &old[1..] {
            assert_eq!(here.receive(chunk.clone()), Ok(None));
        }
        assert_eq!(here.remote().count(), 31);
    }

    #[test]
    fn out_of_range_chunks_are_refused() {
        let mut chunk = chunks_of([]).remove(0);
        chunk.index = 1;
        let mut here = receiver();
        assert!(matches!(
            here.receive(chunk.clone()),
            Err(ChunkError::OutOfRange { .. })
        ));
        chunk.count = MAX_CHUNKS + 1;
        assert!(matches!(
            here.receive(chunk),
            Err(ChunkError::OutOfRange { .. })
        ));
    }

    #[test]
    fn an_entry_larger_than_a_chunk_and_a_full_table_are_refused() {
        let mut table = Replica::new(TableKind::Names, owner());
        assert!(matches!(
            table.insert("x".repeat(MAX_ITEM)),
            Err(TableError::EntryTooLarge { .. })
        ));
        let entry = |i: usize| format!("{i:06}{}", "y".repeat(MAX_ENTRY - 16));
        let mut i = 0;
        while table.insert(entry(i)) == Ok(true) {
            i += 1;
        }
        assert_eq!(table.insert(entry(i)), Err(TableError::Full));
        assert!(table.chunks().len() <= usize::from(MAX_CHUNKS));
        assert_eq!(table.version(), i as u64);
    }

    #[test]
    fn a_node_that_goes_down_takes_its_table_and_its_partial_along() {
        let mut here = receiver();
        for chunk in chunks_of(long_entries(3)) {
            here.receive(chunk).expect("valid");
        }
        // Another run of that node going down is not this one.
        assert!(here.drop_node(NodeId::new(2, 8)).is_empty());
        assert_eq!(here.drop_node(owner()).len(), 3);
        assert_eq!(here.held_version(owner()), 0);
    }

    #[test]
    fn a_restarted_node_replaces_its_earlier_runs_entries() {
        let mut here = receiver();
        for chunk in chunks_of(["a".to_owned()]) {
            here.receive(chunk).expect("valid");
        }
        let mut restarted = Replica::new(TableKind::Groups, NodeId::new(2, 9));
        restarted.insert("b".to_owned()).expect("fits");
        let diff = here
            .receive(restarted.chunks().remove(0))
            .expect("valid")
            .expect("complete");
        assert_eq!(
            diff,
            Diff {
                left: vec!["a".to_owned()],
                joined: vec!["b".to_owned()]
            }
        );
    }

    proptest! {
        /// Any order of a table's chunks, duplicates included, gives the
        /// same table.
        #[test]
        fn chunks_in_any_order_converge(
            n in 0usize..60,
            order in proptest::collection::vec(any::<prop::sample::Index>(), 0..200),
        ) {
            let entries = long_entries(n);
            let chunks = chunks_of(entries.clone());
            let mut here = receiver();
            for pick in order {
                let _ = here.receive(pick.get(&chunks).clone());
            }
            for chunk in &chunks {
                let _ = here.receive(chunk.clone());
            }
            let held: Vec<String> = here.remote().cloned().collect();
            prop_assert_eq!(held, entries);
        }

        /// Chunks from the network are untrusted: any values decode
        /// to an error or a table, never a panic or an unbounded buffer.
        #[test]
        fn arbitrary_chunks_never_panic(
            version in any::<u64>(),
            index in any::<u16>(),
            count in any::<u16>(),
            entries in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut here = receiver();
            let chunk = Chunk { kind: TableKind::Names, owner: owner(), version, index, count, entries };
            let _ = here.receive(chunk);
            prop_assert!(here.partial.values().all(|p| p.chunks.len() <= usize::from(MAX_CHUNKS)));
        }

        #[test]
        fn arbitrary_bytes_decode_as_chunks_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            if let Ok(chunk) = wire::decode::<Chunk>(&bytes, MAX_ITEM as u64) {
                let _ = receiver().receive(chunk);
            }
        }
    }
}
