//! `GMP_MAXPROCS` sets the default number of Ps; a bad value is a clear error.
//! (One test in its own binary: it changes the process environment.)
#![cfg(not(loom))]

use gmp_exec::{Runtime, MAXPROCS_ENV};

#[test]
fn gmp_maxprocs_sets_the_default_and_bad_values_are_errors() {
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
    std::env::remove_var(MAXPROCS_ENV);
    let n = std::thread::available_parallelism().unwrap().get();
    assert_eq!(Runtime::new().unwrap().procs(), n);
}
