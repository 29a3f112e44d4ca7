//! `#[gmp::main]` and `#[gmp::test]`: an `async fn` as a program's entry point,
//! or as a test, run on a gmp runtime.
//!
//! Use them through the facade crate, as `gmp::main` and `gmp::test`; this
//! crate only holds the macros (a proc-macro crate can export nothing else).
//!
//! ```
//! #[gmp::main]
//! async fn main() {
//!     let answer = gmp::spawn(async { 6 * 7 });
//!     assert_eq!(answer.await.unwrap(), 42);
//! }
//! ```
//!
//! # What they expand to
//!
//! Both replace the `async fn` with a sync `fn` of the same name and return
//! type that builds a runtime and runs the original function with
//! `Runtime::block_on`:
//!
//! ```text
//! #[gmp::main]                            fn main() -> io::Result<()> {
//! async fn main() -> io::Result<()> {        async fn main() -> io::Result<()> { body }
//!     body                          ==>      let runtime = <build; panic on error>;
//! }                                          runtime.block_on(main())
//!                                         }
//! ```
//!
//! `#[gmp::test]` does the same under `#[test]`. The original function
//! survives as a nested item, with its signature, so `?` and `return` in the
//! body behave exactly as in any `async fn`; its body is not parsed at all
//! (the `expand` module says why). A `main` that returns `Err` hands it to
//! std, which prints it and exits with a failure status; a test that returns
//! `Err` fails. Attributes written below ours (`#[should_panic]`, `#[ignore]`,
//! `#[allow(..)]`, docs) stay on the sync function.
//!
//! # Arguments
//!
//! | argument | meaning |
//! | --- | --- |
//! | `procs = N` | the number of Ps (`Builder::procs`; Go's `GOMAXPROCS`); an integer literal, at least 1 |
//! | `worker_threads = N` | tokio's spelling of `procs`, for ported code |
//! | `flavor = "multi_thread"` | the default |
//! | `flavor = "current_thread"` | the body runs in a `LocalSet` on the calling thread (`spawn_local` works there), with one P unless `procs` is given |
//! | `start_paused = true` | the runtime's clock starts paused (`Builder::start_paused`, `gmp::time::pause`): timers fire when the test advances the clock, or at once when nothing else runs |
//! | `tokio_compat = true` | the tokio compatibility mode (`Builder::tokio_compat`): needs gmp's `tokio-compat` feature, and without it is a compile error naming the feature |
//! | `crate = "path"` | where the `gmp` crate is, for a crate that re-exports it (default `::gmp`) |
//!
//! Without `procs`, `#[gmp::main]` uses `Runtime::new()`: `GMP_MAXPROCS` if set,
//! else the machine's available parallelism. `#[gmp::test]` uses **two** Ps:
//! the fewest at which one M steals from another P's queue, so a test
//! exercises stealing and cross-thread wakeups on any machine, while the
//! test harness, which already runs tests on parallel threads, does not start
//! a machine's worth of Ms per test.
//!
//! `flavor = "current_thread"` keeps what ported code relies on: a tokio
//! current-thread runtime runs the body and its `spawn_local` tasks on the
//! thread that calls it, so `!Send` state can be shared there. gmp runs the
//! body in a `gmp::task::LocalSet` on the calling
//! thread, with one P (unless `procs` says otherwise) for the Gs it
//! `spawn`s, which run on an M as always.
//!
//! # Errors
//!
//! Each mistake is a compile error at the offending tokens: an unknown
//! argument (at its name), an argument given twice, a `procs` that is 0 or not
//! an integer literal, a flavour other than `multi_thread`, a `crate` that is
//! not a path; a function that is not `async`, takes arguments, is generic,
//! `const`, `unsafe` or `extern`; and, for tests, a second `#[test]`. All of
//! them are reported in one build. When only the arguments are wrong the
//! function still expands (with the defaults), and when the function is wrong
//! a placeholder stands in for it, so the build shows our errors and no
//! knock-on ones such as "`main` function not found".
//!
//! If the runtime cannot be built at run time (a `GMP_MAXPROCS` that is not a
//! positive integer), the generated function panics with
//! the attribute's name and the builder's `io::Error`.
//!
//! # Go
//!
//! A Go program needs no attribute: `runtime.main` (in `runtime/proc.go`) is
//! the entry point of every binary. It starts sysmon, runs the package
//! initialisers, and calls the user's `main.main` on the main goroutine; when
//! that returns it calls `exit(0)`, and goroutines still running simply stop.
//! `#[gmp::main]` plays `runtime.main`'s part: it builds the runtime, with
//! `procs` defaulting as `GOMAXPROCS` does (the CPU count, or the environment
//! variable), and runs `main`'s body. Two differences follow from Rust's
//! shape. The body is polled on the program's main thread by `block_on`, not
//! by an M (so `main`'s own future need not be `Send`; the Gs it spawns run on
//! the Ms). And when it returns the runtime is dropped: Gs still alive are
//! cancelled, their futures dropped, and the Ms joined, where Go's `exit`
//! ends the process without running anything more.
//!
//! `go test` runs each `TestXxx` on a goroutine of its own (`tRunner`), in the
//! one runtime that the whole test binary shares. `#[gmp::test]` gives each
//! test a runtime of its own instead: Rust's harness runs tests on threads of
//! its own, in parallel, and a fresh runtime means that a G leaked by one
//! test is cancelled when that test ends and never runs during the next.
//!
//! # Implementation
//!
//! The function's signature — generics, `where` clauses, qualifiers, ABI,
//! receivers, attributes — is parsed with `syn` (`full`, `parsing`,
//! `printing`; no `derive`, no `clone-impls`), because each of those needs its
//! own precisely spanned error and syn gets that grammar right; syn is also
//! already in nearly every build that has a proc macro in it (serde's derive
//! and `futures`' `select!` use the same major version). A hand parser would
//! save that build only for programs that have no other proc macro, and would
//! have to track Rust's function grammar. The arguments are parsed with
//! syn's `ParseStream`, the body not at all.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod args;
mod expand;

use proc_macro::TokenStream;

/// The Ps a `#[gmp::test]` runtime has when `procs` is not given.
const TEST_PROCS: usize = 2;

/// Which attribute is expanding.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `#[gmp::main]`
    Main,
    /// `#[gmp::test]`
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for error messages.
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "`#[gmp::main]`",
            Kind::Test => "`#[gmp::test]`",
        }
    }
}

/// Runs an `async fn main` on a new gmp runtime.
///
/// ```
/// #[gmp::main(procs = 4)]
/// async fn main() -> Result<(), std::num::ParseIntError> {
///     let n: u64 = "21".parse()?;
///     let doubled = gmp::spawn(async move { n * 2 });
///     assert_eq!(doubled.await.unwrap(), 42);
///     assert_eq!(gmp::Handle::current().procs(), 4);
///     Ok(())
/// }
/// ```
///
/// The function becomes a sync `fn` with the same name and return type,
/// which builds the runtime — `Runtime::new()`, or
/// `Runtime::builder().procs(N).build()` when `procs = N` is given — runs the
/// body with `block_on`, and drops the runtime (cancelling any Gs still alive)
/// before it returns the body's value. A `main` returning `Err` hands it to std
/// as usual. The attribute also works on a function not named `main`, which
/// then runs its body on a runtime of its own each time it is called.
///
/// Arguments: `procs = N` (or `worker_threads = N`), `flavor =
/// "multi_thread"` or `"current_thread"`, `start_paused = true`,
/// `tokio_compat = true`, `crate = "path"`; see the [crate docs](crate) for each and for the compile errors.
///
/// # Panics
///
/// The generated function panics if the runtime cannot be built (for
/// instance, `GMP_MAXPROCS` is set but not a positive integer), naming the
/// attribute and the builder's error.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a fresh gmp runtime with two Ps.
///
/// ```
/// #[gmp::test]
/// async fn spawned_tasks_finish() {
///     let handles: Vec<_> = (0..8u64).map(|i| gmp::spawn(async move { i })).collect();
///     let mut sum = 0;
///     for h in handles {
///         sum += h.await.unwrap();
///     }
///     assert_eq!(sum, 28);
/// }
///
/// #[gmp::test(procs = 1)]
/// #[should_panic(expected = "boom")]
/// async fn panics_fail_the_test() {
///     panic!("boom");
/// }
/// # fn main() {}
/// ```
///
/// The function becomes a `#[test] fn` with the same name and return type
/// that builds its own runtime (`procs = N`, or 2 Ps: enough for stealing),
/// runs the body with `block_on`, and drops the runtime when the body returns
/// or panics, so no G outlives its test. A test may return a `Result`; an
/// `Err` fails it. Attributes below this one (`#[should_panic]`, `#[ignore]`)
/// apply as usual; do not add `#[test]` as well.
///
/// Arguments are those of [`main`](macro@main).
///
/// # Panics
///
/// The test panics (fails) if its runtime cannot be built, naming the
/// attribute and the builder's error.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, args.into(), item.into()).into()
}
