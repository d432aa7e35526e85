use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

#[handlers]
impl [Counter] {
    #[handler]
    async fn reset(&mut self) {
        self.0 = 0;
    }
}

fn main() {}
