//! Envelopes: a message plus where its reply goes, erased to the actor type.
//!
//! The mailbox of an actor `A` holds `Box<dyn Envelope<A>>`, so one queue
//! carries every message type `A` handles. Handling an envelope produces a
//! [`Turn`]: the handler's future together with the reply channel, so that
//! a panic caught around the turn can still tell the asker what happened,
//! and so that a handler can take the channel to answer later (see
//! [`deferred`](crate::deferred)).

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use pin_project_lite::pin_project;
use tokio::sync::oneshot;

use crate::deadlock::{InstalledWaits, WaitFor};
use crate::deferred::ReplyScope;
use crate::mailbox::Link;
use crate::{Actor, AskError, Context, Handler, Message};

/// A boxed envelope for actor `A`.
pub(crate) type BoxEnvelope<A> = Box<dyn Envelope<A>>;

/// A message of some type that actor `A` handles, with its reply channel.
pub(crate) trait Envelope<A: Actor>: Send {
    /// The Rust type name of the message, for logs and dead letters.
    fn message_type(&self) -> &'static str;

    /// The envelope's hook in its actor's message queue.
    fn link(&self) -> &Link<A>;

    /// Starts handling the message on `actor`.
    fn handle<'a>(self: Box<Self>, actor: &'a mut A, ctx: &'a mut Context<A>) -> BoxTurn<'a>;

    /// The message will never be handled: an asker gets `error`; a tell is
    /// handed back so it can go to the dead letters.
    fn reject(self: Box<Self>, error: AskError) -> Option<Box<dyn Any + Send>>;
}

/// Where the reply to a single ask goes.
pub(crate) type ReplyTx<R> = oneshot::Sender<Result<R, AskError>>;

/// Where the reply to an ask goes: a `oneshot` for a single ask, one slot
/// of a gather for [`ask_all`](crate::ask_all).
pub(crate) trait ReplyTo<R>: Send + 'static {
    /// Delivers the reply, or the reason there is none. An asker that has
    /// given up already is not an error: nobody is left to tell.
    fn reply(self, result: Result<R, AskError>);

    /// The handler is about to run. Replies that brought wait-for edges
    /// from another node put them in the graph here, until they are sent.
    fn on_handling(&mut self) {}
}

/// A reply channel of an ask from another node, with the waits that
/// lead to its asker there; see [`deadlock::waits_leading_to`].
pub(crate) struct Waited<T> {
    reply: T,
    waits: Option<Box<[WaitFor]>>,
    /// Present from the start of the handler until the reply goes.
    installed: Option<InstalledWaits>,
}

impl<T> Waited<T> {
    pub(crate) fn new(reply: T, waits: Vec<WaitFor>) -> Self {
        Self {
            reply,
            waits: Some(waits.into_boxed_slice()),
            installed: None,
        }
    }
}

impl<R, T: ReplyTo<R>> ReplyTo<R> for Waited<T> {
    fn reply(self, result: Result<R, AskError>) {
        let Self {
            reply, installed, ..
        } = self;
        // The handler is done waiting on anyone: its waits end first.
        drop(installed);
        reply.reply(result);
    }

    fn on_handling(&mut self) {
        if let Some(waits) = self.waits.take() {
            self.installed = InstalledWaits::install(waits);
        }
    }
}

impl<R: Send + 'static> ReplyTo<R> for ReplyTx<R> {
    fn reply(self, result: Result<R, AskError>) {
        let _ = self.send(result);
    }
}

/// A message for actor `A` and, for an ask, where its reply goes.
pub(crate) struct MessageEnvelope<A: Actor, M: Message, T = ReplyTx<<M as Message>::Reply>> {
    link: Link<A>,
    message: M,
    reply: Option<T>,
}

impl<A: Handler<M>, M: Message> MessageEnvelope<A, M> {
    /// An envelope for a tell: the handler's reply is dropped.
    pub(crate) fn tell(message: M) -> BoxEnvelope<A> {
        Box::new(Self {
            link: Link::new(),
            message,
            reply: None,
        })
    }
}

impl<A: Handler<M>, M: Message, T: ReplyTo<M::Reply>> MessageEnvelope<A, M, T> {
    /// An envelope for an ask: the reply goes to `reply`.
    pub(crate) fn ask(message: M, reply: T) -> BoxEnvelope<A> {
        Box::new(Self {
            link: Link::new(),
            message,
            reply: Some(reply),
        })
    }
}

impl<A: Handler<M>, M: Message, T: ReplyTo<M::Reply>> Envelope<A> for MessageEnvelope<A, M, T> {
    fn message_type(&self) -> &'static str {
        std::any::type_name::<M>()
    }

    fn link(&self) -> &Link<A> {
        &self.link
    }

    fn handle<'a>(self: Box<Self>, actor: &'a mut A, ctx: &'a mut Context<A>) -> BoxTurn<'a> {
        let Self { message, reply, .. } = *self;
        match reply {
            Some(mut reply) => {
                reply.on_handling();
                Box::pin(Handling {
                    future: actor.handle(message, ctx),
                    reply: Some(reply),
                })
            }
            None => Box::pin(Telling::<_, M> {
                future: actor.handle(message, ctx),
                message: PhantomData,
            }),
        }
    }

    fn reject(self: Box<Self>, error: AskError) -> Option<Box<dyn Any + Send>> {
        match self.reply {
            Some(reply) => {
                reply.reply(Err(error));
                None
            }
            None => Some(Box::new(self.message)),
        }
    }
}

/// One message being handled: the handler's future and where its reply
/// goes. It ends with the text of an error the handler returned that
/// nobody receives (see [`Message::tell_error`]).
pub(crate) trait Turn: Future<Output = Option<String>> + Send {
    /// The handler failed: tell the asker, if any, instead of replying.
    fn fail(self: Pin<&mut Self>, reason: &str);
}

/// A turn, boxed so that one actor loop can run every message type.
pub(crate) type BoxTurn<'a> = Pin<Box<dyn Turn + 'a>>;

pin_project! {
    struct Handling<F, T> {
        #[pin]
        future: F,
        reply: Option<T>,
    }
}

pin_project! {
    /// A tell being handled: nobody waits for the reply, so only an error
    /// in it is worth keeping.
    struct Telling<F, M> {
        #[pin]
        future: F,
        message: PhantomData<fn() -> M>,
    }
}

impl<F, M> Future for Telling<F, M>
where
    F: Future<Output = M::Reply> + Send,
    M: Message,
{
    type Output = Option<String>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<String>> {
        let reply = ready!(self.project().future.poll(cx));
        Poll::Ready(M::tell_error(&reply))
    }
}

impl<F, M> Turn for Telling<F, M>
where
    F: Future<Output = M::Reply> + Send,
    M: Message,
{
    /// Nobody to tell: the actor's failure is logged and reported to its
    /// supervisor and watchers.
    fn fail(self: Pin<&mut Self>, _reason: &str) {}
}

impl<F, T> Future for Handling<F, T>
where
    F: Future + Send,
    F::Output: Send + 'static,
    T: ReplyTo<F::Output>,
{
    type Output = Option<String>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<String>> {
        let this = self.project();
        if this.reply.is_none() {
            // A reply deferred already: its handle answers, not the output.
            ready!(this.future.poll(cx));
            return Poll::Ready(None);
        }
        // The channel stays in place while the handler runs, so that a
        // panic in it still finds the channel to report the failure on.
        let scope = ReplyScope::enter::<F::Output>();
        let polled = this.future.poll(cx);
        scope.leave(this.reply);
        let reply = ready!(polled);
        if let Some(tx) = this.reply.take() {
            tx.reply(Ok(reply));
        }
        Poll::Ready(None)
    }
}

impl<F, T> Turn for Handling<F, T>
where
    F: Future + Send,
    F::Output: Send + 'static,
    T: ReplyTo<F::Output>,
{
    fn fail(self: Pin<&mut Self>, reason: &str) {
        if let Some(tx) = self.project().reply.take() {
            tx.reply(Err(AskError::Failed {
                reason: reason.to_owned(),
            }));
        }
    }
}
