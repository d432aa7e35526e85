use proscenium::Actor;

#[derive(Actor)]
#[actor(unbounded = true)]
struct Worker;

fn main() {}
