//! A Redis Sentinel client: asks Sentinel where each named master is, keeps a connection pool per
//! master, follows failovers by itself, and hands out connections that point at the current master.
//!
//! The safe core ([`Client`], [`Conn`], [`Config`], [`Error`]) is usable from Rust directly; the C
//! ABI in [`ffi`] is a thin layer over it, and the only module allowed non-safe code (the crate
//! denies it in Cargo.toml's `[lints]`).
//!
//! ```no_run
//! use redis_sentinel::{Client, Config, SentinelAddr};
//!
//! # fn main() -> redis_sentinel::Result<()> {
//! let sentinel = SentinelAddr::parse("tcp", "127.0.0.1:26379")?;
//! let mut config = Config::new(sentinel, vec!["mymaster".into()], 10);
//! config.read_timeout = std::time::Duration::from_millis(500);
//! let client = Client::new(config)?;
//!
//! let mut conn = client.get_master("mymaster")?;
//! let result = conn.command(&[b"INCR", b"counter"]);
//! // A conn whose command failed on I/O or READONLY is closed instead of pooled again.
//! client.carefully_put_master(conn, result.as_ref().err());
//! println!("counter = {:?}", result?);
//! client.close();
//! # Ok(())
//! # }
//! ```

// Internal layers, bottom up (see the README's Layout); only the names re-exported below are
// public Rust API.
mod client;
mod command;
mod config;
mod error;
mod failover;
mod net;
mod pool;
mod pubsub;
mod resp;
mod sentinel;
mod state;
mod sync;
mod url;
mod watcher;

/// The C ABI (see `include/redis_sentinel.h`); Rust users want the types above instead.
#[doc(hidden)]
pub mod ffi;

pub use client::{Client, MasterStats};
pub use config::{
    AddressMap, ClientEvent, Config, Credentials, EventHook, NodeAddr, SentinelAddr, TlsOptions,
};
pub use error::{Error, ErrorKind, Result};
pub use pool::Conn;
pub use pubsub::{Message, PubSub, PubSubCloser};
pub use resp::value::{ServerError, Value};

/// The library version, `MAJOR.MINOR.PATCH`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
