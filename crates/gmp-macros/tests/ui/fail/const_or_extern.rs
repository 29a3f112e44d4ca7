#[gmp::test]
const async fn constant() {}

#[gmp::test]
async extern "C" fn foreign() {}

fn main() {}
