use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

#[handlers(trait_name = CounterExt)]
impl Counter {
    #[handler(name = Plus)]
    async fn add(&mut self, by: u64) {
        self.0 += by;
    }
}

fn main() {}
