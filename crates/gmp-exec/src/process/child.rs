//! [`Child`]: a running process, and how its exit reaches a G.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

use super::pipe::{poll_read_to_end, ChildStderr, ChildStdin, ChildStdout};
use crate::signal::{signal, Signal, SignalKind};
use crate::Handle;

/// What a `wait` parks on until the child may have exited.
pub(crate) enum Exit {
    /// Linux: a pidfd, readable once the process has exited.
    #[cfg(target_os = "linux")]
    Pidfd(crate::io::AsyncFd<std::os::fd::OwnedFd>),
    /// Elsewhere (and on kernels before 5.3): `SIGCHLD`, after which every
    /// waiting child checks itself with `waitpid(WNOHANG)`.
    Sigchld(Signal),
}

impl Exit {
    /// Sets up the wait for the child `pid` (not yet reaped, so the pid is
    /// still its own).
    pub(crate) fn new(pid: u32) -> io::Result<Exit> {
        #[cfg(target_os = "linux")]
        if let Some(fd) = pidfd::open(pid)? {
            return Ok(Exit::Pidfd(crate::io::AsyncFd::with_interest(
                fd,
                crate::io::Interest::READABLE,
            )?));
        }
        let _ = pid;
        // Registered before the first `try_wait`: a SIGCHLD that came
        // earlier is made up for by that check, and a later one is heard.
        Ok(Exit::Sigchld(signal(SignalKind::child())?))
    }

    /// `Ready` when the child may have changed state (check it), `Pending`
    /// with the task's waker recorded otherwise.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            #[cfg(target_os = "linux")]
            Exit::Pidfd(fd) => match fd.poll_read_ready(cx) {
                Poll::Ready(Ok(mut guard)) => {
                    // A pidfd stays readable once the process has exited;
                    // clearing only makes a spurious wake wait again.
                    guard.clear_ready();
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
            Exit::Sigchld(sig) => match sig.poll_recv(cx) {
                Poll::Ready(Some(())) => Poll::Ready(Ok(())),
                Poll::Ready(None) => Poll::Ready(Err(io::Error::other(
                    "the gmp runtime that was to deliver SIGCHLD has shut down",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(target_os = "linux")]
mod pidfd {
    use std::io;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

    /// Set once `pidfd_open` turned out missing (`ENOSYS`, Linux before
    /// 5.3) or refused (`EPERM` under some seccomp filters), or when the
    /// environment asks for the portable path (`GMP_NO_PIDFD=1`, which the
    /// tests use to exercise it on Linux).
    static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

    /// A pidfd for `pid`, or `None` where pidfds are not to be had.
    pub(super) fn open(pid: u32) -> io::Result<Option<OwnedFd>> {
        static CHECKED_ENV: std::sync::Once = std::sync::Once::new();
        CHECKED_ENV.call_once(|| {
            if std::env::var_os("GMP_NO_PIDFD").is_some_and(|v| v == "1") {
                UNAVAILABLE.store(true, Relaxed);
            }
        });
        // Relaxed: a hint; a thread that misses it makes one failing call.
        if UNAVAILABLE.load(Relaxed) {
            return Ok(None);
        }
        // SAFETY: `pidfd_open(pid, flags)` takes no pointers; a non-negative
        // result is a new descriptor nobody else owns. It is close-on-exec
        // by definition.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOSYS) | Some(libc::EPERM) => {
                    UNAVAILABLE.store(true, Relaxed);
                    Ok(None)
                }
                _ => Err(e),
            };
        }
        // SAFETY: see above; the descriptor is ours.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
        // A pidfd is pollable but not nonblocking by default; nothing reads
        // from it, so its mode does not matter.
        Ok(Some(fd))
    }
}

/// A child process spawned by [`Command::spawn`](super::Command::spawn)
/// (tokio's `process::Child`).
///
/// Its piped streams are in the public fields, to take and use
/// concurrently with [`wait`](Self::wait). Dropping a `Child` does not kill
/// the process (unless [`kill_on_drop`](super::Command::kill_on_drop) was
/// set); it is reaped in the background once it exits, so it never lingers
/// as a zombie.
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use gmp_exec::process::Command;
/// use std::process::Stdio;
///
/// # gmp_exec::block_on(async {
/// let mut child = Command::new("tr")
///     .arg("a-z")
///     .arg("A-Z")
///     .stdin(Stdio::piped())
///     .stdout(Stdio::piped())
///     .spawn()?;
/// let mut stdin = child.stdin.take().unwrap();
/// stdin.write_all(b"hello").await?;
/// drop(stdin); // end of file for tr
/// let mut out = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut out).await?;
/// assert_eq!(out, "HELLO");
/// assert!(child.wait().await?.success());
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct Child {
    /// The child's standard input, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// `None` once moved into the background reaper (in `drop`).
    std: Option<std::process::Child>,
    /// The status, once reaped.
    status: Option<ExitStatus>,
    exit: Option<Exit>,
    kill_on_drop: bool,
    /// The runtime that reaps the child in the background if it is dropped
    /// before its exit was seen.
    handle: Handle,
}

impl Child {
    pub(crate) fn new(mut std: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        // Taken before anything can fail, so a failure below drops them.
        let stdin = std.stdin.take();
        let stdout = std.stdout.take();
        let stderr = std.stderr.take();
        let make = |std: &mut std::process::Child| -> io::Result<Child> {
            Ok(Child {
                stdin: stdin.map(ChildStdin::from_std).transpose()?,
                stdout: stdout.map(ChildStdout::from_std).transpose()?,
                stderr: stderr.map(ChildStderr::from_std).transpose()?,
                exit: Some(Exit::new(std.id())?),
                std: None,
                status: None,
                kill_on_drop,
                handle: Handle::current(),
            })
        };
        match make(&mut std) {
            Ok(mut child) => {
                child.std = Some(std);
                Ok(child)
            }
            Err(e) => {
                // No zombie: the child is killed and reaped before the error
                // is reported (it cannot be waited for without the above).
                let _ = std.kill();
                let _ = std.wait();
                Err(e)
            }
        }
    }

    /// The OS process id, or `None` once the child has been reaped (the id
    /// may then belong to another process).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut child = gmp_exec::process::Command::new("true").spawn()?;
    /// assert!(child.id().is_some());
    /// child.wait().await?;
    /// assert_eq!(child.id(), None);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn id(&self) -> Option<u32> {
        match (&self.std, self.status) {
            (Some(std), None) => Some(std.id()),
            _ => None,
        }
    }

    fn std(&mut self) -> &mut std::process::Child {
        self.std
            .as_mut()
            .expect("the std child is only taken in drop")
    }

    /// The exit status if the child has exited, without waiting (reaping it
    /// if so).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut child = gmp_exec::process::Command::new("sleep").arg("10").spawn()?;
    /// assert!(child.try_wait()?.is_none());
    /// child.kill().await?;
    /// assert!(child.try_wait()?.is_some());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let status = self.std().try_wait()?;
        self.status = status;
        Ok(status)
    }

    /// Polls for the exit (see [`wait`](Self::wait)).
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(status) = self.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            let exit = self
                .exit
                .as_mut()
                .expect("the exit wait lives as long as the child");
            std::task::ready!(exit.poll(cx))?;
        }
    }

    /// Waits for the child to exit and returns its status; its standard
    /// input, if piped and still here, is closed first (so a child that reads
    /// to the end can finish). The G parks; the M runs others. Cancel safe.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let status = gmp_exec::process::Command::new("sh")
    ///     .args(["-c", "exit 3"])
    ///     .spawn()?
    ///     .wait()
    ///     .await?;
    /// assert_eq!(status.code(), Some(3));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// Sends `SIGKILL`, without waiting for the exit. Does nothing once the
    /// child has been reaped.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// # gmp_exec::block_on(async {
    /// let mut child = gmp_exec::process::Command::new("sleep").arg("10").spawn()?;
    /// child.start_kill()?;
    /// assert_eq!(child.wait().await?.signal(), Some(libc::SIGKILL));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.std().kill()
    }

    /// Sends `SIGKILL` and waits for the child to exit.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Waits for the exit while collecting the piped standard output and
    /// error (closing standard input first).
    ///
    /// ```
    /// use std::process::Stdio;
    /// # gmp_exec::block_on(async {
    /// let child = gmp_exec::process::Command::new("sh")
    ///     .args(["-c", "echo out; echo err >&2"])
    ///     .stdout(Stdio::piped())
    ///     .stderr(Stdio::piped())
    ///     .spawn()?;
    /// let output = child.wait_with_output().await?;
    /// assert_eq!((&output.stdout[..], &output.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut status = None;
        // Both pipes are drained together with the wait: a child that fills
        // one while we read only the other would never exit.
        poll_fn(|cx| {
            let mut pending = false;
            if let Some(pipe) = &mut stdout {
                match poll_read_to_end(pipe, &mut out, cx) {
                    Poll::Ready(r) => {
                        r?;
                        stdout = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
            if let Some(pipe) = &mut stderr {
                match poll_read_to_end(pipe, &mut err, cx) {
                    Poll::Ready(r) => {
                        r?;
                        stderr = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
            if status.is_none() {
                match self.poll_wait(cx) {
                    Poll::Ready(r) => status = Some(r?),
                    Poll::Pending => pending = true,
                }
            }
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(Ok::<(), io::Error>(()))
            }
        })
        .await?;
        Ok(Output {
            status: status.expect("set before the wait ends"),
            stdout: out,
            stderr: err,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = self.start_kill();
        }
        if let Ok(Some(_)) = self.try_wait() {
            return;
        }
        // Still running: reap it in the background when it exits, as
        // tokio does, so it never lingers as a zombie. The reaper is a G of
        // the runtime the child was spawned on; it keeps the exit wait.
        let (Some(std), Some(exit)) = (self.std.take(), self.exit.take()) else {
            return;
        };
        if self.handle.shared.is_shutdown() {
            // No G can wait for it any more: a thread does, blocking.
            let mut std = std;
            drop(exit);
            let _ = std::thread::Builder::new()
                .name("gmp-reaper".into())
                .spawn(move || std.wait());
            return;
        }
        let mut orphan = Orphan { std, exit };
        drop(self.handle.spawn(async move {
            let _ = poll_fn(|cx| orphan.poll_reap(cx)).await;
        }));
    }
}

/// A dropped child that had not exited yet, reaped by a G of its own.
struct Orphan {
    std: std::process::Child,
    exit: Exit,
}

impl Orphan {
    fn poll_reap(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.std.try_wait()?.is_some() {
                return Poll::Ready(Ok(()));
            }
            std::task::ready!(self.exit.poll(cx))?;
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}
