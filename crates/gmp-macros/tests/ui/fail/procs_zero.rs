#[gmp::test(procs = 0)]
async fn no_ps() {}

#[gmp::main(worker_threads = 0)]
async fn main() {}
