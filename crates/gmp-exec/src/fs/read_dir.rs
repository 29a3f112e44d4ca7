//! [`read_dir`]: a directory's entries as a stream.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::run;
use crate::coop;

/// The entries of a directory (tokio's `fs::read_dir`): take them with
/// [`ReadDir::next_entry`], or as a [`Stream`](futures_core::Stream).
///
/// ```
/// # gmp_exec::block_on(async {
/// let dir = std::env::temp_dir().join(format!("gmp-ls-{}", std::process::id()));
/// gmp_exec::fs::create_dir_all(&dir).await?;
/// for name in ["a", "b", "c"] {
///     gmp_exec::fs::write(dir.join(name), name).await?;
/// }
/// let mut entries = gmp_exec::fs::read_dir(&dir).await?;
/// let mut names = Vec::new();
/// while let Some(entry) = entries.next_entry().await? {
///     names.push(entry.file_name().into_string().unwrap());
/// }
/// names.sort();
/// assert_eq!(names, ["a", "b", "c"]);
/// gmp_exec::fs::remove_dir_all(&dir).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref();
    run(|| std::fs::read_dir(path)).await.map(ReadDir)
}

/// A directory being read; see [`read_dir`].
pub struct ReadDir(std::fs::ReadDir);

impl ReadDir {
    /// The next entry, or `None` at the end.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        std::future::poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry (see [`next_entry`](Self::next_entry)).
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(crate::syscall(|| {
            self.0.next().transpose().map(|e| e.map(DirEntry))
        }))
    }
}

impl futures_core::Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(Result::transpose)
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An entry of a directory being read.
pub struct DirEntry(std::fs::DirEntry);

impl DirEntry {
    /// The entry's full path (the directory's path joined with its name).
    pub fn path(&self) -> PathBuf {
        self.0.path()
    }

    /// The entry's name.
    pub fn file_name(&self) -> OsString {
        self.0.file_name()
    }

    /// The entry's inode number (Unix).
    #[cfg(unix)]
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&self.0)
    }

    /// The entry's metadata (not following a symbolic link).
    pub async fn metadata(&self) -> io::Result<std::fs::Metadata> {
        run(|| self.0.metadata()).await
    }

    /// The entry's type (usually known from the directory listing itself,
    /// without a `stat`).
    pub async fn file_type(&self) -> io::Result<std::fs::FileType> {
        run(|| self.0.file_type()).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
