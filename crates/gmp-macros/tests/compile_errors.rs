//! Misuses of the attributes are compile errors that name the problem, at its
//! tokens (`tests/ui/fail/*.stderr` hold the expected diagnostics; regenerate
//! them with `TRYBUILD=overwrite` and review the diff), and a real `async fn
//! main` compiles and runs.

#[test]
fn each_misuse_is_a_compile_error_at_its_tokens() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}

#[test]
fn a_real_async_main_returning_result_compiles_and_runs() {
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}
