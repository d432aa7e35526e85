use proscenium::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Message, Serialize, Deserialize)]
#[message(remote)]
struct Ping;

#[derive(Actor)]
#[actor(remote(Ping))]
struct Worker;

fn main() {}
