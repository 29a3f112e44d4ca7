#[gmp::main(shutdown_timeout = 5)]
async fn main() {}
