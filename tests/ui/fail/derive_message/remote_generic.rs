use proscenium::Message;
use serde::{Deserialize, Serialize};

#[derive(Message, Serialize, Deserialize)]
#[message(remote)]
struct Put<T>(T);

fn main() {}
