use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

#[handlers]
impl Counter {
    #[handler]
    async fn zero() -> u64 {
        0
    }
}

fn main() {}
