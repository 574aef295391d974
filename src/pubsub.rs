//! Pub/Sub that follows the master. A subscription has a link of its own (never from a pool,
//! never handed to a command caller) and remembers its channels and patterns. When the master
//! moves (the same switch that moves the pools), when the link breaks, or when it stays silent
//! past a PING, the subscription connects to the current master, subscribes to everything
//! again and hands out one [`Message::Resubscribed`] before anything read on the new link:
//! messages published in between may be lost, and the marker says when to resynchronize.
//! The old link is dropped unread, so nothing is delivered twice.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::pool::gate::WatchedSocket;
use crate::pool::link::DataLink;
use crate::resp::encode::encode_command;
use crate::resp::value::Value;
use crate::state::State;

/// The longest a wait sleeps before it looks again at whether the master moved or the
/// subscription was closed from another thread: what a switch or a close costs at most.
const SLICE: Duration = Duration::from_millis(20);
/// A link silent this long is asked for a PING; one that does not answer within the read
/// timeout is given up for a new one.
const PING_AFTER: Duration = Duration::from_secs(1);
/// Between two attempts to reach a master that refused or dropped the connection.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);
/// Messages read while a subscribe waited for its confirmation are kept for the next calls,
/// up to this many; past it the link is dropped and the subscription starts again (with the
/// marker), as when Redis drops a subscriber that reads too slowly
/// (`client-output-buffer-limit pubsub`).
const MAX_PENDING: usize = 10_000;

/// What a subscription receives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// Published on a channel the subscription named.
    Message { channel: Vec<u8>, data: Vec<u8> },
    /// Published on a channel that matched one of the subscription's patterns.
    PMessage {
        pattern: Vec<u8>,
        channel: Vec<u8>,
        data: Vec<u8>,
    },
    /// The subscription started again on a new link (the master moved, or the link broke):
    /// messages published since the last one received may be lost.
    Resubscribed,
}

/// Ends a subscription from any thread: its waiting [`PubSub::next`] returns CLOSED.
#[derive(Clone, Debug)]
pub struct PubSubCloser(Arc<AtomicBool>);

impl PubSubCloser {
    pub fn close(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A subscription to channels and patterns on the current master of one name. Use it from
/// one thread at a time; [`PubSub::closer`] may end it from another.
pub struct PubSub {
    state: Arc<State>,
    index: usize,
    link: Option<DataLink>,
    /// `link`'s socket, watched by the master's gate: a switch shuts it, which ends a wait at
    /// once rather than at the next look at the generation.
    watched: Option<WatchedSocket>,
    /// The pool generation `link` was opened in: once the master moves, the link is stale.
    generation: u64,
    channels: BTreeSet<Vec<u8>>,
    patterns: BTreeSet<Vec<u8>>,
    pending: VecDeque<Message>,
    /// A link was lost since the last message: the marker goes out once subscribed again.
    lost: bool,
    /// When the link last delivered anything, and when a PING was sent after that.
    heard_at: Instant,
    ping_sent_at: Option<Instant>,
    closed: Arc<AtomicBool>,
}

/// Which of the two sets a command changes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Channels,
    Patterns,
}

impl PubSub {
    pub(crate) fn new(state: Arc<State>, index: usize) -> PubSub {
        PubSub {
            state,
            index,
            link: None,
            watched: None,
            generation: 0,
            channels: BTreeSet::new(),
            patterns: BTreeSet::new(),
            pending: VecDeque::new(),
            lost: false,
            heard_at: Instant::now(),
            ping_sent_at: None,
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A handle that ends this subscription from another thread.
    pub fn closer(&self) -> PubSubCloser {
        PubSubCloser(self.closed.clone())
    }

    /// Ends the subscription: its link is closed, and every later call fails with CLOSED.
    pub fn close(&mut self) {
        self.closed.store(true, Ordering::Release);
        self.drop_link();
    }

    /// Subscribes to `channels`; returns once the master confirmed every one.
    pub fn subscribe(&mut self, channels: &[&[u8]]) -> Result<()> {
        self.change(b"SUBSCRIBE", Target::Channels, channels)
    }

    /// Subscribes to the glob-style `patterns`; returns once the master confirmed every one.
    pub fn psubscribe(&mut self, patterns: &[&[u8]]) -> Result<()> {
        self.change(b"PSUBSCRIBE", Target::Patterns, patterns)
    }

    /// Unsubscribes from `channels` (none: from every channel).
    pub fn unsubscribe(&mut self, channels: &[&[u8]]) -> Result<()> {
        self.change(b"UNSUBSCRIBE", Target::Channels, channels)
    }

    /// Unsubscribes from `patterns` (none: from every pattern).
    pub fn punsubscribe(&mut self, patterns: &[&[u8]]) -> Result<()> {
        self.change(b"PUNSUBSCRIBE", Target::Patterns, patterns)
    }

    /// The channels and patterns subscribed to.
    pub fn subscriptions(&self) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        (
            self.channels.iter().cloned().collect(),
            self.patterns.iter().cloned().collect(),
        )
    }

    /// The next message, waiting at most `timeout`; `None` when none came in time.
    /// Subscribe confirmations are not messages. Fails with CLOSED once the subscription or
    /// its client is closed, also while waiting.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Message>> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_open()?;
            if let Some(message) = self.pending.pop_front() {
                return Ok(Some(message));
            }
            let now = Instant::now();
            if self.is_empty() {
                if now >= deadline {
                    return Ok(None);
                }
                std::thread::sleep((deadline - now).min(SLICE));
                continue;
            }
            if !self.follow() {
                // The master cannot be reached now: try again after a pause.
                if now >= deadline {
                    return Ok(None);
                }
                std::thread::sleep((deadline - now).min(RECONNECT_PAUSE));
                continue;
            }
            if std::mem::take(&mut self.lost) {
                return Ok(Some(Message::Resubscribed));
            }
            let wait = deadline.saturating_duration_since(now).min(SLICE);
            if let Some(message) = self.read_one(wait) {
                return Ok(Some(message));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty()
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) || self.state.stop.is_stopped() {
            return Err(Error::new(ErrorKind::Closed, "the subscription is closed"));
        }
        Ok(())
    }

    /// Keeps the link on the current master and in touch: a stale, broken or silent link is
    /// replaced and everything subscribed again. False when no link could be made.
    fn follow(&mut self) -> bool {
        if !self.link_is_current() {
            self.lose_link();
            return self.resubscribe().is_ok();
        }
        self.keep_in_touch();
        self.link.is_some()
    }

    /// True when the link is open and on the master the client points at now.
    fn link_is_current(&self) -> bool {
        self.link.as_ref().is_some_and(|link| {
            link.is_open() && self.generation == self.state.masters[self.index].generation()
        })
    }

    /// PINGs a silent link; gives it up when the PING goes unanswered.
    fn keep_in_touch(&mut self) {
        let silent = self.heard_at.elapsed();
        match self.ping_sent_at {
            Some(sent) if sent.elapsed() > self.state.config.read_timeout => self.lose_link(),
            None if silent > PING_AFTER => {
                let mut ping = Vec::new();
                encode_command(&mut ping, &[b"PING"]);
                match self.link.as_mut().map(|link| link.send_only(&ping)) {
                    Some(Ok(())) => self.ping_sent_at = Some(Instant::now()),
                    _ => self.lose_link(),
                }
            }
            _ => {}
        }
    }

    fn lose_link(&mut self) {
        if self.drop_link() {
            self.lost = true;
        }
    }

    /// Closes the link, if any; true when there was one.
    fn drop_link(&mut self) -> bool {
        self.watched = None;
        self.link.take().is_some()
    }

    /// Connects to the current master and subscribes to every channel and pattern.
    fn resubscribe(&mut self) -> Result<()> {
        let master = &self.state.masters[self.index];
        let generation = master.generation();
        let addr = master.addr().ok_or_else(Error::closed)?;
        // Watched from the connect on: a switch cuts a connect to the node it leaves.
        let (link, watched) =
            DataLink::connect(&addr, &self.state.config, &self.state.data_dial, |socket| {
                master.gate.watch(socket, generation)
            })?;
        self.watched = Some(watched);
        self.link = Some(link);
        self.generation = generation;
        self.heard_at = Instant::now();
        self.ping_sent_at = None;
        let mut packed = Vec::new();
        let channels: Vec<&[u8]> = self.channels.iter().map(Vec::as_slice).collect();
        let patterns: Vec<&[u8]> = self.patterns.iter().map(Vec::as_slice).collect();
        let mut expected = 0;
        for (command, names) in [(&b"SUBSCRIBE"[..], channels), (b"PSUBSCRIBE", patterns)] {
            if !names.is_empty() {
                expected += names.len();
                let mut args = vec![command];
                args.extend(names);
                encode_command(&mut packed, &args);
            }
        }
        if expected > 0 {
            self.exchange(&packed, expected)?;
        }
        Ok(())
    }

    /// Sends one (UN)SUBSCRIBE command and waits for its confirmations.
    fn change(&mut self, command: &[u8], target: Target, names: &[&[u8]]) -> Result<()> {
        self.check_open()?;
        let adding = !command.starts_with(b"UN") && !command.starts_with(b"PUN");
        if adding && names.is_empty() {
            return Err(Error::invalid(format!(
                "{} needs at least one name",
                String::from_utf8_lossy(command)
            )));
        }
        let set = match target {
            Target::Channels => &mut self.channels,
            Target::Patterns => &mut self.patterns,
        };
        // Unsubscribing from none means from every one: name them, so each is confirmed.
        let names: Vec<Vec<u8>> = if names.is_empty() {
            set.iter().cloned().collect()
        } else {
            names.iter().map(|n| n.to_vec()).collect()
        };
        for name in &names {
            if adding {
                set.insert(name.clone());
            } else {
                set.remove(name);
            }
        }
        if names.is_empty() {
            return Ok(());
        }
        // A link that is missing, broken or on a master the client left is replaced, and the
        // new one subscribes to what the sets now hold: this change included.
        if !self.link_is_current() {
            self.lose_link();
            return self.resubscribe();
        }
        let mut args = vec![command];
        args.extend(names.iter().map(Vec::as_slice));
        let mut packed = Vec::new();
        encode_command(&mut packed, &args);
        match self.exchange(&packed, names.len()) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::Io => {
                // The link failed under the change: start again on a new one.
                self.lose_link();
                self.resubscribe()
            }
            Err(err) => Err(err),
        }
    }

    /// Sends `packed` and reads until `confirmations` (un)subscribe confirmations came, within
    /// the read timeout; messages read meanwhile are kept for `next`.
    fn exchange(&mut self, packed: &[u8], confirmations: usize) -> Result<()> {
        let bound = self.state.config.read_timeout;
        let deadline = Instant::now() + bound;
        let failed = |what: String| Error::new(ErrorKind::Io, what);
        let sent = match self.link.as_mut() {
            Some(link) => link.send_only(packed).map_err(|e| e.to_string()),
            None => Err("no link to the master".to_owned()),
        };
        if let Err(why) = sent {
            self.lose_link();
            return Err(failed(format!("subscribing: {why}")));
        }
        let mut left = confirmations;
        while left > 0 {
            let wait = deadline.saturating_duration_since(Instant::now());
            let read = match self.link.as_mut() {
                Some(link) if !wait.is_zero() => link.read_within(wait),
                _ => Ok(None),
            };
            match read {
                Ok(Some(value)) => match incoming(&value) {
                    Incoming::Message(message) => {
                        if self.pending.len() >= MAX_PENDING {
                            self.lose_link();
                            return Err(failed("too many messages while subscribing".into()));
                        }
                        self.pending.push_back(message);
                    }
                    Incoming::Confirmation => left -= 1,
                    Incoming::Refused(text) => {
                        self.lose_link();
                        return Err(Error::new(ErrorKind::Server, text));
                    }
                    Incoming::Other => {}
                },
                Ok(None) => {
                    self.lose_link();
                    return Err(failed(format!(
                        "no subscribe confirmation within {} ms",
                        bound.as_millis()
                    )));
                }
                Err(err) => {
                    self.lose_link();
                    return Err(failed(format!("subscribing: {err}")));
                }
            }
        }
        self.heard_at = Instant::now();
        Ok(())
    }

    /// Reads what the link has within `wait`: a message, or `None` (a confirmation, a PONG,
    /// nothing yet, or a link that failed and will be replaced).
    fn read_one(&mut self, wait: Duration) -> Option<Message> {
        let link = self.link.as_mut()?;
        match link.read_within(wait) {
            Ok(Some(value)) => {
                self.heard_at = Instant::now();
                self.ping_sent_at = None;
                match incoming(&value) {
                    Incoming::Message(message) => Some(message),
                    _ => None,
                }
            }
            Ok(None) => None,
            Err(_) => {
                self.lose_link();
                None
            }
        }
    }
}

/// What a subscribed link reads.
enum Incoming {
    Message(Message),
    /// A (p)(un)subscribe confirmation.
    Confirmation,
    /// An error reply (an ACL that forbids the channel, say).
    Refused(String),
    /// A PONG, or anything else a subscription does not deliver.
    Other,
}

/// Reads what a subscribed link received as what it says.
fn incoming(value: &Value) -> Incoming {
    if let Value::ServerError(err) = value {
        return Incoming::Refused(err.to_string());
    }
    if let Some(published) = value.as_published() {
        let (channel, data) = (published.channel.to_vec(), published.data.to_vec());
        return Incoming::Message(match published.pattern {
            None => Message::Message { channel, data },
            Some(pattern) => Message::PMessage {
                pattern: pattern.to_vec(),
                channel,
                data,
            },
        });
    }
    if value.is_subscription_confirmation() {
        Incoming::Confirmation
    } else {
        Incoming::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn messages_confirmations_and_pushes_are_told_apart() {
        let message = Value::Array(vec![bulk("message"), bulk("ch"), bulk("hi")]);
        assert!(
            matches!(incoming(&message), Incoming::Message(Message::Message { channel, data })
            if channel == b"ch" && data == b"hi")
        );
        let pmessage = Value::Push {
            kind: "pmessage".into(),
            data: vec![bulk("c*"), bulk("ch"), bulk("x")],
        };
        assert!(
            matches!(incoming(&pmessage), Incoming::Message(Message::PMessage { pattern, .. })
            if pattern == b"c*")
        );
        let confirmation = Value::Array(vec![bulk("subscribe"), bulk("ch"), Value::Int(1)]);
        assert!(matches!(incoming(&confirmation), Incoming::Confirmation));
        let nil_unsubscribe = Value::Array(vec![bulk("unsubscribe"), Value::Nil, Value::Int(0)]);
        assert!(matches!(incoming(&nil_unsubscribe), Incoming::Confirmation));
        let pong = Value::Array(vec![bulk("pong"), bulk("")]);
        assert!(matches!(incoming(&pong), Incoming::Other));
        assert!(matches!(
            incoming(&Value::SimpleString("PONG".into())),
            Incoming::Other
        ));
        let short = Value::Array(vec![bulk("message"), bulk("ch")]);
        assert!(matches!(incoming(&short), Incoming::Other));
        assert!(matches!(incoming(&Value::Array(vec![])), Incoming::Other));
    }
}
