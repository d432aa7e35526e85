use proscenium::Actor;

#[derive(Actor)]
#[actor(name = "one")]
#[actor(name = "two")]
struct Worker;

fn main() {}
