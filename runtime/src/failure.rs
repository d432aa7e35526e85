//! [`Failure`]: why an actor failed, with the typed error when there is one.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an actor failed, as carried by [`StopReason::Failed`](crate::StopReason::Failed).
///
/// Every failure has a [`message`](Self::message), the text logs and
/// [`Display`](fmt::Display) show. A failure made in this process keeps
/// more where there is more to keep:
///
/// * [`Context::fail`](crate::Context::fail) keeps the error it was given,
///   so a watcher, [`ActorRef::wait_stopped`](crate::ActorRef::wait_stopped)
///   or the restarted actor's [`Actor::on_restart`](crate::Actor::on_restart)
///   can [`downcast_ref`](Self::downcast_ref) it back to its type;
/// * an error returned by `on_start` or `on_restart` is kept the same way
///   (the error the hook's [`ActorError`](crate::ActorError) was made from);
/// * a panic keeps the panic's text and says so with [`is_panic`](Self::is_panic).
///
/// # Across the wire
///
/// Only the message crosses to another node: a failure serializes as its
/// text, so a remote watcher gets a failure whose [`error`](Self::error)
/// is `None` and whose [`is_panic`](Self::is_panic) is false. Match on the
/// text there, or send a typed message of your own before failing.
///
/// # Equality
///
/// Two failures are equal when their messages are: the kept error plays no
/// part (errors need not implement `PartialEq`), so a failure compares
/// equal to its copy from across the wire.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::Failure;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("disk full on {0}")]
/// struct DiskFull(String);
///
/// let failure = Failure::from_error(DiskFull("/var".into()));
/// assert_eq!(failure.message(), "disk full on /var");
/// assert!(failure.is::<DiskFull>());
/// assert_eq!(failure.downcast_ref::<DiskFull>().map(|e| e.0.as_str()), Some("/var"));
///
/// // A failure that came from another node has only its text.
/// let remote = Failure::from("disk full on /var");
/// assert!(remote.error().is_none());
/// assert_eq!(remote, failure);
/// ```
#[derive(Clone)]
pub struct Failure(Arc<Inner>);

struct Inner {
    message: String,
    cause: Cause,
}

enum Cause {
    /// Only the text: made from a string, or decoded from another node.
    Text,
    /// A panic; the message is the panic's text.
    Panic,
    /// The error the actor failed with.
    Error(Box<dyn Error + Send + Sync>),
}

impl Failure {
    fn new(message: String, cause: Cause) -> Self {
        Self(Arc::new(Inner { message, cause }))
    }

    /// A failure that keeps `error`; its message is the error's text.
    pub fn from_error<E: Error + Send + Sync + 'static>(error: E) -> Self {
        Self::from_boxed(Box::new(error))
    }

    /// A failure that keeps a boxed error, as `Context::fail` takes it.
    pub(crate) fn from_boxed(error: Box<dyn Error + Send + Sync>) -> Self {
        Self::new(error.to_string(), Cause::Error(error))
    }

    /// A failure described by `message` that keeps `error` as its cause.
    pub(crate) fn caused_by(message: String, error: Box<dyn Error + Send + Sync>) -> Self {
        Self::new(message, Cause::Error(error))
    }

    /// A failure that is only text.
    pub fn from_text(message: impl Into<String>) -> Self {
        Self::new(message.into(), Cause::Text)
    }

    /// A panic whose text is `message`.
    pub(crate) fn panic(message: String) -> Self {
        Self::new(message, Cause::Panic)
    }

    /// What went wrong, as text: the error's or the panic's.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The error the actor failed with, if this failure was made in this
    /// process from an error (see the type's docs).
    pub fn error(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        match &self.0.cause {
            Cause::Error(error) => Some(&**error),
            Cause::Text | Cause::Panic => None,
        }
    }

    /// The kept error as an `E`, if it is one. For a hook's error this is
    /// the error the [`ActorError`](crate::ActorError) was made from.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.error()?.downcast_ref::<E>()
    }

    /// Whether the kept error is an `E` (see [`downcast_ref`](Self::downcast_ref)).
    pub fn is<E: Error + 'static>(&self) -> bool {
        self.downcast_ref::<E>().is_some()
    }

    /// Whether the actor failed by panicking (in this process).
    pub fn is_panic(&self) -> bool {
        matches!(self.0.cause, Cause::Panic)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Failure");
        debug.field("message", &self.message());
        match &self.0.cause {
            Cause::Text => {}
            Cause::Panic => {
                debug.field("panic", &true);
            }
            Cause::Error(error) => {
                debug.field("error", error);
            }
        }
        debug.finish()
    }
}

impl Error for Failure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.error().map(|error| error as &(dyn Error + 'static))
    }
}

/// By message only: see the type's docs.
impl PartialEq for Failure {
    fn eq(&self, other: &Self) -> bool {
        self.message() == other.message()
    }
}

impl Eq for Failure {}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Self::from_text(message)
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::from_text(message)
    }
}

/// The message only, encoded as a plain string: the same bytes the
/// `Failed(String)` of earlier versions put on the wire.
impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.message())
    }
}

impl<'de> Deserialize<'de> for Failure {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from_text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Jammed(u32);

    impl fmt::Display for Jammed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "gear {} jammed", self.0)
        }
    }

    impl Error for Jammed {}

    #[test]
    fn a_kept_error_downcasts_and_names_the_message() {
        let failure = Failure::from_error(Jammed(3));
        assert_eq!(failure.message(), "gear 3 jammed");
        assert_eq!(failure.downcast_ref::<Jammed>(), Some(&Jammed(3)));
        assert!(!failure.is::<std::fmt::Error>());
        assert!(!failure.is_panic());
    }

    #[test]
    fn a_cause_keeps_its_own_message_apart() {
        let failure =
            Failure::caused_by("on_start failed: gear 4 jammed".into(), Box::new(Jammed(4)));
        assert_eq!(failure.message(), "on_start failed: gear 4 jammed");
        assert_eq!(failure.downcast_ref::<Jammed>(), Some(&Jammed(4)));
    }

    #[test]
    fn only_the_text_survives_deserialization() {
        use serde::de::value::{Error as ValueError, StrDeserializer};
        use serde::de::IntoDeserializer;
        let failure = Failure::from_error(Jammed(5));
        let text: StrDeserializer<'_, ValueError> = failure.message().into_deserializer();
        let back = Failure::deserialize(text).unwrap();
        assert_eq!(back, failure);
        assert!(back.error().is_none());
        assert!(!back.is::<Jammed>());
    }

    #[test]
    fn a_panic_is_text_that_says_so() {
        let failure = Failure::panic("index out of bounds".into());
        assert!(failure.is_panic());
        assert!(failure.error().is_none());
        assert_eq!(failure.to_string(), "index out of bounds");
    }
}
