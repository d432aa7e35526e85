use proscenium::prelude::*;

#[derive(Actor)]
struct Account(u64);

#[handlers(remote = "bank.Account")]
impl Account {
    #[handler]
    async fn total(&mut self) -> u64 {
        self.0
    }
}

fn main() {}
