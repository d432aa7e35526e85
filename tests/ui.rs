//! Compile tests of the macros: `tests/ui/pass` must compile, and each file
//! of `tests/ui/fail` must fail with exactly the errors in its `.stderr`.
//!
//! After changing a message, regenerate with
//! `TRYBUILD=overwrite cargo test --test ui` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*/*.rs");
}
