use proscenium::Actor;

#[derive(Actor)]
#[actor(mailbox = 0)]
struct Worker;

fn main() {}
