#[gmp::test(crate = "not a path")]
async fn spaces() {}

#[gmp::test(crate = gmp)]
async fn unquoted() {}

fn main() {}
