use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

#[handlers]
impl Counter {
    #[handler]
    async fn add(&mut self, _ctx: &mut Context<Self>, by: u64) {
        self.0 += by;
    }
}

fn main() {}
