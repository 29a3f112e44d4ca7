//! Drives the `echo` example: N connections (default 64), each doing M round
//! trips (default 10 000) of a 64-byte message and checking every byte, then
//! prints round trips per second.
//!
//! `cargo run --release --example echo_client [ADDR] [CONNECTIONS] [ROUND_TRIPS]`
//! (default `127.0.0.1:7878 64 10000`), with the server from
//! `cargo run --release --example echo` running.

use std::time::Instant;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gmp::net::TcpStream;

#[gmp::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7878".to_string());
    let conns: usize = number(args.next(), 64, "CONNECTIONS");
    let round_trips: usize = number(args.next(), 10_000, "ROUND_TRIPS");

    let start = Instant::now();
    let clients: Vec<_> = (0..conns)
        .map(|c| {
            let addr = addr.clone();
            gmp::spawn(async move {
                let mut conn = TcpStream::connect(addr.as_str()).await?;
                conn.set_nodelay(true)?;
                let mut msg = [0u8; 64];
                let mut back = [0u8; 64];
                for i in 0..round_trips {
                    msg[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    msg[8..16].copy_from_slice(&(c as u64).to_le_bytes());
                    conn.write_all(&msg).await?;
                    conn.read_exact(&mut back).await?;
                    if back != msg {
                        return Err(std::io::Error::other(format!(
                            "connection {c}, round trip {i}: the echo differs"
                        )));
                    }
                }
                std::io::Result::Ok(())
            })
        })
        .collect();
    for client in clients {
        client.await??;
    }
    let elapsed = start.elapsed();
    let total = conns * round_trips;
    println!(
        "{total} round trips over {conns} connections in {elapsed:.2?}: {:.0} round trips/s",
        total as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn number(arg: Option<String>, default: usize, name: &str) -> usize {
    match arg {
        None => default,
        Some(a) => a
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a positive number, not {a:?}")),
    }
}
