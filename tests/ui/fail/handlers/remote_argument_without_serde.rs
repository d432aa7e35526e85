use proscenium::prelude::*;

struct Amount(u64);

#[derive(Actor)]
struct Account(u64);

#[handlers]
impl Account {
    #[handler(remote)]
    async fn deposit(&mut self, amount: Amount) {
        self.0 += amount.0;
    }
}

fn main() {}
