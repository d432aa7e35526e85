//! Macros for [Proscenium](https://docs.rs/proscenium): `#[derive(Actor)]`,
//! `#[derive(Message)]`, and `#[handlers]` with `#[handler]` methods.
//!
//! Use them through the `proscenium` facade (`use proscenium::prelude::*;`):
//! the generated code names `::proscenium::__private` paths, so this crate
//! on its own is not enough.
//!
//! Each macro runs in three phases, one file each: `ast` reads the input
//! into a typed form (with `attr` for the `#[actor(..)]`-style attributes),
//! `valid` collects every mistake with the span of the offending tokens,
//! and `expand` writes the impls. When there are mistakes, `fallback` emits
//! a stand-in impl next to the errors so that the rest of the crate does
//! not fail with errors of its own.
#![doc(test(attr(deny(warnings))))]

mod ast;
mod attr;
mod expand;
mod fallback;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput, ItemImpl};

/// Implements `Actor` for a struct, with the default hooks.
///
/// Works on structs with named fields, tuple structs and unit structs,
/// generic ones included (each type parameter gets `Send + 'static`
/// bounds). Attributes, all optional, in one `#[actor(..)]` or several:
///
/// * `mailbox = N`: a bounded mailbox of `N` messages (an integer literal
///   or a `usize` constant); the default is `Mailbox::DEFAULT_CAPACITY`;
/// * `unbounded`: an unbounded mailbox (not together with `mailbox`);
/// * `name = "..."`: the actor's default name (`Actor::DEFAULT_NAME`),
///   which `System::spawn_default_named` registers it under;
/// * `remote(M1, M2, ..)`: actors of this type receive these messages from
///   other nodes. Each `Mi` must be a remote message (see
///   [`derive@Message`]) that the actor handles, or the list does not
///   compile; the pairs are registered at link time, so a
///   `proscenium::net::Node` knows them without any registration call.
///   A remote message left out of the list is refused when it arrives
///   (`AskError::Remote` for an ask), so handlers written with
///   [`macro@handlers`] can say `#[handler(remote)]` instead, which needs
///   no list.
///
/// The derived impl keeps the default `on_start` and `on_stop`. An actor
/// that needs a hook implements `Actor` by hand instead of deriving it
/// (`fn mailbox()` and `DEFAULT_NAME` are then written by hand too).
///
/// # Examples
///
/// ```
/// use proscenium::prelude::*;
///
/// #[derive(Actor)]
/// #[actor(mailbox = 64, name = "clock")]
/// struct Clock;
///
/// #[derive(Actor)]
/// #[actor(unbounded)]
/// struct Cache<K, V> {
///     entries: std::collections::HashMap<K, V>,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), SpawnError> {
/// assert_eq!(Clock::mailbox(), Mailbox::Bounded(64));
/// assert_eq!(Cache::<String, u64>::mailbox(), Mailbox::Unbounded);
/// let system = System::new();
/// let clock = system.spawn_default_named(Clock)?;
/// assert_eq!(system.lookup::<Clock>("clock"), Some(clock));
/// # let cache = Cache::<u8, u8> { entries: Default::default() };
/// # assert!(cache.entries.is_empty());
/// # Ok(())
/// # }
/// ```
#[proc_macro_derive(Actor, attributes(actor))]
pub fn derive_actor(input: TokenStream) -> TokenStream {
    expand::derive_actor(&parse_macro_input!(input as DeriveInput)).into()
}

/// Implements `Message` for a type, with `#[message(reply = T)]` naming
/// the reply type (`()` when left out).
///
/// `#[message(remote)]` also lets it cross the wire between nodes: it
/// implements `proscenium::net::RemoteMessage` with the type's name as its
/// stable tag (`#[message(remote = "my.Tag")]` picks another) and registers
/// it at link time. The type and its reply must derive `Serialize` and
/// `Deserialize`; a missing derive is one compile error at the type (or at
/// the reply type) that says which derive to add. The actors that receive
/// it from other nodes list it in `#[actor(remote(..))]` (see
/// [`derive@Actor`]).
///
/// Works on structs and enums, generic ones included (each type parameter
/// gets `Send + 'static` bounds).
///
/// # Examples
///
/// ```
/// use proscenium::prelude::*;
///
/// #[derive(Message)]
/// #[message(reply = u64)]
/// struct Add(u64);
///
/// #[derive(Message)] // replies `()`
/// enum Command {
///     Reset,
///     Set(u64),
/// }
///
/// #[derive(Actor, Default)]
/// struct Counter {
///     total: u64,
/// }
///
/// impl Handler<Add> for Counter {
///     async fn handle(&mut self, Add(n): Add, _ctx: &mut Context<Self>) -> u64 {
///         self.total += n;
///         self.total
///     }
/// }
///
/// impl Handler<Command> for Counter {
///     async fn handle(&mut self, command: Command, _ctx: &mut Context<Self>) {
///         self.total = match command {
///             Command::Reset => 0,
///             Command::Set(n) => n,
///         };
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let counter = System::new().spawn(Counter::default())?;
/// counter.tell(Command::Set(40)).await?;
/// assert_eq!(counter.ask(Add(2)).await?, 42);
/// counter.tell(Command::Reset).await?;
/// assert_eq!(counter.ask(Add(1)).await?, 1);
/// # Ok(())
/// # }
/// ```
#[proc_macro_derive(Message, attributes(message))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    expand::derive_message(&parse_macro_input!(input as DeriveInput)).into()
}

/// Turns the `#[handler]` methods of an inherent `impl` block into
/// messages, handlers, and methods on the actor's ref.
///
/// For each `#[handler] async fn add(&mut self, by: u64) -> u64` of
/// `impl Counter`, it generates, next to the block (which stays as it is,
/// so `add` can still be called directly):
///
/// * a message struct named after the method in UpperCamelCase, with the
///   method's visibility and one field per argument: `Add { by: u64 }`
///   (a unit struct when there are no arguments). `#[handler(message = Plus)]`
///   picks another name;
/// * `impl Message for Add { type Reply = u64; }` (the method's return
///   type, `()` when it has none) and `impl Handler<Add> for Counter`,
///   which calls the method;
/// * a trait `CounterRef`, implemented for `ActorRef<Counter>`, with four
///   methods per handler: `add(by)` asks and waits for the reply,
///   `add_timeout(by, timeout)` asks with a deadline, `tell_add(by)` tells,
///   and `try_tell_add(by)` tries to tell without waiting.
///   `#[handlers(ext = CounterExt)]` picks another trait name.
///
/// A method takes `&mut self`, then its arguments, then optionally
/// `ctx: &mut Context<Self>` last. All `#[handler]` methods of one block
/// share one visibility, because they share the trait. Methods without
/// `#[handler]` are left alone.
///
/// # Remote handlers
///
/// `#[handler(remote)]` declares, in one place, that the handler may be
/// called from other nodes: the message also implements `Serialize`,
/// `Deserialize` and `proscenium::net::RemoteMessage`, with the tag
/// `Actor::Message` (`Counter::Add`; `#[handler(remote = "my.Tag")]` picks
/// another), and the message and its handler are registered at link time,
/// as `#[message(remote)]` and `#[actor(remote(..))]` do together for a
/// hand-written handler. `#[handlers(remote)]` makes every handler of the
/// block remote. The argument types and the return type must implement
/// `Serialize` and `Deserialize`; one that does not is a compile error at
/// that type.
///
/// ```
/// use proscenium::prelude::*;
///
/// #[derive(Actor, Default)]
/// struct Account {
///     total: u64,
/// }
///
/// #[handlers]
/// impl Account {
///     /// Other nodes may deposit: no `#[actor(remote(..))]` list needed.
///     #[handler(remote)]
///     async fn deposit(&mut self, amount: u64) -> u64 {
///         self.total += amount;
///         self.total
///     }
///
///     /// Local callers only.
///     #[handler]
///     async fn audit(&mut self) -> u64 {
///         self.total
///     }
/// }
///
/// use proscenium::net::RemoteMessage;
/// assert_eq!(Deposit::TAG, "Account::Deposit");
/// ```
///
/// # Examples
///
/// ```
/// use proscenium::prelude::*;
///
/// #[derive(Actor, Default)]
/// struct Counter {
///     total: u64,
/// }
///
/// #[handlers]
/// impl Counter {
///     #[handler]
///     async fn add(&mut self, by: u64) -> u64 {
///         self.total += by;
///         self.total
///     }
///
///     #[handler]
///     async fn stop_later(&mut self, ctx: &mut Context<Self>) {
///         ctx.stop();
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let counter = System::new().spawn(Counter::default())?;
/// counter.tell_add(2).await?;                 // a tell of `Add { by: 2 }`
/// assert_eq!(counter.add(3).await?, 5);       // an ask
/// assert_eq!(counter.ask(Add { by: 1 }).await?, 6);
/// counter.stop_later().await?;
/// counter.wait_stopped().await;
/// # Ok(())
/// # }
/// ```
#[proc_macro_attribute]
pub fn handlers(args: TokenStream, input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as ItemImpl);
    expand::handlers(args.into(), input).into()
}

/// Marks a method of a `#[handlers]` block as a message handler; see
/// [`macro@handlers`]. On its own it is an error.
#[proc_macro_attribute]
pub fn handler(_args: TokenStream, input: TokenStream) -> TokenStream {
    fallback::lone_handler(input.into()).into()
}
