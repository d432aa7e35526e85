//! Envelopes: a message plus where its reply goes, erased to the actor type.
//!
//! The mailbox of an actor `A` holds `Box<dyn Envelope<A>>`, so one queue
//! carries every message type `A` handles. Handling an envelope produces a
//! [`Turn`]: the handler's future together with the reply channel, so that
//! a panic caught around the turn can still tell the asker what happened.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use pin_project_lite::pin_project;
use tokio::sync::oneshot;

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

/// Where the reply to an ask goes.
pub(crate) type ReplyTx<R> = oneshot::Sender<Result<R, AskError>>;

/// A message for actor `A` and, for an ask, the channel its reply goes to.
pub(crate) struct MessageEnvelope<A: Actor, M: Message> {
    link: Link<A>,
    message: M,
    reply: Option<ReplyTx<M::Reply>>,
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

    /// An envelope for an ask: the reply goes to `reply`.
    pub(crate) fn ask(message: M, reply: ReplyTx<M::Reply>) -> BoxEnvelope<A> {
        Box::new(Self {
            link: Link::new(),
            message,
            reply: Some(reply),
        })
    }
}

impl<A: Handler<M>, M: Message> Envelope<A> for MessageEnvelope<A, M> {
    fn message_type(&self) -> &'static str {
        std::any::type_name::<M>()
    }

    fn link(&self) -> &Link<A> {
        &self.link
    }

    fn handle<'a>(self: Box<Self>, actor: &'a mut A, ctx: &'a mut Context<A>) -> BoxTurn<'a> {
        let Self { message, reply, .. } = *self;
        Box::pin(Handling {
            future: actor.handle(message, ctx),
            reply,
        })
    }

    fn reject(self: Box<Self>, error: AskError) -> Option<Box<dyn Any + Send>> {
        match self.reply {
            Some(reply) => {
                // The asker may have given up already; then nobody is left to tell.
                let _ = reply.send(Err(error));
                None
            }
            None => Some(Box::new(self.message)),
        }
    }
}

/// One message being handled: the handler's future and where its reply goes.
pub(crate) trait Turn: Future<Output = ()> + Send {
    /// The handler failed: tell the asker, if any, instead of replying.
    fn fail(self: Pin<&mut Self>, reason: &str);
}

/// A turn, boxed so that one actor loop can run every message type.
pub(crate) type BoxTurn<'a> = Pin<Box<dyn Turn + 'a>>;

pin_project! {
    struct Handling<F, R> {
        #[pin]
        future: F,
        reply: Option<ReplyTx<R>>,
    }
}

impl<F: Future<Output = R> + Send, R: Send> Future for Handling<F, R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = self.project();
        let reply = ready!(this.future.poll(cx));
        if let Some(tx) = this.reply.take() {
            // A dropped ask future means the asker no longer wants the reply.
            let _ = tx.send(Ok(reply));
        }
        Poll::Ready(())
    }
}

impl<F: Future<Output = R> + Send, R: Send> Turn for Handling<F, R> {
    fn fail(self: Pin<&mut Self>, reason: &str) {
        if let Some(tx) = self.project().reply.take() {
            let _ = tx.send(Err(AskError::Failed {
                reason: reason.to_owned(),
            }));
        }
    }
}
