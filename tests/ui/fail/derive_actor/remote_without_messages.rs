use proscenium::Actor;

#[derive(Actor)]
#[actor(remote)]
struct Empty;

fn main() {}
