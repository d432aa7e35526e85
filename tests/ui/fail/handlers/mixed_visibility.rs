use proscenium::prelude::*;

#[derive(Actor)]
pub struct Counter(u64);

#[handlers]
impl Counter {
    #[handler]
    pub async fn add(&mut self, by: u64) {
        self.0 += by;
    }

    #[handler]
    async fn reset(&mut self) {
        self.0 = 0;
    }
}

fn main() {}
