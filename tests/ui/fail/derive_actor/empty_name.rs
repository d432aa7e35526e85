use proscenium::Actor;

#[derive(Actor)]
#[actor(name = "")]
struct Worker;

fn main() {}
