//! Blocking sends: `tell` and `ask` for code that is not async, like
//! tokio's `Sender::blocking_send`.
//!
//! A blocking call runs the async operation to completion on the calling
//! thread. Its waits need a timer (an ask's deadline, a remote ask's
//! transport), and outside any tokio runtime there is none, so each
//! calling thread gets one small single-threaded runtime, with timers and
//! no I/O, built on its first blocking call and reused by later ones. It
//! runs nothing but the caller's own waits: the actors stay on their
//! system's runtime.

use std::future::Future;

use tokio::runtime::{Builder, Handle, Runtime};

thread_local! {
    /// This thread's runtime for blocking calls, built on first use.
    static WAITS: Result<Runtime, String> = Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|error| error.to_string());
}

/// Runs `operation` on this thread until it completes.
///
/// # Panics
///
/// If a tokio runtime is current on this thread: blocking a thread that
/// drives asynchronous tasks could stall the very actor being waited for.
/// `name` names the call in the message.
pub(crate) fn block_on<F: Future>(name: &str, operation: F) -> F::Output {
    assert!(
        Handle::try_current().is_err(),
        "`{name}` blocks its thread and cannot be called where a tokio runtime is running \
         (async code, an actor, `spawn_blocking`); await the async method there instead, \
         or call `Handle::block_on` on it from `spawn_blocking`"
    );
    WAITS.with(|waits| match waits {
        Ok(runtime) => runtime.block_on(operation),
        Err(error) => panic!("`{name}` could not build the timer it waits with: {error}"),
    })
}
