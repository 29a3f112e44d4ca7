//! tokio's `AsyncRead`/`AsyncWrite` on gmp's streams and their halves (the
//! `tokio-io` feature): `cargo test -p gmp-exec --features tokio-io --test tokio_io`.
//!
//! tokio's `AsyncReadExt`/`AsyncWriteExt` need its `io-util` feature, which
//! this crate does not pull in for one test: the round trips below drive the
//! traits' poll methods by hand, as those helpers do.
#![cfg(all(unix, not(loom), feature = "tokio-io"))]

use std::future::poll_fn;
use std::io;
use std::pin::Pin;

use gmp_exec::net::{TcpListener, TcpStream, UnixStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    poll_fn(|cx| Pin::new(&mut *w).poll_flush(cx)).await
}

async fn read_exact<R: AsyncRead + Unpin>(r: &mut R, out: &mut [u8]) -> io::Result<()> {
    let mut buf = ReadBuf::new(out);
    while buf.remaining() > 0 {
        let before = buf.filled().len();
        poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf)).await?;
        if buf.filled().len() == before {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

/// Reads until end of file; returns what came.
async fn read_to_end<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        let mut buf = ReadBuf::new(&mut chunk);
        poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf)).await?;
        if buf.filled().is_empty() {
            return Ok(out);
        }
        out.extend_from_slice(buf.filled());
    }
}

async fn shutdown<W: AsyncWrite + Unpin>(w: &mut W) -> io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *w).poll_shutdown(cx)).await
}

#[test]
fn tcp_streams_and_halves_round_trip_through_tokios_traits() {
    let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (mut server, _) = listener.accept().await?;

        // Owned streams.
        write_all(&mut client, b"tokio says hi").await?;
        let mut buf = [0u8; 13];
        read_exact(&mut server, &mut buf).await?;
        assert_eq!(&buf, b"tokio says hi");
        assert!(AsyncWrite::is_write_vectored(&client));

        // Shared references.
        write_all(&mut &server, b"by ref").await?;
        let mut buf = [0u8; 6];
        read_exact(&mut &client, &mut buf).await?;
        assert_eq!(&buf, b"by ref");

        // Owned halves in two tasks, then borrowed halves.
        let (mut reader, mut writer) = client.into_split();
        let writing = gmp_exec::spawn(async move {
            for i in 0..100u32 {
                write_all(&mut writer, &i.to_le_bytes()).await?;
            }
            io::Result::Ok(writer)
        });
        let (mut sr, mut sw) = TcpStream::split(&mut server);
        for i in 0..100u32 {
            let mut word = [0u8; 4];
            read_exact(&mut sr, &mut word).await?;
            assert_eq!(u32::from_le_bytes(word), i);
            write_all(&mut sw, &word).await?;
        }
        for i in 0..100u32 {
            let mut word = [0u8; 4];
            read_exact(&mut reader, &mut word).await?;
            assert_eq!(u32::from_le_bytes(word), i);
        }
        let mut writer = writing.await??;
        // Shutdown ends the stream for the peer.
        shutdown(&mut writer).await?;
        assert!(read_to_end(&mut server).await?.is_empty());
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn unix_streams_round_trip_through_tokios_traits() {
    gmp_exec::block_on(async {
        let (a, mut b) = UnixStream::pair()?;
        let (mut ar, mut aw) = a.into_split();
        write_all(&mut aw, b"unix").await?;
        drop(aw);
        assert_eq!(read_to_end(&mut b).await?, b"unix");
        write_all(&mut b, b"back").await?;
        let mut buf = [0u8; 4];
        read_exact(&mut ar, &mut buf).await?;
        assert_eq!(&buf, b"back");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_childs_pipes_implement_tokios_traits() {
    use std::process::Stdio;
    gmp_exec::block_on(async {
        let mut child = gmp_exec::process::Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        write_all(&mut stdin, b"through cat").await?;
        drop(stdin);
        let mut buf = [0; 11];
        read_exact(&mut stdout, &mut buf).await?;
        assert_eq!(&buf, b"through cat");
        assert!(child.wait().await?.success());
        io::Result::Ok(())
    })
    .unwrap();
}
