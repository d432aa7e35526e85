use proscenium::prelude::*;

#[derive(Actor)]
struct Log(Vec<String>);

#[handlers]
impl Log {
    #[handler]
    async fn push(&mut self, line: &str) {
        self.0.push(line.to_owned());
    }
}

fn main() {}
