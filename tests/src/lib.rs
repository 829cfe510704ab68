//! End-to-end tests across the crates of the workspace, over real sockets and real buses. The tests live in
//! `tests/`; this library holds what they share: a minimal Socket.IO client built from the parser crates.

pub mod client;
