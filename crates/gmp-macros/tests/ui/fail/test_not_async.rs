#[gmp::test]
fn plain() {}

fn main() {}
