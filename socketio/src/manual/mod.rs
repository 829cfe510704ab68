//! The manual: one page per topic, each with examples that compile (and run, where they need no
//! network peer) as doctests.
//!
//! Start with [`concepts`]; the pages after it can be read in any order.

#[cfg(feature = "server")]
pub mod adapters;
#[cfg(feature = "admin")]
pub mod admin_ui;
#[cfg(feature = "server")]
pub mod broadcasting;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod concepts;
#[cfg(feature = "server")]
pub mod deployment;
#[cfg(feature = "server")]
pub mod integration;
#[cfg(feature = "server")]
pub mod observability;
#[cfg(feature = "server")]
pub mod porting;
#[cfg(feature = "server")]
pub mod recovery;
