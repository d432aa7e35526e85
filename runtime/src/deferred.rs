//! Deferred replies: a handler that answers its asker later, from a
//! spawned task or a later message, instead of with its return value.
//!
//! A turn that has an asker (see [`envelope`](crate::envelope)) marks the
//! worker thread while it polls its handler ([`ReplyScope`]): that is how
//! [`Context::defer_reply`](crate::Context::defer_reply), which knows
//! neither the message nor its reply channel, finds out whether there is
//! an asker and what reply type it waits for. Taking the reply leaves a
//! fresh [`Later`] behind in the mark; the turn picks it up as soon as the
//! poll returns and moves its reply channel into it. The channel is the
//! one the ask brought (a local `oneshot`, a slot of an `ask_all` batch, or
//! the channel whose reply goes back over the wire to another node), so a
//! deferred reply travels exactly as a returned one would.
//!
//! The mark costs a plain ask two thread-local writes per poll; tells and
//! replies that are not deferred allocate nothing more.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::envelope::ReplyTo;
use crate::AskError;

thread_local! {
    /// The reply type of the turn being polled on this thread, while it
    /// still has an asker to answer.
    static ASKED: Cell<Option<TypeId>> = const { Cell::new(None) };
    /// A reply taken by `defer_reply` during this poll: an `Arc<Later<R>>`.
    static TAKEN: RefCell<Option<Arc<dyn Any + Send + Sync>>> = const { RefCell::new(None) };
}

/// The reply to one ask, taken with
/// [`Context::defer_reply`](crate::Context::defer_reply) to be sent later:
/// from a spawned task, or from the handler of a later message.
///
/// [`send`](Self::send) answers the asker, who gets the value as if the
/// handler had returned it (across nodes too). Dropped without a `send`,
/// the asker gets [`AskError::Unanswered`] at once, never a hang: also when
/// the actor that held it stops, or is restarted with fresh state
/// (dropped by a panic, [`AskError::Failed`]). The
/// asker's own deadline still applies: a reply sent after it has given up
/// is dropped.
///
/// Taken in the handler of a tell, the handle answers nobody
/// ([`has_asker`](Self::has_asker) is `false`), so one handler serves asks
/// and tells alike.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, Context, Handler, Message, System};
///
/// struct Lookup(String);
/// impl Message for Lookup {
///     type Reply = usize;
/// }
///
/// struct Indexer;
/// impl Actor for Indexer {}
///
/// impl Handler<Lookup> for Indexer {
///     async fn handle(&mut self, Lookup(word): Lookup, ctx: &mut Context<Self>) -> usize {
///         let reply = ctx.defer_reply();
///         // Slow work runs in its own task; the actor handles its next message now.
///         tokio::spawn(async move { reply.send(word.len()) });
///         0 // dropped: the reply was deferred
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::new();
/// let indexer = system.spawn(Indexer)?;
/// assert_eq!(indexer.ask(Lookup("actors".into())).await?, 6);
/// # Ok(())
/// # }
/// ```
pub struct DeferredReply<R: Send + 'static> {
    /// `None` when there is no asker to answer.
    later: Option<Arc<Later<R>>>,
}

impl<R: Send + 'static> DeferredReply<R> {
    /// Takes the reply of the turn being polled on this thread, if it has
    /// an asker whose reply type is `R`.
    ///
    /// # Panics
    ///
    /// If the asker waits for another type than `R`: a handler can only
    /// defer the reply of its own message.
    pub(crate) fn take() -> Self {
        let Some(asked) = ASKED.get() else {
            return Self { later: None };
        };
        assert!(
            asked == TypeId::of::<R>(),
            "`defer_reply::<{}>()` in a handler whose message has another reply type; \
             call it with the handler's own `Message::Reply`",
            std::any::type_name::<R>()
        );
        // One reply per ask: a second call in this turn answers nobody.
        ASKED.set(None);
        let later = Arc::new(Later::default());
        let erased: Arc<dyn Any + Send + Sync> = Arc::clone(&later) as _;
        TAKEN.with_borrow_mut(|taken| *taken = Some(erased));
        Self { later: Some(later) }
    }

    /// Answers the asker with `reply`.
    pub fn send(mut self, reply: R) {
        if let Some(later) = self.later.take() {
            later.answer(Ok(reply));
        }
    }

    /// Whether there is an asker to answer: `false` when the reply was
    /// deferred in the handler of a tell (or taken twice in one turn).
    /// An asker that has given up in the meantime still counts.
    pub fn has_asker(&self) -> bool {
        self.later.is_some()
    }
}

impl<R: Send + 'static> Drop for DeferredReply<R> {
    fn drop(&mut self) {
        if let Some(later) = self.later.take() {
            // Dropped while unwinding: whoever held it failed, as a
            // handler that panics before replying does.
            let error = if std::thread::panicking() {
                AskError::Failed {
                    reason: "panicked while holding the deferred reply".to_owned(),
                }
            } else {
                AskError::Unanswered
            };
            later.answer(Err(error));
        }
    }
}

impl<R: Send + 'static> fmt::Debug for DeferredReply<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferredReply")
            .field("reply", &std::any::type_name::<R>())
            .field("has_asker", &self.has_asker())
            .finish()
    }
}

/// A reply channel of any kind, boxed so [`Later`] can hold it.
trait BoxedReply<R>: Send {
    fn reply(self: Box<Self>, result: Result<R, AskError>);
}

impl<R, T: ReplyTo<R>> BoxedReply<R> for T {
    fn reply(self: Box<Self>, result: Result<R, AskError>) {
        ReplyTo::reply(*self, result);
    }
}

/// Where a deferred reply meets the asker's channel: the handle may answer
/// (from another thread) before the turn has moved the channel in.
struct Later<R> {
    state: Mutex<Meeting<R>>,
}

enum Meeting<R> {
    /// Neither the channel nor the answer is here yet.
    Empty,
    /// The channel is here; the handle answers straight into it.
    Channel(Box<dyn BoxedReply<R>>),
    /// The answer came first; the channel takes it when it arrives.
    Answer(Result<R, AskError>),
    /// Answered and delivered.
    Done,
}

impl<R> Default for Later<R> {
    fn default() -> Self {
        Self {
            state: Mutex::new(Meeting::Empty),
        }
    }
}

impl<R: Send + 'static> Later<R> {
    fn answer(&self, result: Result<R, AskError>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match std::mem::replace(&mut *state, Meeting::Done) {
            Meeting::Empty => *state = Meeting::Answer(result),
            Meeting::Channel(channel) => {
                drop(state);
                channel.reply(result);
            }
            // A handle answers once; `Done` and a second answer cannot happen.
            Meeting::Answer(first) => *state = Meeting::Answer(first),
            Meeting::Done => {}
        }
    }

    fn attach(&self, channel: Box<dyn BoxedReply<R>>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match std::mem::replace(&mut *state, Meeting::Done) {
            Meeting::Answer(result) => {
                drop(state);
                channel.reply(result);
            }
            _ => *state = Meeting::Channel(channel),
        }
    }
}

/// Marks this thread, for one poll of a handler, as running a turn whose
/// asker waits for an `R`; on drop (panics included) the mark is undone.
///
/// `defer_reply` clears the mark when it takes the reply, so a cleared
/// mark at the end of the poll is how the turn learns of it, without
/// reading the slot of the taken handle in the common case.
pub(crate) struct ReplyScope {
    outer: Option<TypeId>,
}

impl ReplyScope {
    pub(crate) fn enter<R: 'static>() -> Self {
        Self {
            outer: ASKED.replace(Some(TypeId::of::<R>())),
        }
    }

    /// Ends the poll: if the handler deferred its reply meanwhile, moves
    /// the channel out of `reply` into the handle.
    pub(crate) fn leave<R: Send + 'static, T: ReplyTo<R>>(self, reply: &mut Option<T>) {
        if ASKED.get().is_some() {
            return;
        }
        let taken = TAKEN.with_borrow_mut(Option::take);
        let later = taken.and_then(|taken| taken.downcast::<Later<R>>().ok());
        // `take` checked the type against the mark this scope set.
        if let (Some(later), Some(channel)) = (later, reply.take()) {
            later.attach(Box::new(channel));
        }
    }
}

impl Drop for ReplyScope {
    fn drop(&mut self) {
        // A handler that deferred and then panicked: the handle it took
        // stays unattached, and the turn's failure answers the asker.
        if ASKED.get().is_none() {
            TAKEN.with_borrow_mut(|taken| *taken = None);
        }
        ASKED.set(self.outer);
    }
}
