#[gmp::main(procs = 0, flavor = "current_thread", colour = "blue")]
async fn main() {}
