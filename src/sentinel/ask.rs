//! The one loop that asks every known sentinel about some masters, as redis-rs's
//! `try_all_sentinels` does: a sentinel that cannot be reached is skipped, and a link whose
//! query failed is dropped (its reply may still be in flight), so one bad sentinel costs its
//! own answers and no others.

use std::time::Duration;

use crate::config::SentinelAddr;
use crate::error::Result;
use crate::net::tls::Dial;
use crate::sentinel::link::SentinelLink;

/// Asks each sentinel of `known` in turn, over one link, `query` about each master of `names`
/// that `wanted` still wants, handing every answer to `answered`; stops early once no master is
/// wanted. A query that answers `Ok(None)` (the sentinel does not monitor that name) is no
/// answer. Returns true when every sentinel asked could be reached and answered every query.
pub(crate) fn ask_each_sentinel<T>(
    known: &[SentinelAddr],
    timeout: Duration,
    dial: &Dial,
    names: &[&str],
    query: impl Fn(&mut SentinelLink, &str) -> Result<Option<T>>,
    mut wanted: impl FnMut(usize) -> bool,
    mut answered: impl FnMut(usize, T),
) -> bool {
    let mut every_one_answered = true;
    for addr in known {
        if !(0..names.len()).any(&mut wanted) {
            break;
        }
        let Ok(mut link) = SentinelLink::connect(addr, timeout, dial) else {
            every_one_answered = false;
            continue;
        };
        for (at, name) in names.iter().enumerate() {
            if !wanted(at) {
                continue;
            }
            match query(&mut link, name) {
                Ok(Some(answer)) => answered(at, answer),
                Ok(None) => {}
                Err(_) => {
                    every_one_answered = false;
                    break;
                }
            }
        }
    }
    every_one_answered
}
