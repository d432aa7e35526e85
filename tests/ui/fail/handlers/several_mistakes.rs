// Every mistake in the block is reported in one go.
use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

#[handlers]
impl Counter {
    #[handler]
    fn add(self, by: &u64) {
        let _ = by;
    }

    #[handler]
    async fn kill(&mut self) {}
}

fn main() {
    // The impl block is still emitted, so its methods resolve.
    let _ = Counter::add;
}
