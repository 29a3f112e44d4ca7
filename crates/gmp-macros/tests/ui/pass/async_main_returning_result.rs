//! A real `fn main`: rustc's checks on `main` (no arguments, a `Termination`
//! return type) hold for the expansion, and it runs to completion.

use std::error::Error;

#[gmp::main(procs = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let parsed: u64 = "41".parse()?;
    let answer = gmp::spawn(async move { parsed + 1 }).await?;
    assert_eq!(answer, 42);
    assert_eq!(gmp::Handle::current().procs(), 2);
    Ok(())
}
