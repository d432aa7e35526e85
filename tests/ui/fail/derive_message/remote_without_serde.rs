use proscenium::Message;

#[derive(Message)]
#[message(remote, reply = u64)]
struct Get;

fn main() {}
