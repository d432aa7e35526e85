use proscenium::prelude::*;

#[derive(Actor)]
struct Log(Vec<String>);

#[handlers]
impl Log {
    #[handler]
    async fn push(&mut self, line: impl ToString) {
        self.0.push(line.to_string());
    }
}

fn main() {}
