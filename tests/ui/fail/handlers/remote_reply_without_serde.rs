use proscenium::prelude::*;

struct Summary(u64);

#[derive(Actor)]
struct Account(u64);

#[handlers(remote)]
impl Account {
    #[handler]
    async fn total(&mut self) -> Summary {
        Summary(self.0)
    }
}

fn main() {}
