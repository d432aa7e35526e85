use proscenium::prelude::*;

#[derive(Actor)]
struct Log(Vec<String>);

#[handlers]
impl Log {
    #[handler]
    async fn push<T: ToString>(&mut self, line: T) {
        self.0.push(line.to_string());
    }
}

fn main() {}
