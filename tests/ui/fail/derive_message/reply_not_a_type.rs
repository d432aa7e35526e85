use proscenium::Message;

#[derive(Message)]
#[message(reply = 42)]
struct Get;

fn main() {}
