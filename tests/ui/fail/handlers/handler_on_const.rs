use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

#[handlers]
impl Counter {
    #[handler]
    const LIMIT: u64 = 10;

    #[handler]
    async fn add(&mut self, by: u64) {
        self.0 = (self.0 + by).min(Self::LIMIT);
    }
}

fn main() {}
