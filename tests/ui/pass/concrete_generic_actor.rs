//! `#[handlers]` on an impl block for one instance of a generic actor.
#![deny(warnings)]

use proscenium::prelude::*;

#[derive(Actor)]
struct Stack<T>(Vec<T>);

#[handlers]
impl Stack<u8> {
    #[handler]
    async fn push(&mut self, byte: u8) -> usize {
        self.0.push(byte);
        self.0.len()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let stack = System::new().spawn(Stack(vec![1u8])).unwrap();
    assert_eq!(stack.push(2).await.unwrap(), 2);
    assert_eq!(stack.ask(Push { byte: 3 }).await.unwrap(), 3);
}
