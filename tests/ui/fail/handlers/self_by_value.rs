use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

#[handlers]
impl Counter {
    #[handler]
    async fn take(self) -> u64 {
        self.0
    }
}

fn main() {}
