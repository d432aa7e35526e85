//! Generated code names everything by absolute path: it compiles with no
//! `use` at all, and with look-alike local items in scope.
#![deny(warnings, missing_docs, unreachable_pub)]

/// Local items named like the runtime's, which generated code must not pick up.
#[allow(dead_code)]
mod shadows {
    pub(crate) struct Mailbox;
    pub(crate) trait Actor {}
    pub(crate) trait Message {}
    pub(crate) struct Context;
    pub(crate) enum Option {
        Some,
    }
    pub(crate) trait Serialize {}
    pub(crate) struct Registry;
    pub(crate) struct Probe;
}
#[allow(unused_imports)]
use shadows::*;

/// A public actor, so `missing_docs` checks what is generated for it.
#[derive(proscenium::Actor, Default, Debug)]
#[actor(mailbox = 8, name = "tally", remote(Peek))]
pub struct Tally {
    count: u32,
}

/// A public message.
#[derive(proscenium::Message, Debug)]
#[message(reply = u32)]
pub struct Bump;

/// A public message that crosses the wire.
#[derive(proscenium::Message, serde::Serialize, serde::Deserialize, Debug)]
#[message(remote, reply = u32)]
pub struct Peek;

impl proscenium::Handler<Peek> for Tally {
    async fn handle(&mut self, _: Peek, _: &mut proscenium::Context<Self>) -> u32 {
        self.count
    }
}

impl proscenium::Handler<Bump> for Tally {
    async fn handle(&mut self, _: Bump, _: &mut proscenium::Context<Self>) -> u32 {
        self.count += 1;
        self.count
    }
}

#[proscenium::handlers]
impl Tally {
    /// Adds `by`.
    #[handler]
    pub async fn add(&mut self, by: u32) -> u32 {
        self.count += by;
        self.count
    }

    /// Sets the count, from any node.
    #[handler(remote)]
    pub async fn set(&mut self, to: u32) -> u32 {
        std::mem::replace(&mut self.count, to)
    }

    /// The count, and the actor's id.
    #[handler]
    pub async fn read(&mut self, ctx: &mut proscenium::Context<Self>) -> (u32, proscenium::ActorId) {
        (self.count, ctx.id())
    }
}

fn main() {
    let _ = (Add { by: 1 }, Read, Set { to: 2 }, Peek);
}
