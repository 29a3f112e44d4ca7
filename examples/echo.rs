//! A TCP echo server on gmp, written the way a tokio program is: an accept
//! loop that spawns a G per connection, each copying what it reads back.
//!
//! `cargo run --release --example echo [ADDR]` (default `127.0.0.1:7878`),
//! then drive it with `cargo run --release --example echo_client`.
//! `GMP_MAXPROCS=1` runs it on one P.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gmp::net::{TcpListener, TcpStream};

#[gmp::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_string());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!(
        "echo server on {} ({} Ps); Ctrl-C to stop",
        listener.local_addr()?,
        gmp::Handle::current().procs()
    );
    loop {
        let (conn, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors, a connection reset before it was accepted:
            // keep serving the others.
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        gmp::spawn(async move {
            if let Err(e) = echo(conn).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn echo(mut conn: TcpStream) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            return Ok(()); // the client closed its side
        }
        conn.write_all(&buf[..n]).await?;
    }
}
