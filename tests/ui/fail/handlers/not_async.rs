use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

#[handlers]
impl Counter {
    #[handler]
    fn add(&mut self, by: u64) -> u64 {
        self.0 += by;
        self.0
    }
}

fn main() {}
