use proscenium::Message;

#[derive(Message)]
#[message(response = u64)]
struct Get;

fn main() {}
