//! Files and directories (tokio's `tokio::fs`): [`read`], [`write`](fn@write),
//! [`read_to_string`], [`metadata`], [`read_dir`], [`File`] with async
//! read, write and seek, and the rest of the everyday surface.
//!
//! ```
//! # gmp_exec::block_on(async {
//! let dir = std::env::temp_dir().join(format!("gmp-fs-doc-{}", std::process::id()));
//! gmp_exec::fs::create_dir_all(&dir).await?;
//! let path = dir.join("hello.txt");
//! gmp_exec::fs::write(&path, "hello, gmp").await?;
//! assert_eq!(gmp_exec::fs::read_to_string(&path).await?, "hello, gmp");
//! gmp_exec::fs::remove_dir_all(&dir).await?;
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! # Where the system call runs
//!
//! Regular files have no readiness: `epoll` refuses them, and a read of a
//! cached page simply returns. So a file operation is a blocking system call
//! that usually returns at once — and occasionally waits for a disk. There
//! are two ways to make one from a G:
//!
//! * **the blocking pool** (tokio's way): send the call to another thread
//!   and park the G until it is done — a hand-off, a thread wake-up and a G
//!   wake-up per call, even when the page is in the cache;
//! * **the `syscall` marker** (Go's way, [`crate::syscall`]): make the call
//!   inline on the M, which keeps its P; only if the call outlasts one of
//!   sysmon's looks (20 µs to 10 ms) does sysmon hand the P to another M, so
//!   the other Gs of that P run on while this M waits for the disk.
//!
//! gmp uses the second, by measurement: `cargo bench -p gmp-benches --bench
//! fs` runs both paths interleaved (A then B, B then A), three rounds, and
//! prints each one's median per operation. On the 2-core development machine
//! (shared: load average 5 to 6 while it ran; warm page cache; procs = 2),
//! the last of three runs, and the ratio's range over the three:
//!
//! | workload (per operation) | blocking pool | `syscall` | pool / syscall | range, 3 runs |
//! | --- | --- | --- | --- | --- |
//! | small read (4 KiB), one G | 22.2 µs | 7.0 µs | 3.2× | 2.0× – 3.2× |
//! | large read (16 MiB), one G | 1.92 ms | 2.92 ms | 0.66× | 0.66× – 1.46× |
//! | many files (write + stat + read + remove), per file | 200 µs | 99 µs | 2.0× | 2.0× – 2.4× |
//! | 8 Gs × small read, per read | 7.9 µs | 7.9 µs | 1.0× | 1.0× – 1.9× |
//!
//! Small calls, which are most calls, cost half or less inline: the
//! hand-off to a pool thread and the wake-up back are the larger part of
//! them. Large reads are a wash within the noise (the copy dominates, and
//! an inline read that long is retaken by sysmon anyway), so one path
//! serves every operation.
//!
//! The price is Go's: a call that truly blocks (a cold disk, a FIFO with
//! no writer, a stalled network file system) holds its M until it returns
//! (not its P: sysmon retakes that), so many such calls at once mean as many
//! threads, up to the runtime's `max_threads`. Each operation also spends
//! one unit of the G's cooperative budget, so a loop of file calls still
//! lets the other Gs of its P run.
//!
//! In a coroutine G the same functions work through `coro::wait`, or call
//! `std::fs` directly: it runs on the M the same way (without the marker,
//! sysmon cannot tell a slow call from a busy G, and does not retake the P).

mod file;
mod read_dir;

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

pub use file::{File, OpenOptions};
pub use read_dir::{read_dir, DirEntry, ReadDir};

/// A blocking file-system call as a future: at its first poll it spends a
/// unit of the G's budget, then makes the call inline under the `syscall`
/// marker (see the module docs).
pub(crate) struct Inline<F>(Option<F>);

impl<F> Unpin for Inline<F> {}

impl<F: FnOnce() -> R, R> Future for Inline<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        std::task::ready!(crate::coop::poll_proceed(cx));
        let f = self.0.take().expect("a file-system call is made once");
        Poll::Ready(crate::syscall(f))
    }
}

/// Makes the blocking call `f` the way this module does (module docs).
pub(crate) fn run<F: FnOnce() -> R, R>(f: F) -> Inline<F> {
    Inline(Some(f))
}

/// Reads a whole file (std's [`fs::read`](std::fs::read)).
///
/// ```
/// # gmp_exec::block_on(async {
/// let bytes = gmp_exec::fs::read("Cargo.toml").await?; // doctests run in the crate
/// assert!(bytes.starts_with(b"[package]"));
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    run(|| std::fs::read(path)).await
}

/// Reads a whole file as UTF-8 (`InvalidData` if it is not).
///
/// ```
/// # gmp_exec::block_on(async {
/// let manifest = gmp_exec::fs::read_to_string("Cargo.toml").await?;
/// assert!(manifest.contains("name = \"gmp-exec\""));
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref();
    run(|| std::fs::read_to_string(path)).await
}

/// Writes `contents` as the whole file, creating or truncating it.
///
/// ```
/// # gmp_exec::block_on(async {
/// let path = std::env::temp_dir().join(format!("gmp-write-{}", std::process::id()));
/// gmp_exec::fs::write(&path, b"bytes").await?;
/// assert_eq!(gmp_exec::fs::read(&path).await?, b"bytes");
/// gmp_exec::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let (path, contents) = (path.as_ref(), contents.as_ref());
    run(|| std::fs::write(path, contents)).await
}

/// Creates a directory (its parent must exist).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    run(|| std::fs::create_dir(path)).await
}

/// Creates a directory and every missing parent.
///
/// ```
/// # gmp_exec::block_on(async {
/// let base = std::env::temp_dir().join(format!("gmp-mkdir-{}", std::process::id()));
/// gmp_exec::fs::create_dir_all(base.join("a/b/c")).await?;
/// assert!(gmp_exec::fs::metadata(base.join("a/b/c")).await?.is_dir());
/// gmp_exec::fs::remove_dir_all(&base).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    run(|| std::fs::create_dir_all(path)).await
}

/// Removes an empty directory.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    run(|| std::fs::remove_dir(path)).await
}

/// Removes a directory and everything in it.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    run(|| std::fs::remove_dir_all(path)).await
}

/// Removes a file (`NotFound` if there is none).
///
/// ```
/// # gmp_exec::block_on(async {
/// let err = gmp_exec::fs::remove_file("/no/such/file").await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// # });
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    run(|| std::fs::remove_file(path)).await
}

/// Renames a file or directory, replacing `to` if it exists (a file).
///
/// ```
/// # gmp_exec::block_on(async {
/// let dir = std::env::temp_dir();
/// let (a, b) = (dir.join(format!("gmp-mv-a-{}", std::process::id())), dir.join(format!("gmp-mv-b-{}", std::process::id())));
/// gmp_exec::fs::write(&a, "x").await?;
/// gmp_exec::fs::rename(&a, &b).await?;
/// assert!(!gmp_exec::fs::try_exists(&a).await?);
/// gmp_exec::fs::remove_file(&b).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    run(|| std::fs::rename(from, to)).await
}

/// Copies a file's contents and permissions; returns the bytes copied.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref(), to.as_ref());
    run(|| std::fs::copy(from, to)).await
}

/// Creates a hard link `link` to `original`.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref(), link.as_ref());
    run(|| std::fs::hard_link(original, link)).await
}

/// Creates a symbolic link `link` pointing at `original` (Unix).
#[cfg(unix)]
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref(), link.as_ref());
    run(|| std::os::unix::fs::symlink(original, link)).await
}

/// A path's metadata, following symbolic links.
///
/// ```
/// # gmp_exec::block_on(async {
/// assert!(gmp_exec::fs::metadata("/").await?.is_dir());
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    let path = path.as_ref();
    run(|| std::fs::metadata(path)).await
}

/// A path's metadata, not following a final symbolic link.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    let path = path.as_ref();
    run(|| std::fs::symlink_metadata(path)).await
}

/// The absolute path with every symbolic link resolved.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref();
    run(|| std::fs::canonicalize(path)).await
}

/// Where a symbolic link points.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref();
    run(|| std::fs::read_link(path)).await
}

/// Sets a path's permissions.
pub async fn set_permissions(path: impl AsRef<Path>, perm: std::fs::Permissions) -> io::Result<()> {
    let path = path.as_ref();
    run(|| std::fs::set_permissions(path, perm)).await
}

/// Whether the path exists (`Ok(false)` for a broken symbolic link; an
/// error if it cannot be told, say for want of permission).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref();
    run(|| path.try_exists()).await
}
