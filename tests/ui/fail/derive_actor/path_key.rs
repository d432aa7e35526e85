use proscenium::Actor;

#[derive(Actor)]
#[actor(mailbox::size = 8)]
struct Worker;

fn main() {}
