//! Talking to sentinels: one link with bounded waits, the pure parsers of what they answer and
//! publish, and the one loop that asks every known sentinel.

pub(crate) mod ask;
pub(crate) mod events;
pub(crate) mod link;
pub(crate) mod parse;

pub use events::{parse_event, parse_message, Event, EVENT_PATTERN};
pub use link::SentinelLink;
