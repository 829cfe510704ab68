//! End-to-end tests across the crates of the workspace. The tests live in `tests/`; this library holds the
//! helpers they share.
