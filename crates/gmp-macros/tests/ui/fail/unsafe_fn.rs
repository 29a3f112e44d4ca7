#[gmp::main]
async unsafe fn main() {}
