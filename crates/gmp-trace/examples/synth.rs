//! Writes a synthetic gmp trace to stdout, for trying the viewer and sizing it.
//!
//! `cargo run --release -p gmp-trace --example synth -- [events] [procs] [seed] > trace.json`
//! (defaults: 20000 events, 4 Ps, the fixed seed).

use std::io;

fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str, default: T) -> T {
    match args.get(i) {
        None => default,
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("synth: {name} must be a number, got {text:?}");
            std::process::exit(2)
        }),
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let events = arg(&args, 0, "events", 20_000usize);
    let procs = arg(&args, 1, "procs", 4usize);
    let mut synth = gmp_trace::synth::Synth::new(procs, events);
    if args.len() > 2 {
        synth = synth.seed(arg(&args, 2, "seed", 0u64));
    }
    let written = synth.write(io::stdout().lock())?;
    eprintln!("synth: {written} events, {procs} Ps");
    Ok(())
}
