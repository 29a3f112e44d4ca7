//! What the benchmark binaries share besides the runtimes: their command-line
//! flags and the closed-loop load generator of the socket benchmarks.

use std::str::FromStr;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Instant;

/// The CPUs the load generator's threads run on, once `pin` set them.
static LOAD_CPUS: OnceLock<Vec<usize>> = OnceLock::new();

/// `--pin SERVER:LOAD` (each a comma-separated CPU list, e.g. `--pin 0:1`):
/// the servers run on the first set and the load generator on the second, so
/// neither steals the other's cores. Call it before any server starts: the
/// calling thread's affinity is set to the server CPUs, and every thread it
/// starts from then on (runtime threads, the Go server's process) inherits
/// it; the load generator's threads move to the load CPUs as they start.
/// Exits with a message where affinity cannot be set (not Linux, or a CPU the
/// process may not use), as the figures would not be what was asked for.
pub fn pin(value: Option<String>) {
    let value = value.unwrap_or_else(|| panic!("--pin takes SERVER_CPUS:LOAD_CPUS"));
    let (server, load) = value
        .split_once(':')
        .unwrap_or_else(|| panic!("--pin takes SERVER_CPUS:LOAD_CPUS, got {value:?}"));
    let server: Vec<usize> = list(Some(server.to_string()), "--pin (server CPUs)");
    let load: Vec<usize> = list(Some(load.to_string()), "--pin (load CPUs)");
    if let Err(e) = set_affinity(&server) {
        eprintln!("--pin: cannot run the servers on CPUs {server:?}: {e}");
        std::process::exit(2);
    }
    LOAD_CPUS.set(load).expect("--pin given twice");
    eprintln!(
        "pinned: servers on CPUs {server:?}, load generator on {:?}",
        LOAD_CPUS.get().unwrap()
    );
}

/// Moves the calling thread to `cpus`.
#[cfg(target_os = "linux")]
fn set_affinity(cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: `cpu_set_t` is plain data, valid all zero; CPU_SET writes
    // inside it for any index below CPU_SETSIZE (checked first), and
    // sched_setaffinity(0, ..) reads it for the calling thread only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            if cpu >= libc::CPU_SETSIZE as usize {
                return Err(std::io::Error::other(format!("CPU {cpu} is out of range")));
            }
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_affinity(_cpus: &[usize]) -> std::io::Result<()> {
    Err(std::io::Error::other("CPU affinity is set on Linux only"))
}

/// The value of a number flag (`--rounds 7`); panics with the flag's name if
/// it is missing or not a number.
pub fn number(value: Option<String>, flag: &str) -> usize {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{flag} takes a number"))
}

/// The value of a list flag (`--procs 1,2,4`); panics with the flag's name if
/// it is missing or an item does not parse.
pub fn list<T: FromStr>(value: Option<String>, flag: &str) -> Vec<T> {
    value
        .unwrap_or_else(|| panic!("{flag} takes a comma-separated list"))
        .split(',')
        .map(|item| {
            item.parse()
                .unwrap_or_else(|_| panic!("{flag}: cannot read {item:?}"))
        })
        .collect()
}

/// A closed-loop load generator on blocking std sockets: `conns` split
/// among `threads` plain threads; each thread, `rounds` times, calls `send`
/// on every connection of its share and then `recv` on every one, so one
/// exchange per connection is always in flight. `send` and `recv` get the
/// thread's own state (made by `state`), the round and the connection's
/// index among all of them. Returns exchanges per second, from the moment
/// every thread is released to the end of the last.
pub fn closed_loop<C, S>(
    conns: Vec<C>,
    threads: usize,
    rounds: usize,
    state: impl Fn() -> S,
    send: fn(&mut S, usize, usize, &mut C),
    recv: fn(&mut S, usize, usize, &mut C),
) -> f64
where
    C: Send + 'static,
    S: Send + 'static,
{
    assert!(threads > 0, "a load generator needs a thread");
    let total = conns.len();
    let per_thread = total.div_ceil(threads);
    let mut conns = conns.into_iter();
    let start = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let mut group: Vec<C> = conns.by_ref().take(per_thread).collect();
            let mut state = state();
            let start = start.clone();
            std::thread::spawn(move || {
                if let Some(cpus) = LOAD_CPUS.get() {
                    set_affinity(cpus).expect("--pin: move a load generator thread");
                }
                let first = t * per_thread;
                start.wait();
                for round in 0..rounds {
                    for (c, conn) in group.iter_mut().enumerate() {
                        send(&mut state, round, first + c, conn);
                    }
                    for (c, conn) in group.iter_mut().enumerate() {
                        recv(&mut state, round, first + c, conn);
                    }
                }
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    for h in handles {
        h.join().expect("a load generator thread failed");
    }
    (total * rounds) as f64 / began.elapsed().as_secs_f64()
}
