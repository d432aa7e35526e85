//! Envelopes: a message plus where its reply goes, erased to the actor type.
//!
//! The mailbox of an actor `A` holds [`BoxEnvelope<A>`]s, each owning a
//! `dyn Envelope<A>` in memory from [`envelope_memory`](crate::envelope_memory),
//! so one queue carries every message type `A` handles. Handling an envelope produces a
//! [`Turn`]: the handler's future together with the reply channel, so that
//! a panic caught around the turn can still tell the asker what happened,
//! and so that a handler can take the channel to answer later (see
//! [`deferred`](crate::deferred)).

use std::alloc::Layout;
use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{ready, Context as TaskContext, Poll};

use pin_project_lite::pin_project;
use tokio::sync::oneshot;

use crate::deadlock::{InstalledWaits, WaitFor};
use crate::deferred::ReplyScope;
use crate::envelope_memory;
use crate::mailbox::Link;
use crate::{Actor, AskError, Context, Handler, Message};

/// An envelope for actor `A`, owned, in a block from the
/// [`envelope_memory`](crate::envelope_memory): a `Box` from another allocator.
pub(crate) struct BoxEnvelope<A: Actor> {
    envelope: NonNull<dyn Envelope<A>>,
}

// SAFETY: the handle owns its envelope alone, and envelopes are `Send`.
#[allow(unsafe_code)]
unsafe impl<A: Actor> Send for BoxEnvelope<A> {}

#[allow(unsafe_code)]
impl<A: Actor> BoxEnvelope<A> {
    /// The envelope, for the queue to own until [`from_raw`](Self::from_raw).
    pub(crate) fn into_raw(self) -> NonNull<dyn Envelope<A>> {
        ManuallyDrop::new(self).envelope
    }

    /// Takes back an envelope given up by [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    ///
    /// `envelope` must come from `into_raw` and be taken back once.
    pub(crate) unsafe fn from_raw(envelope: NonNull<dyn Envelope<A>>) -> Self {
        Self { envelope }
    }

    fn envelope(&self) -> &dyn Envelope<A> {
        // SAFETY: the handle owns a live envelope.
        unsafe { self.envelope.as_ref() }
    }

    /// The Rust type name of the message, for logs and dead letters.
    pub(crate) fn message_type(&self) -> &'static str {
        self.envelope().message_type()
    }

    /// Its memory, to be freed without dropping what is in it.
    fn into_memory(self) -> (NonNull<dyn Envelope<A>>, Memory) {
        let layout = Layout::for_value(self.envelope());
        let envelope = self.into_raw();
        let memory = Memory {
            block: envelope.cast(),
            layout,
        };
        (envelope, memory)
    }

    /// Starts handling the message on `actor`.
    pub(crate) fn handle<'a>(self, actor: &'a mut A, ctx: &'a mut Context<A>) -> BoxTurn<'a> {
        let (envelope, memory) = self.into_memory();
        // SAFETY: the envelope is live and ours; `handle` moves its
        // contents out, after which only `memory` is left to free, which
        // happens on a panic in the handler too.
        match unsafe { (*envelope.as_ptr()).handle(actor, ctx) } {
            Placed::InRoom(turn) => BoxTurn::InRoom(InRoom {
                turn,
                _memory: memory,
            }),
            Placed::Boxed(turn) => BoxTurn::Boxed(turn),
        }
    }

    /// The message will never be handled: an asker gets `error`; a tell is
    /// handed back so it can go to the dead letters.
    pub(crate) fn reject(self, error: AskError) -> Option<Box<dyn Any + Send>> {
        let (envelope, _memory) = self.into_memory();
        // SAFETY: as in `handle`.
        unsafe { (*envelope.as_ptr()).reject(error) }
    }
}

#[allow(unsafe_code)]
impl<A: Actor> Drop for BoxEnvelope<A> {
    fn drop(&mut self) {
        let layout = Layout::for_value(self.envelope());
        // SAFETY: the envelope is live and owned by this handle alone; its
        // block came from `envelope_memory` with its own layout.
        unsafe {
            ptr::drop_in_place(self.envelope.as_ptr());
            envelope_memory::free(self.envelope.cast(), layout);
        }
    }
}

/// A message of some type that actor `A` handles, with its reply channel.
#[allow(unsafe_code)]
pub(crate) trait Envelope<A: Actor>: Send {
    /// The Rust type name of the message, for logs and dead letters.
    fn message_type(&self) -> &'static str;

    /// The envelope's hook in its actor's message queue.
    fn link(&self) -> &Link<A>;

    /// Starts handling the message on `actor`: moves the message out and
    /// builds its turn, in the envelope's room if it fits.
    ///
    /// # Safety
    ///
    /// Called once, after which the envelope's contents are gone: its
    /// memory must be freed without dropping them, and not before a turn
    /// placed in its room is dropped.
    unsafe fn handle<'a>(&mut self, actor: &'a mut A, ctx: &'a mut Context<A>) -> Placed<'a>;

    /// The message will never be handled: an asker gets `error`; a tell is
    /// handed back so it can go to the dead letters.
    ///
    /// # Safety
    ///
    /// As for [`handle`](Envelope::handle): the contents are moved out.
    unsafe fn reject(&mut self, error: AskError) -> Option<Box<dyn Any + Send>>;
}

/// Where [`Envelope::handle`] built the turn.
pub(crate) enum Placed<'a> {
    /// In the envelope's own room: its memory must outlive the turn.
    InRoom(NonNull<dyn Turn + 'a>),
    /// Boxed apart: the envelope's memory can go at once.
    Boxed(Pin<Box<dyn Turn + 'a>>),
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

/// Answers an asker with the text of the panic that failed its handler.
type FailAsker = Box<dyn FnOnce(&str)>;

thread_local! {
    /// The reply channel of an ask whose handler panicked before it
    /// returned its future, for the actor's task to answer with the panic.
    static UNANSWERED: RefCell<Option<FailAsker>> = const { RefCell::new(None) };
}

/// An asker's reply channel while the handler builds its future. If that
/// panics, the channel is kept for [`fail_unanswered`] instead of going down
/// with the panic, which its asker would take for the actor being gone.
struct Unanswered<R: Send + 'static, T: ReplyTo<R>> {
    reply: Option<T>,
    _reply: PhantomData<fn() -> R>,
}

impl<R: Send + 'static, T: ReplyTo<R>> Unanswered<R, T> {
    fn new(reply: T) -> Self {
        Self {
            reply: Some(reply),
            _reply: PhantomData,
        }
    }

    /// The handler returned its future: the turn takes the channel.
    fn into_reply(mut self) -> T {
        match self.reply.take() {
            Some(reply) => reply,
            None => unreachable!("an ask's reply channel is taken once"),
        }
    }
}

impl<R: Send + 'static, T: ReplyTo<R>> Drop for Unanswered<R, T> {
    fn drop(&mut self) {
        let Some(reply) = self.reply.take() else {
            return;
        };
        let fail = move |reason: &str| {
            reply.reply(Err(AskError::Failed {
                reason: reason.to_owned(),
            }));
        };
        // A thread that is exiting has no slot left: the channel drops.
        let _ = UNANSWERED.try_with(|slot| *slot.borrow_mut() = Some(Box::new(fail)));
    }
}

/// The handler of an ask on this thread panicked before it returned its
/// future: its asker gets [`AskError::Failed`] with `reason`.
pub(crate) fn fail_unanswered(reason: &str) {
    if let Some(fail) = UNANSWERED.with_borrow_mut(Option::take) {
        fail(reason);
    }
}

/// A message for actor `A` and, for an ask, where its reply goes, with
/// room for the turn that will handle it.
///
/// `R` is the type of that turn with `'static` borrows (see [`tell`] and
/// [`ask`]): the same size and alignment as the turn `handle` builds. The
/// turn is written into `room`, in the envelope's own allocation, so a
/// message costs one allocation rather than two. With callgrind on the
/// quick workloads on one thread, that took 123 instructions off each hop
/// of the Savina ring (18.09 M → 16.87 M in all; raw tokio: 9.07 M) and
/// 119 off each tell (22.34 M → 19.95 M). A turn larger than
/// [`ROOM_LIMIT`] gets a box of its own instead (`R = ()`), so that a
/// queued message never holds much more than its message.
///
/// [`tell`]: MessageEnvelope::tell
/// [`ask`]: MessageEnvelope::ask
pub(crate) struct MessageEnvelope<A: Actor, M: Message, T, R> {
    link: Link<A>,
    message: M,
    reply: Option<T>,
    room: MaybeUninit<R>,
}

/// The largest turn built inside its envelope, in bytes: a handler future
/// bigger than this is boxed apart.
const ROOM_LIMIT: usize = 256;

/// Whether a turn of type `R` is built inside its envelope.
const fn has_room<R>() -> bool {
    size_of::<R>() <= ROOM_LIMIT
}

/// The handler of `M` on `A`, borrowing for `'static`, only to name the
/// type of its future: it is never called.
type HandlerFn<A, M, F> = fn(&'static mut A, M, &'static mut Context<A>) -> F;

impl<A: Handler<M>, M: Message> MessageEnvelope<A, M, ReplyTx<M::Reply>, ()> {
    /// An envelope for a tell: the handler's reply is dropped.
    pub(crate) fn tell(message: M) -> BoxEnvelope<A> {
        fn build<A: Handler<M>, M: Message, F: Future<Output = M::Reply> + Send + 'static>(
            message: M,
            _: HandlerFn<A, M, F>,
        ) -> BoxEnvelope<A> {
            if has_room::<Telling<F, M>>() {
                MessageEnvelope::<A, M, ReplyTx<M::Reply>, Telling<F, M>>::boxed(message, None)
            } else {
                MessageEnvelope::<A, M, ReplyTx<M::Reply>, ()>::boxed(message, None)
            }
        }
        build(message, |actor, message, ctx| actor.handle(message, ctx))
    }
}

impl<A: Handler<M>, M: Message, T: ReplyTo<M::Reply>> MessageEnvelope<A, M, T, ()> {
    /// An envelope for an ask: the reply goes to `reply`.
    pub(crate) fn ask(message: M, reply: T) -> BoxEnvelope<A> {
        fn build<A, M, T, F>(message: M, reply: T, _: HandlerFn<A, M, F>) -> BoxEnvelope<A>
        where
            A: Handler<M>,
            M: Message,
            T: ReplyTo<M::Reply>,
            F: Future<Output = M::Reply> + Send + 'static,
        {
            if has_room::<Handling<F, T>>() {
                MessageEnvelope::<A, M, T, Handling<F, T>>::boxed(message, Some(reply))
            } else {
                MessageEnvelope::<A, M, T, ()>::boxed(message, Some(reply))
            }
        }
        build(message, reply, |actor, message, ctx| {
            actor.handle(message, ctx)
        })
    }
}

impl<A, M, T, R> MessageEnvelope<A, M, T, R>
where
    A: Handler<M>,
    M: Message,
    T: ReplyTo<M::Reply>,
    R: Send + 'static,
{
    /// The envelope, its fields written straight into its block: building
    /// the whole struct and moving it there copied it, uninitialised room
    /// included, with a `memcpy` per message (29 instructions a ring hop).
    #[allow(unsafe_code)]
    fn boxed(message: M, reply: Option<T>) -> BoxEnvelope<A> {
        let fields = envelope_memory::allocate(Layout::new::<Self>()).cast::<Self>();
        // SAFETY: the block is live, large and aligned enough for `Self`;
        // every field is written but the room, a `MaybeUninit`, which may
        // stay uninitialised; `BoxEnvelope` frees the block with the same
        // layout (`Layout::for_value` of the envelope).
        unsafe {
            let envelope = fields.as_ptr();
            (&raw mut (*envelope).link).write(Link::new());
            (&raw mut (*envelope).message).write(message);
            (&raw mut (*envelope).reply).write(reply);
            BoxEnvelope::from_raw(fields)
        }
    }
}

impl<A, M, T, R> Envelope<A> for MessageEnvelope<A, M, T, R>
where
    A: Handler<M>,
    M: Message,
    T: ReplyTo<M::Reply>,
    R: Send + 'static,
{
    fn message_type(&self) -> &'static str {
        std::any::type_name::<M>()
    }

    fn link(&self) -> &Link<A> {
        &self.link
    }

    #[allow(unsafe_code)]
    unsafe fn handle<'a>(&mut self, actor: &'a mut A, ctx: &'a mut Context<A>) -> Placed<'a> {
        // SAFETY: the caller gives up the contents (see the trait).
        let (message, reply) = unsafe { self.take_contents() };
        match reply {
            Some(mut reply) => {
                reply.on_handling();
                let unanswered = Unanswered::new(reply);
                let future = actor.handle(message, ctx);
                self.place(Handling {
                    future,
                    reply: Some(unanswered.into_reply()),
                })
            }
            None => self.place(Telling::<_, M> {
                future: actor.handle(message, ctx),
                message: PhantomData,
            }),
        }
    }

    #[allow(unsafe_code)]
    unsafe fn reject(&mut self, error: AskError) -> Option<Box<dyn Any + Send>> {
        // SAFETY: the caller gives up the contents (see the trait).
        let (message, reply) = unsafe { self.take_contents() };
        match reply {
            Some(reply) => {
                reply.reply(Err(error));
                None
            }
            None => Some(Box::new(message)),
        }
    }
}

#[allow(unsafe_code)]
impl<A: Actor, M: Message, T, R> MessageEnvelope<A, M, T, R> {
    /// Moves the message and the reply channel out and drops the link.
    ///
    /// # Safety
    ///
    /// Called once; the envelope is not dropped afterwards, only freed.
    unsafe fn take_contents(&mut self) -> (M, Option<T>) {
        // SAFETY: the fields are initialised and read once (the caller's
        // promise); the link is dropped in place: it is in no queue now.
        unsafe {
            let contents = (ptr::read(&self.message), ptr::read(&self.reply));
            ptr::drop_in_place(&mut self.link);
            contents
        }
    }

    /// Puts `turn` in the room if it fits there, in a box of its own if not.
    fn place<'a, U: Turn + 'a>(&mut self, turn: U) -> Placed<'a> {
        if size_of::<U>() > size_of::<R>() || align_of::<U>() > align_of::<R>() {
            return Placed::Boxed(Box::pin(turn));
        }
        let room = self.room.as_mut_ptr().cast::<U>();
        // SAFETY: the room is unused, large and aligned enough for `U`
        // (checked above); the envelope's memory never moves and outlives
        // the turn (the caller's promise), which keeps the turn pinned.
        unsafe {
            room.write(turn);
            Placed::InRoom(NonNull::new_unchecked(room as *mut (dyn Turn + 'a)))
        }
    }
}

/// A heap block to free with the layout it was allocated with.
struct Memory {
    block: NonNull<u8>,
    layout: Layout,
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: `block` came from `envelope_memory` with `layout` (it was an
        // envelope's), and whoever made this `Memory` gave up the block.
        #[allow(unsafe_code)]
        unsafe {
            envelope_memory::free(self.block, self.layout)
        }
    }
}

/// A turn built in its envelope's room; frees the envelope's memory after
/// dropping the turn.
pub(crate) struct InRoom<'a> {
    turn: NonNull<dyn Turn + 'a>,
    /// Held to be freed once the turn in it is dropped.
    _memory: Memory,
}

// SAFETY: the turn is `Send` (`Turn: Send`) and owned by this handle alone.
#[allow(unsafe_code)]
unsafe impl Send for InRoom<'_> {}

impl Drop for InRoom<'_> {
    fn drop(&mut self) {
        // `_memory` is freed after this, even if the turn's drop panics.
        // SAFETY: the turn was written in place and is dropped once, here.
        #[allow(unsafe_code)]
        unsafe {
            ptr::drop_in_place(self.turn.as_ptr())
        }
    }
}

/// A turn being handled: in its envelope's room, or boxed apart.
pub(crate) enum BoxTurn<'a> {
    InRoom(InRoom<'a>),
    Boxed(Pin<Box<dyn Turn + 'a>>),
}

impl BoxTurn<'_> {
    fn pinned(&mut self) -> Pin<&mut (dyn Turn + '_)> {
        match self {
            // SAFETY: the turn lives in an allocation that never moves
            // until `InRoom` is dropped, after the turn itself.
            #[allow(unsafe_code)]
            Self::InRoom(in_room) => unsafe { Pin::new_unchecked(in_room.turn.as_mut()) },
            Self::Boxed(boxed) => boxed.as_mut(),
        }
    }

    /// Polls the handler; `Ready` with the text of an error nobody receives, if any.
    pub(crate) fn poll(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<String>> {
        self.pinned().poll(cx)
    }

    /// The handler failed: tell the asker, if any, instead of replying.
    pub(crate) fn fail(&mut self, reason: &str) {
        self.pinned().fail(reason);
    }
}

/// One message being handled: the handler's future and where its reply
/// goes. It ends with the text of an error the handler returned that
/// nobody receives (see [`Message::tell_error`]).
pub(crate) trait Turn: Future<Output = Option<String>> + Send {
    /// The handler failed: tell the asker, if any, instead of replying.
    fn fail(self: Pin<&mut Self>, reason: &str);
}

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

#[cfg(test)]
mod tests {
    //! The turn's placement: in the envelope's room, or boxed apart when
    //! it is too big; the envelope's memory freed once in either case,
    //! also when building the turn panics or the turn is dropped pending
    //! (Miri checks these: `.ci/miri`).

    use std::future::{pending, Future};

    use super::{has_room, Handling, ReplyTx, Telling};
    use crate::{Actor, AskError, Context, Handler, Message, StopReason, System};

    /// Counts what it is told, with handlers of every shape.
    #[derive(Default)]
    struct Counter {
        count: u64,
    }
    impl Actor for Counter {}

    /// A small handler future: built in the envelope's room.
    struct Add(u64);
    impl Message for Add {
        type Reply = u64;
    }
    impl Handler<Add> for Counter {
        async fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) -> u64 {
            self.count += n;
            self.count
        }
    }

    /// A handler future holding a kilobyte across an await: boxed apart.
    struct AddLarge(u64);
    impl Message for AddLarge {
        type Reply = u64;
    }
    impl Handler<AddLarge> for Counter {
        async fn handle(&mut self, AddLarge(n): AddLarge, _: &mut Context<Self>) -> u64 {
            let ballast = [n as u8; 1024];
            tokio::task::yield_now().await;
            self.count += n + u64::from(ballast[1023]) - u64::from(ballast[0]);
            self.count
        }
    }

    /// A handler that panics before it returns its future.
    struct PanicEarly;
    impl Message for PanicEarly {
        type Reply = ();
    }
    impl Handler<PanicEarly> for Counter {
        fn handle(
            &mut self,
            _: PanicEarly,
            _: &mut Context<Self>,
        ) -> impl Future<Output = ()> + Send {
            panic!("no future for you");
            #[allow(unreachable_code)]
            async {}
        }
    }

    /// A handler that says it started, then never finishes.
    struct Hang(Option<tokio::sync::oneshot::Sender<()>>);
    impl Message for Hang {
        type Reply = ();
    }
    impl Handler<Hang> for Counter {
        async fn handle(&mut self, Hang(started): Hang, _: &mut Context<Self>) {
            if let Some(started) = started {
                let _ = started.send(());
            }
            pending::<()>().await;
        }
    }

    fn turn_size<F>(
        _: fn(&'static mut Counter, AddLarge, &'static mut Context<Counter>) -> F,
    ) -> usize {
        std::mem::size_of::<Telling<F, AddLarge>>()
    }

    #[test]
    fn small_turns_have_room_and_large_ones_do_not() {
        assert!(has_room::<Handling<[u8; 64], ReplyTx<u64>>>());
        let large = turn_size(|actor, message, ctx| actor.handle(message, ctx));
        assert!(
            large > super::ROOM_LIMIT,
            "the large handler's turn is {large} B"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn turns_in_the_room_and_boxed_apart_both_reply() -> Result<(), AskError> {
        let system = System::new();
        let counter = system
            .spawn(Counter::default())
            .map_err(|_| AskError::Stopped)?;
        counter.tell(Add(1)).await.map_err(|_| AskError::Stopped)?;
        counter
            .tell(AddLarge(2))
            .await
            .map_err(|_| AskError::Stopped)?;
        assert_eq!(counter.ask(Add(3)).await?, 6);
        assert_eq!(counter.ask(AddLarge(4)).await?, 10);
        Ok(())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panic_before_the_future_fails_the_actor_and_its_asker() {
        let system = System::new();
        let counter = system.spawn(Counter::default()).expect("spawned");
        let reply = counter.ask(PanicEarly).await;
        // No turn was built to report it, and the asker still learns why.
        assert_eq!(
            reply,
            Err(AskError::Failed {
                reason: "no future for you".to_owned()
            })
        );
        let reason = counter.wait_stopped().await;
        assert!(
            matches!(&reason, StopReason::Failed(failure) if failure.message().contains("no future for you")),
            "{reason:?}"
        );
    }

    #[test]
    fn a_turn_dropped_pending_frees_its_envelope() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let (started, handling) = tokio::sync::oneshot::channel();
        let system = runtime.block_on(async {
            let system = System::new();
            let counter = system.spawn(Counter::default()).expect("spawned");
            counter.tell(Hang(Some(started))).await.expect("told");
            handling.await.expect("the handler started");
            system
        });
        // The actor's task, with its turn pending in the envelope's room,
        // is dropped with the runtime.
        drop(runtime);
        drop(system);
    }
}
