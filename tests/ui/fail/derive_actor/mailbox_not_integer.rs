use proscenium::Actor;

#[derive(Actor)]
#[actor(mailbox = "256")]
struct Worker;

fn main() {}
