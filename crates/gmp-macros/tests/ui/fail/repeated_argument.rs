#[gmp::test(procs = 2, procs = 3)]
async fn procs_twice() {}

#[gmp::test(procs = 2, worker_threads = 2)]
async fn procs_and_worker_threads() {}

#[gmp::test(crate = "::gmp", crate = "::gmp")]
async fn crate_twice() {}

fn main() {}
