// gmp is built here without its `tokio-compat` feature.
#[gmp::main(tokio_compat = true)]
async fn main() {}
