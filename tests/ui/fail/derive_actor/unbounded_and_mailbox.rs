use proscenium::Actor;

#[derive(Actor)]
#[actor(mailbox = 16, unbounded)]
struct Worker;

fn main() {}
