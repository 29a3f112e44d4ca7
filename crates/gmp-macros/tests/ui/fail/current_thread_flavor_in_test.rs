#[gmp::test(flavor = "current_thread", worker_threads = 1)]
async fn ported_from_tokio() {}

fn main() {}
