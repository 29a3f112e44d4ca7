const PROCS: usize = 4;

#[gmp::test(procs = PROCS)]
async fn a_constant() {}

#[gmp::test(procs = "4")]
async fn a_string() {}

#[gmp::test(procs = 4u8)]
async fn a_u8() {}

#[gmp::test(procs = -1)]
async fn negative() {}

fn main() {}
