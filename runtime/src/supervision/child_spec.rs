//! [`ChildSpec`]: how to build, and rebuild, a supervised child.

use std::fmt;
use std::sync::Arc;

use crate::{Actor, RestartPolicy};

/// A recipe for a supervised child: a factory that builds its state (called
/// again for a fresh state on every restart), its restart policy, and an
/// optional registered name.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, ChildSpec, RestartPolicy};
///
/// #[derive(Default)]
/// struct Cache;
/// impl Actor for Cache {}
///
/// let spec = ChildSpec::new(Cache::default)
///     .restart(RestartPolicy::Transient)
///     .name("cache");
/// assert_eq!(spec.restart_policy(), RestartPolicy::Transient);
/// ```
pub struct ChildSpec<A: Actor> {
    pub(crate) factory: Arc<dyn Fn() -> A + Send + Sync>,
    pub(crate) policy: RestartPolicy,
    pub(crate) name: Option<String>,
}

impl<A: Actor> ChildSpec<A> {
    /// A permanent, unnamed child built by `factory`.
    pub fn new(factory: impl Fn() -> A + Send + Sync + 'static) -> Self {
        Self {
            factory: Arc::new(factory),
            policy: RestartPolicy::Permanent,
            name: None,
        }
    }

    /// Sets the restart policy.
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.policy = policy;
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
}

impl<A: Actor> Clone for ChildSpec<A> {
    fn clone(&self) -> Self {
        Self {
            factory: Arc::clone(&self.factory),
            policy: self.policy,
            name: self.name.clone(),
        }
    }
}

impl<A: Actor> fmt::Debug for ChildSpec<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("actor", &std::any::type_name::<A>())
            .field("policy", &self.policy)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
