//! The operating system under the stacks: reserving slabs of address space,
//! guard pages, giving pages back, the page size.
//!
//! One module per OS family, each with the same free functions (mio's shape):
//!
//! | function | what it does |
//! | --- | --- |
//! | `page_size()` | the system page size, asked once |
//! | `map_slab(len)` | maps `len` bytes read-write for stacks, no memory behind them yet |
//! | `unmap(base, len)` | unmaps a slab that failed to set up |
//! | `install_guard(addr, page, size)` | makes one page of a slab fault on any access (Windows: also sets up the stack of `size` bytes above it) |
//! | `release(addr, len)` | gives a range of stack back to the OS, to read as zeros next time |
//! | `map_limit_hint()` | what to tell the user when the OS refuses a mapping |
//!
//! Two families: Unix — Linux, Android, the BSDs, Apple's systems,
//! illumos/Solaris (`unix.rs`, with Linux's extras behind
//! `cfg(target_os = "linux")`) — and Windows (`windows.rs`, whose stacks the
//! system grows itself; it adds `guard_len`'s extra room, the per-stack
//! `Teb` record and `reset`). See the [crate docs](crate#platform).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;
