use proscenium::prelude::*;

#[derive(Actor)]
struct Point(i32, i32);

#[handlers]
impl Point {
    #[handler]
    async fn move_by(&mut self, (dx, dy): (i32, i32)) {
        self.0 += dx;
        self.1 += dy;
    }
}

fn main() {}
