use proscenium::prelude::*;

#[derive(Actor)]
struct Counter(u64);

trait Reset {
    fn reset(&mut self);
}

#[handlers]
impl Reset for Counter {
    fn reset(&mut self) {
        self.0 = 0;
    }
}

fn main() {}
