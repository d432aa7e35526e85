//! Where envelopes' memory comes from: mimalloc, whatever the global
//! allocator is.
//!
//! Every message is one allocation, its envelope (see
//! [`envelope`](crate::envelope)), made by the sender and freed by the
//! actor, often on another thread and in bursts of thousands. glibc's
//! allocator, the usual global one on Linux, handles that badly: its
//! per-thread cache holds 7 blocks of a size, so a burst goes through its
//! arena. With callgrind on the quick workloads on one thread, `malloc` and
//! `free` took 370 of the 943 instructions a tell cost. mimalloc's free
//! lists per page serve a burst as cheaply as a single message, and a
//! block freed on another thread goes back to its page without a lock.
//!
//! Instructions per message inside tokio's task poll, callgrind, quick
//! workloads on one thread, before and after:
//!
//! | workload | glibc | mimalloc |
//! |---|---:|---:|
//! | tell | 943 | 649 |
//! | counting | 934 | 639 |
//! | ring (a hop) | 1,337 | 1,219 |
//! | ping-pong (a round trip) | 2,550 | 2,337 |
//! | ask | 2,814 | 2,743 |
//!
//! A per-thread cache of freed blocks in front of glibc was tried first:
//! it took 71–138 instructions off the steady workloads (ring, ping-pong,
//! ask), but in a burst larger than the cache every block still came from
//! glibc, and tell and counting got 56–104 instructions dearer.
//!
//! Miri cannot call into C, so under Miri envelopes come from the global
//! allocator.
#![allow(unsafe_code)]

use std::alloc::{self, Layout};
use std::ptr::NonNull;

/// The alignment every mimalloc block of at least this size has.
const MIN_ALIGN: usize = 16;

/// Allocates a block for `layout`.
///
/// Aborts through [`alloc::handle_alloc_error`] if memory is exhausted, as
/// `Box::new` does. `layout` must not be zero-sized.
#[inline]
pub(crate) fn allocate(layout: Layout) -> NonNull<u8> {
    debug_assert!(layout.size() > 0, "zero-sized blocks are not allocated");
    // SAFETY: `layout` is valid and not zero-sized.
    let block = unsafe { raw_allocate(layout) };
    NonNull::new(block).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// Frees `block`.
///
/// # Safety
///
/// `block` must come from [`allocate`] with this same `layout`, and must
/// not be used after this call.
#[inline]
pub(crate) unsafe fn free(block: NonNull<u8>, layout: Layout) {
    // SAFETY: the caller's promise.
    unsafe { raw_free(block, layout) }
}

#[cfg(not(miri))]
#[inline]
unsafe fn raw_allocate(layout: Layout) -> *mut u8 {
    // SAFETY: mimalloc takes any size; the aligned call any power of two.
    unsafe {
        if layout.align() <= MIN_ALIGN && layout.align() <= layout.size() {
            libmimalloc_sys::mi_malloc(layout.size()).cast()
        } else {
            libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }
}

#[cfg(not(miri))]
#[inline]
unsafe fn raw_free(block: NonNull<u8>, _layout: Layout) {
    // SAFETY: `block` came from mimalloc (see `raw_allocate`), which frees
    // aligned and plain blocks alike, on any thread.
    unsafe { libmimalloc_sys::mi_free(block.as_ptr().cast()) }
}

#[cfg(miri)]
unsafe fn raw_allocate(layout: Layout) -> *mut u8 {
    // SAFETY: not zero-sized (see `allocate`).
    unsafe { alloc::alloc(layout) }
}

#[cfg(miri)]
unsafe fn raw_free(block: NonNull<u8>, layout: Layout) {
    // SAFETY: `block` came from the global allocator with `layout`.
    unsafe { alloc::dealloc(block.as_ptr(), layout) }
}

#[cfg(test)]
mod tests {
    use std::alloc::Layout;
    use std::collections::HashSet;
    use std::ptr::NonNull;

    use super::{allocate, free};

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).expect("a valid layout")
    }

    /// Blocks handed to another thread.
    struct Blocks(Vec<(NonNull<u8>, Layout)>);
    // SAFETY: the blocks are plain memory, owned by whoever holds them.
    unsafe impl Send for Blocks {}

    /// Small, odd-sized, over-aligned and large layouts.
    fn layouts() -> Vec<Layout> {
        vec![
            layout(1, 1),
            layout(8, 8),
            layout(24, 8),
            layout(100, 4),
            layout(200, 16),
            layout(64, 64),
            layout(300, 128),
            layout(100_000, 8),
        ]
    }

    /// Allocates every layout `times` times, each block filled with its number.
    fn filled(times: usize) -> Vec<(NonNull<u8>, Layout)> {
        let mut blocks = Vec::new();
        for _ in 0..times {
            for layout in layouts() {
                let block = allocate(layout);
                // SAFETY: a fresh block of `layout.size()` bytes.
                unsafe {
                    block
                        .as_ptr()
                        .write_bytes(blocks.len() as u8, layout.size())
                };
                blocks.push((block, layout));
            }
        }
        blocks
    }

    #[test]
    fn blocks_are_aligned_distinct_and_keep_what_is_written() {
        let blocks = filled(50);
        let distinct: HashSet<_> = blocks.iter().map(|(block, _)| *block).collect();
        assert_eq!(distinct.len(), blocks.len());
        for (n, (block, layout)) in blocks.iter().enumerate() {
            assert_eq!(block.as_ptr() as usize % layout.align(), 0, "{layout:?}");
            // SAFETY: each block is live and was filled with `n`.
            let (first, last) = unsafe {
                (
                    block.as_ptr().read(),
                    block.as_ptr().add(layout.size() - 1).read(),
                )
            };
            assert_eq!(
                (first, last),
                (n as u8, n as u8),
                "block {n} was overwritten"
            );
        }
        for (block, layout) in blocks {
            // SAFETY: allocated above with this layout, freed once.
            unsafe { free(block, layout) };
        }
    }

    #[test]
    fn blocks_allocated_on_one_thread_are_freed_on_another() {
        let blocks = Blocks(filled(20));
        std::thread::spawn(move || {
            let blocks = blocks;
            for (block, layout) in blocks.0 {
                // SAFETY: allocated above with this layout, freed once.
                unsafe { free(block, layout) };
            }
        })
        .join()
        .expect("the freeing thread finished");
        // The allocator still serves this thread after those frees.
        for (block, layout) in filled(20) {
            // SAFETY: allocated just now with this layout, freed once.
            unsafe { free(block, layout) };
        }
    }
}
