// Every mistake is reported in one go, each at its own place.
use proscenium::Actor;

#[derive(Actor)]
#[actor(mailbox = "big", colour = "red", name = 7)]
enum Machine {
    Idle,
}

fn main() {
    // The stand-in impl keeps this from adding errors of its own.
    let _ = proscenium::System::new().spawn(Machine::Idle);
}
