use proscenium::prelude::*;

#[derive(Actor)]
struct Stack<T>(Vec<T>);

#[handlers]
impl<T: Send + 'static> Stack<T> {
    #[handler]
    async fn len(&mut self) -> usize {
        self.0.len()
    }
}

fn main() {}
