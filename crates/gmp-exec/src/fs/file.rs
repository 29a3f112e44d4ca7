//! [`File`] and [`OpenOptions`].

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::run;
use crate::coop;

/// An open file (tokio's `fs::File`): [`futures_io::AsyncRead`],
/// [`AsyncWrite`](futures_io::AsyncWrite) and
/// [`AsyncSeek`](futures_io::AsyncSeek), and tokio's three traits with the
/// `tokio-io` feature. Each call is made inline on the M under the
/// `syscall` marker (see the [module docs](super)); nothing is buffered, so
/// `flush` does nothing and a write is done when it returns (wrap the file in
/// a `BufWriter`/`BufReader` for many small calls).
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
///
/// # gmp_exec::block_on(async {
/// let path = std::env::temp_dir().join(format!("gmp-file-doc-{}", std::process::id()));
/// let mut file = gmp_exec::fs::File::create(&path).await?;
/// file.write_all(b"hello, file").await?;
/// let mut file = gmp_exec::fs::OpenOptions::new().read(true).open(&path).await?;
/// file.seek(SeekFrom::Start(7)).await?;
/// let mut tail = String::new();
/// file.read_to_string(&mut tail).await?;
/// assert_eq!(tail, "file");
/// gmp_exec::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct File {
    std: std::fs::File,
    /// tokio's `AsyncSeek` is two calls: `start_seek` keeps its result here
    /// for `poll_complete`.
    #[cfg_attr(not(feature = "tokio-io"), allow(dead_code))]
    seek: Option<io::Result<u64>>,
}

impl File {
    /// Opens a file for reading.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let err = gmp_exec::fs::File::open("/no/such/file").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # });
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        run(|| std::fs::File::open(path)).await.map(File::from_std)
    }

    /// Creates a file for writing, truncating it if it exists.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        run(|| std::fs::File::create(path))
            .await
            .map(File::from_std)
    }

    /// Creates a new file for reading and writing; `AlreadyExists` if there
    /// is one.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        run(|| std::fs::File::create_new(path))
            .await
            .map(File::from_std)
    }

    /// Options to open a file with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps a std file.
    pub fn from_std(std: std::fs::File) -> File {
        File { std, seek: None }
    }

    /// The std file inside.
    pub fn into_std(self) -> std::fs::File {
        self.std
    }

    /// Flushes data and metadata to the device (`fsync`).
    pub async fn sync_all(&self) -> io::Result<()> {
        run(|| self.std.sync_all()).await
    }

    /// Flushes data to the device (`fdatasync`).
    pub async fn sync_data(&self) -> io::Result<()> {
        run(|| self.std.sync_data()).await
    }

    /// Truncates or extends the file to `size` bytes.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        run(|| self.std.set_len(size)).await
    }

    /// The file's metadata.
    pub async fn metadata(&self) -> io::Result<std::fs::Metadata> {
        run(|| self.std.metadata()).await
    }

    /// A second handle to the same open file (a `dup`: they share the
    /// cursor).
    pub async fn try_clone(&self) -> io::Result<File> {
        run(|| self.std.try_clone()).await.map(File::from_std)
    }

    /// Sets the file's permissions.
    pub async fn set_permissions(&self, perm: std::fs::Permissions) -> io::Result<()> {
        run(|| self.std.set_permissions(perm)).await
    }

    /// One budget unit, then the call inline under the `syscall` marker.
    fn call<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut std::fs::File) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(crate::syscall(|| f(&mut self.std)))
    }
}

impl futures_io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().call(cx, |f| f.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().call(cx, |f| f.read_vectored(bufs))
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().call(cx, |f| f.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().call(cx, |f| f.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl futures_io::AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().call(cx, |f| f.seek(pos))
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(self
            .get_mut()
            .call(cx, |f| f.read(buf.initialize_unfilled())))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().call(cx, |f| f.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().call(cx, |f| f.write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        this.seek = Some(crate::syscall(|| this.std.seek(pos)));
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        match this.seek.take() {
            Some(result) => Poll::Ready(result),
            // No seek started: tokio's contract is the current position.
            None => Poll::Ready(crate::syscall(|| this.std.stream_position())),
        }
    }
}

#[cfg(unix)]
impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.std.as_fd()
    }
}

#[cfg(unix)]
impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.std.as_raw_fd()
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("std", &self.std).finish()
    }
}

/// How to open a file (std's [`OpenOptions`](std::fs::OpenOptions), with an
/// async [`open`](Self::open); tokio's `fs::OpenOptions`).
///
/// ```
/// # gmp_exec::block_on(async {
/// let path = std::env::temp_dir().join(format!("gmp-append-{}", std::process::id()));
/// gmp_exec::fs::write(&path, "a").await?;
/// let mut file = gmp_exec::fs::OpenOptions::new().append(true).open(&path).await?;
/// futures::io::AsyncWriteExt::write_all(&mut file, b"b").await?;
/// assert_eq!(gmp_exec::fs::read_to_string(&path).await?, "ab");
/// gmp_exec::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// All options off.
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Writes go to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncate the file to 0 bytes.
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist.
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits of a created file (before the umask; Unix).
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra `open(2)` flags (`O_DIRECT`, `O_NOFOLLOW`...; Unix).
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self
    }

    /// Opens `path` with these options.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        run(|| self.0.open(path)).await.map(File::from_std)
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(std: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(std)
    }
}
