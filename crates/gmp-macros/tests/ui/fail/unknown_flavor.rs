#[gmp::main(flavor = "local")]
async fn main() {}
