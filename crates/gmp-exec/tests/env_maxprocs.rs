//! `GMP_MAXPROCS` sets the default number of Ps; a bad value is a clear error,
//! and one above [`gmp_exec::MAX_PROCS`] is clamped to it (as Go clamped
//! `GOMAXPROCS` to its `_MaxGomaxprocs`).
//! (One test in its own binary: it changes the process environment.)
#![cfg(not(loom))]

use gmp_exec::{Runtime, MAXPROCS_ENV};

#[test]
fn gmp_maxprocs_sets_the_default_bad_values_are_errors_and_large_ones_clamp() {
    // SAFETY-free in edition 2021; no other thread of this binary reads the
    // environment while this single test runs.
    std::env::set_var(MAXPROCS_ENV, "3");
    assert_eq!(Runtime::new().unwrap().procs(), 3);
    // An explicit setting wins over the environment.
    assert_eq!(Runtime::builder().procs(2).build().unwrap().procs(), 2);
    for bad in ["0", "-1", "many", ""] {
        std::env::set_var(MAXPROCS_ENV, bad);
        let err = Runtime::new().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad:?}");
        assert!(err.to_string().contains("GMP_MAXPROCS"), "{err}");
    }
    // Above the cap: clamped, not 100 000 Ps (which took a minute and 3.3 GB,
    // then corrupted the 16-bit registry ids). One M is enough to check.
    for big in [
        "1025",
        "65536",
        "100000",
        "18446744073709551615",
        "1000000000000000000000000000000",
    ] {
        std::env::set_var(MAXPROCS_ENV, big);
        let rt = Runtime::builder().max_threads(1).build().unwrap();
        assert_eq!(rt.procs(), gmp_exec::MAX_PROCS, "{big}");
        assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
    }
    std::env::remove_var(MAXPROCS_ENV);
    let n = std::thread::available_parallelism().unwrap().get();
    assert_eq!(Runtime::new().unwrap().procs(), n);
}
