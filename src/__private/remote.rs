//! How the derives check and register a remote message so that a missing
//! `Serialize`/`Deserialize` reads as one short error at the type.
//!
//! A plain `impl RemoteMessage for M` fails on every serde supertrait with
//! a long error about serde's internals. So the derives write the impl with
//! `for<'w>` bounds (which the compiler does not check at the impl, so a
//! type without serde gets an impl that never applies), register through
//! [`Probe`] (a no-op when `M: RemoteMessage` does not hold), and check
//! with [`message_serde`] and [`reply_serde`], whose errors say what to add.
//!
//! [`Probe`] picks between two traits by method lookup: `(&&probe).serde()`
//! finds the impl for `&Probe<T>` (one `&` away) when `T` serializes both ways, and falls
//! back to the impl for `Probe<T>` otherwise (autoref specialisation).

use std::fmt;
use std::marker::PhantomData;

use proscenium_net::{Registry, RemoteMessage};
use proscenium_runtime::{Handler, Message};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A type to look up, by method resolution, what `T` implements.
pub struct Probe<T>(PhantomData<fn() -> T>);

impl<T> Probe<T> {
    /// The probe for `T`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T> Default for Probe<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Probe<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Probe<{}>", std::any::type_name::<T>())
    }
}

/// What a remote message and its reply need: serde both ways.
pub trait Wire: Serialize + DeserializeOwned {}

impl<T: Serialize + DeserializeOwned> Wire for T {}

// ===== the checks =====

/// `T` implements `Serialize` and `Deserialize`.
#[derive(Debug)]
pub struct HasSerde;

/// `T` lacks `Serialize` or `Deserialize`.
#[derive(Debug)]
pub struct NoSerde;

/// Found for a `&Probe<T>` whose `T` serializes both ways.
pub trait ViaSerde {
    /// Says that `T` has serde.
    fn serde(&self) -> HasSerde {
        HasSerde
    }
}

impl<T: Wire> ViaSerde for &Probe<T> {}

/// The fallback for any other `Probe<T>`.
pub trait WithoutSerde {
    /// Says that `T` lacks serde.
    fn serde(&self) -> NoSerde {
        NoSerde
    }
}

impl<T> WithoutSerde for Probe<T> {}

/// Holds for [`HasSerde`] only; its message is the error a user reads.
#[diagnostic::on_unimplemented(
    message = "`{M}` is marked `#[message(remote)]` but does not implement Serialize/Deserialize; add `#[derive(Serialize, Deserialize)]`",
    label = "add `#[derive(Serialize, Deserialize)]` to `{M}`",
    note = "a remote message crosses the wire as bytes, so it derives `serde::Serialize` and `serde::Deserialize`"
)]
pub trait MessageSerde<M> {}

#[diagnostic::do_not_recommend]
impl<M> MessageSerde<M> for HasSerde {}

/// Holds for [`HasSerde`] only; its message is the error a user reads.
#[diagnostic::on_unimplemented(
    message = "`{M}` is a remote message, but its reply `{R}` does not implement Serialize/Deserialize; add `#[derive(Serialize, Deserialize)]` to `{R}`",
    label = "the reply of `{M}` lacks serde",
    note = "the reply of a remote ask crosses the wire back as bytes, so it derives `serde::Serialize` and `serde::Deserialize`"
)]
pub trait ReplySerde<M, R> {}

#[diagnostic::do_not_recommend]
impl<M, R> ReplySerde<M, R> for HasSerde {}

/// Holds for [`HasSerde`] only; its message is the error a user reads.
#[diagnostic::on_unimplemented(
    message = "`{A}`, an argument of the remote handler message `{M}`, does not implement Serialize/Deserialize; add `#[derive(Serialize, Deserialize)]` to `{A}`",
    label = "`{A}` lacks serde",
    note = "the arguments of a `#[handler(remote)]` method cross the wire as bytes, so their types derive `serde::Serialize` and `serde::Deserialize`"
)]
pub trait ArgSerde<M, A> {}

#[diagnostic::do_not_recommend]
impl<M, A> ArgSerde<M, A> for HasSerde {}

/// Fails to compile, with [`MessageSerde`]'s message, unless `M` has serde.
pub fn message_serde<M, S: MessageSerde<M>>(_: S) {}

/// Fails to compile, with [`ArgSerde`]'s message, unless the argument type
/// `A` of `M` has serde.
pub fn arg_serde<M, A, S: ArgSerde<M, A>>(_: S) {}

/// Fails to compile, with [`ReplySerde`]'s message, unless the reply `R`
/// of `M` has serde.
pub fn reply_serde<M, R, S: ReplySerde<M, R>>(_: S) {}

// ===== the registrations =====

/// Found for a `&Probe<M>` whose `M` is a remote message: registers it.
pub trait RegisterRemote<M: Message> {
    /// Lets `M` cross the wire from this node.
    fn register_message(&self, registry: &mut Registry);

    /// Lets actors of type `A` receive `M` from other nodes.
    fn register_handler<A: Handler<M>>(&self, registry: &mut Registry);
}

impl<M: RemoteMessage> RegisterRemote<M> for &Probe<M> {
    fn register_message(&self, registry: &mut Registry) {
        registry.message::<M>();
    }

    fn register_handler<A: Handler<M>>(&self, registry: &mut Registry) {
        registry.handler::<A, M>();
    }
}

/// The fallback for a message that failed a check above: registers
/// nothing, so the check's error is the only one.
pub trait SkipRegister<M: Message> {
    /// Does nothing.
    fn register_message(&self, _registry: &mut Registry) {}

    /// Does nothing.
    fn register_handler<A: Handler<M>>(&self, _registry: &mut Registry) {}
}

impl<M: Message> SkipRegister<M> for Probe<M> {}
