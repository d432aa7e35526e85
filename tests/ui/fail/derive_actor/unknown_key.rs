use proscenium::Actor;

#[derive(Actor)]
#[actor(capacity = 8)]
struct Worker;

fn main() {}
