//! When busy polling pays, judged reply by reply on each connection.
//!
//! Spinning for a reply is worth its CPU only when the reply lands within the budget. A link
//! whose replies keep coming later (a master on another host after a failover, a server busy
//! with slow commands) would otherwise burn the whole budget on every reply for nothing. So a
//! link that misses twice running stops spinning for a while, then tries one reply again: a
//! hit resumes spinning, a miss doubles the pause. On a slow link the cost falls to one budget
//! per [`MAX_PAUSE`] replies; on a fast one, the odd slow command costs one budget and nothing
//! more.

/// Misses in a row, while spinning, that pause it.
const MISSES_TO_PAUSE: u8 = 2;
/// Replies not spun for after the first pause; each probe that misses doubles it.
const FIRST_PAUSE: u16 = 16;
const MAX_PAUSE: u16 = 1024;

#[derive(Debug, Default)]
pub(crate) struct SpinGovernor {
    misses_in_a_row: u8,
    /// Replies left to read without spinning.
    pause_left: u16,
    /// The last pause (zero: not paused since the last hit).
    pause: u16,
}

impl SpinGovernor {
    /// Whether to spin for the next reply; call once per reply.
    pub fn should_spin(&mut self) -> bool {
        if self.pause_left > 0 {
            self.pause_left -= 1;
            return false;
        }
        true
    }

    /// What spinning for a reply found: `caught` when the reply came within the budget.
    pub fn record(&mut self, caught: bool) {
        if caught {
            *self = SpinGovernor::default();
            return;
        }
        self.misses_in_a_row = self.misses_in_a_row.saturating_add(1);
        // After a pause, one probe decides; while spinning, one slow reply is not enough.
        if self.pause > 0 || self.misses_in_a_row >= MISSES_TO_PAUSE {
            self.pause = (self.pause.saturating_mul(2)).clamp(FIRST_PAUSE, MAX_PAUSE);
            self.pause_left = self.pause;
            self.misses_in_a_row = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replies spun for out of `replies`, each reply missing the budget or not by `catches`.
    fn spun(governor: &mut SpinGovernor, replies: usize, catches: impl Fn(usize) -> bool) -> usize {
        (0..replies)
            .filter(|&i| {
                let spin = governor.should_spin();
                if spin {
                    governor.record(catches(i));
                }
                spin
            })
            .count()
    }

    #[test]
    fn a_fast_link_always_spins() {
        let mut governor = SpinGovernor::default();
        assert_eq!(spun(&mut governor, 10_000, |_| true), 10_000);
    }

    #[test]
    fn an_odd_slow_reply_does_not_pause_spinning() {
        let mut governor = SpinGovernor::default();
        assert_eq!(spun(&mut governor, 10_000, |i| i % 10 != 0), 10_000);
    }

    #[test]
    fn a_slow_link_spins_for_one_reply_in_a_thousand() {
        let mut governor = SpinGovernor::default();
        // Two misses, then a probe after each pause: 16, 32, ... 1024 replies.
        let pauses = [16, 32, 64, 128, 256, 512, 1024];
        let replies = 2 + pauses.iter().map(|pause| pause + 1).sum::<usize>();
        assert_eq!(spun(&mut governor, replies, |_| false), 2 + pauses.len());
        assert_eq!(spun(&mut governor, 1025 * 100, |_| false), 100);
    }

    #[test]
    fn a_link_that_turns_fast_spins_again_after_one_probe() {
        let mut governor = SpinGovernor::default();
        spun(&mut governor, 5_000, |_| false);
        let paused_for = (0..).take_while(|_| !governor.should_spin()).count();
        assert!(
            paused_for <= MAX_PAUSE as usize,
            "paused for {paused_for} replies"
        );
        governor.record(true);
        assert_eq!(spun(&mut governor, 1_000, |_| true), 1_000);
        // And the next slow spell starts from the shortest pause again.
        assert_eq!(spun(&mut governor, 2 + 16 + 1, |_| false), 3);
    }
}
