//! [`ChildSpec`]: how to build, and rebuild, a supervised child.

use std::fmt;
use std::sync::Arc;

use crate::{Actor, RestartPolicy, Shutdown};

/// Builds a fresh state for a supervised actor.
pub(crate) type Factory<A> = Arc<dyn Fn() -> A + Send + Sync>;

/// A recipe for a supervised child: a factory that builds its state (called
/// again for a fresh state on every restart), its restart policy, how long
/// its parent waits for it to stop ([`Shutdown`]), and an optional
/// registered name.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use proscenium_runtime::{Actor, ChildSpec, RestartPolicy, Shutdown};
///
/// #[derive(Default)]
/// struct Cache;
/// impl Actor for Cache {}
///
/// let spec = ChildSpec::new(Cache::default)
///     .restart(RestartPolicy::Transient)
///     .shutdown(Shutdown::Timeout(Duration::from_secs(1)))
///     .name("cache");
/// assert_eq!(spec.restart_policy(), RestartPolicy::Transient);
/// ```
pub struct ChildSpec<A: Actor> {
    pub(crate) factory: Factory<A>,
    pub(crate) policy: RestartPolicy,
    pub(crate) shutdown: Shutdown,
    pub(crate) name: Option<String>,
}

impl<A: Actor> ChildSpec<A> {
    /// A permanent, unnamed child built by `factory`, with the default
    /// shutdown for its type ([`Shutdown::default_for`]).
    pub fn new(factory: impl Fn() -> A + Send + Sync + 'static) -> Self {
        Self {
            factory: Arc::new(factory),
            policy: RestartPolicy::Permanent,
            shutdown: Shutdown::default_for::<A>(),
            name: None,
        }
    }

    /// Sets the restart policy.
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets how long its parent waits for it to stop before killing it
    /// (Erlang/OTP's `shutdown`); see [`Shutdown`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use proscenium_runtime::{Actor, ChildSpec, Shutdown};
    ///
    /// #[derive(Default)]
    /// struct Uploader;
    /// impl Actor for Uploader {}
    ///
    /// // Its `on_stop` finishes an upload: give it a minute, then kill it.
    /// let spec = ChildSpec::new(Uploader::default).shutdown(Shutdown::Timeout(Duration::from_secs(60)));
    /// assert_eq!(spec.shutdown_policy(), Shutdown::Timeout(Duration::from_secs(60)));
    /// ```
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Registers the child under `name` while it runs (see [`System::lookup`](crate::System::lookup)).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The restart policy.
    pub fn restart_policy(&self) -> RestartPolicy {
        self.policy
    }

    /// How its parent stops it.
    pub fn shutdown_policy(&self) -> Shutdown {
        self.shutdown
    }
}

impl<A: Actor> Clone for ChildSpec<A> {
    fn clone(&self) -> Self {
        Self {
            factory: Arc::clone(&self.factory),
            policy: self.policy,
            shutdown: self.shutdown,
            name: self.name.clone(),
        }
    }
}

impl<A: Actor> fmt::Debug for ChildSpec<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("actor", &std::any::type_name::<A>())
            .field("policy", &self.policy)
            .field("shutdown", &self.shutdown)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
