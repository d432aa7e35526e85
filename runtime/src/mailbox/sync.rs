//! The atomics and cells of the mailbox, swapped for loom's in the loom
//! build (`RUSTFLAGS="--cfg loom"`, see `.ci/loom`), so that loom can run
//! the queue and the lane through every interleaving of their threads.
//!
//! Every other build gets std's types themselves, re-exported: no wrapper,
//! nothing between the queue and the hardware.
//!
//! `all(loom, test)`, not `loom` alone: loom is a dev-dependency, so only
//! the crate's own tests may use it; a crate built with `--cfg loom` as a
//! dependency of another keeps std's types.

#[cfg(not(all(loom, test)))]
pub(super) use std::cell::UnsafeCell;
#[cfg(not(all(loom, test)))]
pub(super) use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

#[cfg(all(loom, test))]
pub(super) use loom::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
#[cfg(all(loom, test))]
pub(super) use loom_cell::UnsafeCell;

#[cfg(all(loom, test))]
mod loom_cell {
    /// std's `UnsafeCell` API over loom's, which checks each access
    /// against the others: a pointer taken with `get` counts as a write
    /// when it is taken. The queue takes a link's `node` pointer right
    /// where it writes (producer) or reads (consumer) it, so loom checks
    /// that the write happens before the read; `tail` is the consumer's
    /// alone, so its accesses clash only if two threads pop.
    #[derive(Debug)]
    pub(in crate::mailbox) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(in crate::mailbox) fn new(value: T) -> Self {
            Self(loom::cell::UnsafeCell::new(value))
        }

        #[track_caller]
        pub(in crate::mailbox) fn get(&self) -> *mut T {
            self.0.with_mut(|pointer| pointer)
        }

        #[track_caller]
        pub(in crate::mailbox) fn get_mut(&mut self) -> &mut T {
            // SAFETY: `&mut self`: nobody else can reach the value.
            #[allow(unsafe_code)]
            unsafe {
                &mut *self.get()
            }
        }
    }
}
