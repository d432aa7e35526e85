use proscenium::Actor;

#[derive(Actor)]
enum Machine {
    Idle,
    Busy,
}

fn main() {}
