use proscenium::prelude::*;

#[derive(Actor)]
struct Log(Vec<String>);

#[handlers]
impl Log {
    #[handler]
    async fn lines(&mut self) -> impl Iterator<Item = String> {
        self.0.clone().into_iter()
    }
}

fn main() {}
