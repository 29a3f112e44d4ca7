//! Child processes (tokio's `tokio::process`): [`Command`] builds and spawns
//! one; [`Child`] waits for it, kills it, and holds its piped standard
//! streams as gmp streams.
//!
//! ```
//! use gmp_exec::process::Command;
//!
//! # gmp_exec::block_on(async {
//! let output = Command::new("echo").arg("hello").output().await?;
//! assert!(output.status.success());
//! assert_eq!(output.stdout, b"hello\n");
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! # How a G waits for a process
//!
//! `Command` wraps [`std::process::Command`]: spawning is std's (a failure
//! is the OS's error: `NotFound` for a missing program, `PermissionDenied`
//! for one that is not executable). The waiting is gmp's, through the
//! netpoller, so a G that waits parks and its M runs others:
//!
//! * **Linux 5.3 and later**: the child's *pidfd* (`pidfd_open`), which
//!   turns readable when the process exits, is registered like a socket (an
//!   [`AsyncFd`](crate::io::AsyncFd)). One descriptor per child, woken for
//!   that child only.
//! * **Other Unixes, and Linux kernels without pidfds** (`ENOSYS`): a
//!   `SIGCHLD` listener from [`signal`](crate::signal); on each delivery
//!   every waiting child checks itself with `waitpid(pid, WNOHANG)`. The
//!   listener is registered before the first check, so an exit is never
//!   missed: one that came before is found by the check, one after is
//!   heard. (`GMP_NO_PIDFD=1` selects this path on Linux too; the tests
//!   use it.)
//!
//! Reaping is `waitpid` on the child's own pid (through std), never
//! `waitpid(-1)`, so children spawned by other code are left alone.
//!
//! A dropped [`Child`] that has not exited is not killed (unless
//! [`Command::kill_on_drop`] says so) but reaped in the background: a G of
//! the runtime it was spawned on waits for its exit, so no zombie is left.
//!
//! The piped streams are the parent's ends of std's pipes, switched to
//! nonblocking mode and registered with the netpoller: they implement
//! [`futures_io::AsyncRead`]/[`AsyncWrite`](futures_io::AsyncWrite) (and
//! tokio's traits with the `tokio-io` feature), and, for coroutine Gs,
//! blocking-style `std::io::Read`/`Write` that park the G.

mod child;
mod pipe;

use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

pub use child::Child;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};

/// A process to spawn: std's [`Command`](std::process::Command) builder,
/// with async [`status`](Self::status) and [`output`](Self::output) and a
/// [`spawn`](Self::spawn) that returns a gmp [`Child`] (tokio's
/// `process::Command`).
///
/// ```
/// # gmp_exec::block_on(async {
/// let status = gmp_exec::process::Command::new("sh")
///     .arg("-c")
///     .arg("test \"$GREETING\" = hi")
///     .env("GREETING", "hi")
///     .status()
///     .await?;
/// assert!(status.success());
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
///
/// A program that cannot be spawned is the OS's error:
///
/// ```
/// # gmp_exec::block_on(async {
/// let err = gmp_exec::process::Command::new("/no/such/program").spawn().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// # });
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl Command {
    /// A command to run `program` (found through `PATH` unless it is a
    /// path), with no arguments, the parent's environment and directory, and
    /// inherited standard streams.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's standard input: `Stdio::piped()` for a [`ChildStdin`].
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// The child's standard output: `Stdio::piped()` for a [`ChildStdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// The child's standard error: `Stdio::piped()` for a [`ChildStderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Kill the child (`SIGKILL`) when its [`Child`] is dropped before it
    /// exited (default: let it run; it is reaped in the background).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let child = gmp_exec::process::Command::new("sleep")
    ///     .arg("100")
    ///     .kill_on_drop(true)
    ///     .spawn()?;
    /// drop(child); // killed, then reaped in the background
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// Whether [`kill_on_drop`](Self::kill_on_drop) is set.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// The child's user id (`setuid` before `exec`).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::uid(&mut self.std, id);
        self
    }

    /// The child's group id (`setgid` before `exec`).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::gid(&mut self.std, id);
        self
    }

    /// The child's process group (`setpgid`; 0 makes it a group of its own).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        std::os::unix::process::CommandExt::process_group(&mut self.std, pgroup);
        self
    }

    /// The child's `argv[0]`, if other than the program.
    pub fn arg0(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        std::os::unix::process::CommandExt::arg0(&mut self.std, arg);
        self
    }

    /// Runs `f` in the child between `fork` and `exec`.
    ///
    /// # Safety
    ///
    /// As for std's [`CommandExt::pre_exec`](std::os::unix::process::CommandExt::pre_exec):
    /// `f` runs in a forked copy of a multi-threaded process and may only do
    /// what is async-signal-safe.
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller's contract, passed on.
        unsafe { std::os::unix::process::CommandExt::pre_exec(&mut self.std, f) };
        self
    }

    /// The std command inside.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std command inside, mutably (for options this wrapper lacks).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The std command inside.
    pub fn into_std(self) -> std::process::Command {
        self.std
    }

    /// Spawns the child, with its piped streams registered with the current
    /// runtime (this M's, the entered one, or the default). A program that
    /// cannot be spawned is the OS error.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut child = gmp_exec::process::Command::new("true").spawn()?;
    /// assert!(child.wait().await?.success());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let std = self.std.spawn()?;
        Child::new(std, self.kill_on_drop)
    }

    /// Spawns the child with inherited standard streams (unless set
    /// otherwise) and waits for its exit status.
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send + 'static {
        let child = self.spawn();
        async move { child?.wait().await }
    }

    /// Spawns the child with its standard output and error piped and its
    /// standard input empty (each unless set otherwise), and collects them
    /// with its exit status.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let out = gmp_exec::process::Command::new("sh")
    ///     .args(["-c", "echo to-err >&2; exit 2"])
    ///     .output()
    ///     .await?;
    /// assert_eq!(out.status.code(), Some(2));
    /// assert_eq!(out.stderr, b"to-err\n");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + Send + 'static {
        if !self.stdin_set {
            self.std.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.std.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.std.stderr(Stdio::piped());
        }
        let child = self.spawn();
        // Back to the defaults for the next spawn of this command.
        if !self.stdin_set {
            self.std.stdin(Stdio::inherit());
        }
        if !self.stdout_set {
            self.std.stdout(Stdio::inherit());
        }
        if !self.stderr_set {
            self.std.stderr(Stdio::inherit());
        }
        async move { child?.wait_with_output().await }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}
