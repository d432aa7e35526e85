use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

#[handlers]
impl Counter {
    async fn add(&mut self, by: u64) {
        self.0 += by;
    }
}

fn main() {}
