//! Talking to sentinels: links with bounded waits, the pure parsers of what they answer and
//! publish, the one loop that asks every known sentinel, and the ROLE probes that confirm a
//! failover's candidate.

pub(crate) mod ask;
pub(crate) mod events;
pub(crate) mod link;
pub(crate) mod parse;
pub(crate) mod probe;

pub use events::{parse_event, parse_message, Event, EVENT_PATTERN};
pub use link::SentinelLink;
