use proscenium::Actor;

#[derive(Actor)]
#[actor(name = worker)]
struct Worker;

fn main() {}
