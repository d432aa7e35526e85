use proscenium::prelude::*;

#[derive(Message)]
struct Local;

#[derive(Actor)]
#[actor(remote(Local))]
struct Worker;

impl Handler<Local> for Worker {
    async fn handle(&mut self, _: Local, _: &mut Context<Self>) {}
}

fn main() {}
