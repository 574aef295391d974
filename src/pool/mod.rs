//! Per-master connection pools, one pool per master *address*.
//!
//! Each time a master moves, it gets a new `AddrPool`: a new address, a new pool, and the next
//! generation number. A connection remembers the generation it was opened for; when it comes
//! back after the master moved, it is closed instead of reused (SPEC guarantee 2).
//!
//! While a failover of a master is under way the master is *fenced*: no conn is handed out for
//! it, and conns already out refuse to send commands, so the master being demoted cannot
//! acknowledge a write that its replacement will never see. Conns of older generations refuse
//! too. Both checks are one atomic load of `generation << 1 | fenced`.

pub(crate) mod addr_pool;
pub(crate) mod conn;
pub(crate) mod gate;
pub(crate) mod link;
pub(crate) mod node;
pub(crate) mod replicas;

pub use conn::Conn;
pub(crate) use node::NodePool;
