use proscenium::Message;
use serde::{Deserialize, Serialize};

struct Total(u64);

#[derive(Message, Serialize, Deserialize)]
#[message(remote, reply = Total)]
struct Get;

fn main() {}
