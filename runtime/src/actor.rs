//! The three traits a user implements: [`Actor`], [`Message`] and [`Handler`].

use std::future::Future;

use crate::{ActorError, Context, Mailbox, StopReason};

/// A unit of state that handles messages one at a time.
///
/// An actor owns its state outright: nothing else can reach it, so handlers
/// take `&mut self` and need no locks. Other code talks to it only through an
/// [`ActorRef`](crate::ActorRef). Every hook has a default, so an empty `impl`
/// is a complete actor.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, ActorError, Context, Handler, Message, System};
///
/// #[derive(Default)]
/// struct Counter {
///     total: u64,
/// }
///
/// impl Actor for Counter {
///     async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
///         tracing::info!(id = %ctx.id(), "counter up");
///         Ok(())
///     }
/// }
///
/// struct Add(u64);
/// impl Message for Add {
///     type Reply = u64;
/// }
///
/// impl Handler<Add> for Counter {
///     async fn handle(&mut self, Add(n): Add, _ctx: &mut Context<Self>) -> u64 {
///         self.total += n;
///         self.total
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::new();
/// let counter = system.spawn(Counter::default())?;
/// counter.tell(Add(2)).await?;
/// assert_eq!(counter.ask(Add(3)).await?, 5);
/// # Ok(())
/// # }
/// ```
pub trait Actor: Send + Sized + 'static {
    /// The name [`System::spawn_default_named`](crate::System::spawn_default_named)
    /// registers this actor under; `None` (the default) for actors that
    /// have no default name. `#[derive(Actor)]` sets it from
    /// `#[actor(name = "...")]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::Actor;
    ///
    /// struct Clock;
    /// impl Actor for Clock {
    ///     const DEFAULT_NAME: Option<&'static str> = Some("clock");
    /// }
    /// # let _ = Clock;
    /// assert_eq!(Clock::DEFAULT_NAME, Some("clock"));
    /// ```
    const DEFAULT_NAME: Option<&'static str> = None;

    /// The mailbox this actor gets when spawned: bounded with
    /// [`Mailbox::DEFAULT_CAPACITY`] unless overridden.
    fn mailbox() -> Mailbox {
        Mailbox::default()
    }

    /// Runs in the actor's task before the first message is handled.
    ///
    /// Messages sent meanwhile wait in the mailbox;
    /// [`ActorRef::wait_started`](crate::ActorRef::wait_started) waits for
    /// it to complete. An error (or a panic) fails the actor: it stops with
    /// [`StopReason::Failed`] without handling any message, unless its
    /// supervisor restarts it (a [`Supervisor`](crate::Supervisor) does not
    /// restart a child that fails to start: its own start fails instead).
    fn on_start(
        &mut self,
        _ctx: &mut Context<Self>,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        async { Ok(()) }
    }

    /// Runs when the actor's supervisor restarts it in place after a failure
    /// (or, for a [`Permanent`](crate::RestartPolicy::Permanent) child, after
    /// it stopped itself), before the next queued message is handled.
    ///
    /// By then its children have been stopped and its timers cancelled, and
    /// if it was spawned from a [`ChildSpec`](crate::ChildSpec) `self` is a
    /// fresh state from the factory. The default runs
    /// [`on_start`](Self::on_start) again. `reason` says why it restarts;
    /// a [`StopReason::Failed`] keeps the error it failed with, for
    /// [`Failure::downcast_ref`](crate::Failure::downcast_ref).
    /// An error (or panic) is a new failure.
    fn on_restart(
        &mut self,
        ctx: &mut Context<Self>,
        _reason: &StopReason,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        self.on_start(ctx)
    }

    /// Runs once when the actor stops for good, for any reason, after its
    /// children have stopped. `reason` says why.
    ///
    /// It does not run when the actor restarts after its own failure. It
    /// does run when its supervisor takes it down to restart it with a
    /// failed sibling (one-for-all, rest-for-one), as OTP's `terminate`
    /// does, before the restart; if the actor is then stopped instead of
    /// restarted it does not run again, and after a restart it runs again
    /// when the actor stops for good.
    fn on_stop(
        &mut self,
        _ctx: &mut Context<Self>,
        _reason: &StopReason,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// A value that can be sent to an actor, and the type of its reply.
///
/// Use `()` as the reply for messages that are only ever told.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::Message;
///
/// struct Ping;
/// impl Message for Ping {
///     type Reply = &'static str;
/// }
/// # let _ = Ping;
/// ```
pub trait Message: Send + 'static {
    /// What the handler returns to an [`ask`](crate::ActorRef::ask).
    type Reply: Send + 'static;

    /// What went wrong, if `reply` is an error, for a reply that nobody
    /// receives: the handler of a [`tell`](crate::ActorRef::tell) returned
    /// it. The actor logs the text with `tracing::warn!` (its id and the
    /// message type) instead of dropping it silently; the actor keeps
    /// running, as it does when an asker gets the error. To fail the actor
    /// on an error, use [`Context::fail`](crate::Context::fail).
    ///
    /// The default says nothing. `#[derive(Message)]` and `#[handlers]`
    /// implement it for a `Result` reply (the error's `Display`, or its
    /// type name if it has none). A hand-written `Message` with a `Result`
    /// reply implements it as in the example.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::Message;
    ///
    /// struct Save;
    /// impl Message for Save {
    ///     type Reply = Result<(), std::io::Error>;
    ///
    ///     fn tell_error(reply: &Self::Reply) -> Option<String> {
    ///         reply.as_ref().err().map(ToString::to_string)
    ///     }
    /// }
    ///
    /// let failed = Err(std::io::Error::other("disk full"));
    /// assert_eq!(Save::tell_error(&failed).as_deref(), Some("disk full"));
    /// assert_eq!(Save::tell_error(&Ok(())), None);
    /// ```
    fn tell_error(reply: &Self::Reply) -> Option<String> {
        let _ = reply;
        None
    }
}

/// How an actor handles one message type. An actor implements it once per
/// message type it accepts.
///
/// The handler runs with exclusive access to the actor; the next message is
/// not started until this future completes. A panic inside it fails the actor
/// (and only it); an ask for this message then gets
/// [`AskError::Failed`](crate::AskError::Failed).
#[diagnostic::on_unimplemented(
    message = "actor `{Self}` does not handle messages of type `{M}`",
    label = "`{Self}` has no handler for `{M}`",
    note = "add `impl Handler<{M}> for {Self} {{ async fn handle(&mut self, msg: {M}, ctx: &mut Context<Self>) -> <{M} as Message>::Reply {{ .. }} }}`"
)]
pub trait Handler<M: Message>: Actor {
    /// Handles `msg` and returns the reply sent back to an asker. For a
    /// tell nobody receives it; an error in it is logged (see
    /// [`Message::tell_error`]), anything else is dropped.
    fn handle(&mut self, msg: M, ctx: &mut Context<Self>) -> impl Future<Output = M::Reply> + Send;
}
