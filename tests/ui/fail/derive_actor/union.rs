use proscenium::Actor;

#[derive(Actor)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
