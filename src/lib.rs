//! A Redis Sentinel client: asks Sentinel where each named master is, keeps a connection pool per
//! master, follows failovers by itself, and hands out connections that point at the current master.
//!
//! The safe core ([`Client`], [`Conn`], [`Config`], [`Error`]) is usable from Rust directly; the C
//! ABI in [`ffi`] is a thin layer over it, and the only module allowed non-safe code (the crate
//! denies it in Cargo.toml's `[lints]`).

pub mod client;
pub mod config;
mod datalink;
pub mod error;
mod failover;
pub mod pool;
mod replicas;
pub mod resp;
pub mod sentinel;
mod tls;
mod watcher;

pub mod ffi;

pub use client::{Client, MasterStats};
pub use config::{
    AddressMap, ClientEvent, Config, Credentials, EventHook, NodeAddr, SentinelAddr, TlsOptions,
};
pub use error::{Error, ErrorKind, Result};
pub use pool::{Conn, Value};

/// The library version, `MAJOR.MINOR.PATCH`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
