use proscenium::prelude::*;

#[derive(Actor)]
struct Machine;

#[handlers]
impl Machine {
    #[handler]
    async fn stop(&mut self) {}
}

fn main() {}
