use proscenium::Actor;

#[derive(Actor)]
#[actor(mailbox)]
struct Worker;

fn main() {}
