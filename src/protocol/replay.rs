//! Sliding replay window over 64-bit frame counters.
//!
//! The window is a ring of bits indexed by `counter mod WINDOW_BITS`, so advancing never shifts memory;
//! only the words the window slides over are cleared. One word of the ring is always being recycled,
//! which is why the usable window is one word shorter than the ring.
//!
//! Receivers call [`ReplayWindow::check`] before spending any work on decryption, and
//! [`ReplayWindow::commit`] only after the tag has verified, so a forged frame can never move the window.

const WORDS: usize = 32;
const WINDOW_BITS: u64 = (WORDS as u64) * 64;

/// How far behind the newest accepted counter a frame may still arrive: 1984 positions.
pub const WINDOW_SIZE: u64 = WINDOW_BITS - 64;
const _: () = assert!(WINDOW_SIZE >= 1024, "the protocol promises a window of at least 1024 positions");

/// Why a counter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayError {
    /// This counter was already accepted once.
    Duplicate,
    /// The counter is older than the window can remember.
    TooOld,
    /// `u64::MAX` is reserved (Noise never uses it as a nonce).
    Reserved,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplayError::Duplicate => "frame counter already seen (replay)",
            ReplayError::TooOld => "frame counter older than the replay window",
            ReplayError::Reserved => "frame counter uses the reserved value 2^64-1",
        })
    }
}

impl std::error::Error for ReplayError {}

/// Remembers which of the most recent counters have been accepted.
#[derive(Clone)]
pub struct ReplayWindow {
    newest: Option<u64>,
    bits: [u64; WORDS],
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayWindow").field("newest", &self.newest).finish()
    }
}

impl ReplayWindow {
    pub const fn new() -> Self {
        ReplayWindow { newest: None, bits: [0; WORDS] }
    }

    /// The highest counter accepted so far.
    pub fn newest(&self) -> Option<u64> {
        self.newest
    }

    /// Whether `counter` may be accepted. Does not change the window.
    pub fn check(&self, counter: u64) -> Result<(), ReplayError> {
        if counter == u64::MAX {
            return Err(ReplayError::Reserved);
        }
        let Some(newest) = self.newest else {
            return Ok(());
        };
        if counter > newest {
            return Ok(());
        }
        // counter <= newest here, so the subtraction cannot wrap.
        if newest - counter >= WINDOW_SIZE {
            return Err(ReplayError::TooOld);
        }
        let (word, bit) = Self::position(counter);
        if self.bits[word] & bit != 0 {
            Err(ReplayError::Duplicate)
        } else {
            Ok(())
        }
    }

    /// Records `counter` as accepted. Call only after [`check`](Self::check) passed and the frame
    /// authenticated.
    pub fn commit(&mut self, counter: u64) {
        debug_assert!(self.check(counter).is_ok());
        match self.newest {
            None => {
                self.bits = [0; WORDS];
                self.newest = Some(counter);
            }
            Some(newest) if counter > newest => {
                let old_word = newest / 64;
                let new_word = counter / 64;
                let words_to_clear = (new_word - old_word).min(WORDS as u64);
                for step in 1..=words_to_clear {
                    // old_word < 2^58, so old_word + step cannot overflow.
                    self.bits[((old_word + step) % WORDS as u64) as usize] = 0;
                }
                self.newest = Some(counter);
            }
            Some(_) => {}
        }
        let (word, bit) = Self::position(counter);
        self.bits[word] |= bit;
    }

    fn position(counter: u64) -> (usize, u64) {
        let index = counter % WINDOW_BITS;
        ((index / 64) as usize, 1u64 << (index % 64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(window: &mut ReplayWindow, counter: u64) -> Result<(), ReplayError> {
        window.check(counter)?;
        window.commit(counter);
        Ok(())
    }

    #[test]
    fn duplicates_are_refused() {
        let mut w = ReplayWindow::new();
        assert_eq!(accept(&mut w, 0), Ok(()));
        assert_eq!(accept(&mut w, 0), Err(ReplayError::Duplicate));
        assert_eq!(accept(&mut w, 5), Ok(()));
        assert_eq!(accept(&mut w, 5), Err(ReplayError::Duplicate));
        assert_eq!(accept(&mut w, 3), Ok(()));
        assert_eq!(accept(&mut w, 3), Err(ReplayError::Duplicate));
        assert_eq!(accept(&mut w, 4), Ok(()));
    }

    #[test]
    fn in_order_stream_is_accepted() {
        let mut w = ReplayWindow::new();
        for c in 0..10_000 {
            assert_eq!(accept(&mut w, c), Ok(()), "counter {c}");
        }
        assert_eq!(w.newest(), Some(9_999));
    }

    #[test]
    fn window_edges() {
        let mut w = ReplayWindow::new();
        let newest = 10_000;
        accept(&mut w, newest).unwrap();
        // The oldest position still inside the window.
        assert_eq!(w.check(newest - (WINDOW_SIZE - 1)), Ok(()));
        // One past it.
        assert_eq!(w.check(newest - WINDOW_SIZE), Err(ReplayError::TooOld));
        accept(&mut w, newest - (WINDOW_SIZE - 1)).unwrap();
        assert_eq!(w.check(newest - (WINDOW_SIZE - 1)), Err(ReplayError::Duplicate));
    }

    #[test]
    fn check_does_not_advance_only_commit_does() {
        let mut w = ReplayWindow::new();
        accept(&mut w, 100).unwrap();
        assert_eq!(w.check(5_000), Ok(()));
        assert_eq!(w.newest(), Some(100));
        assert_eq!(w.check(99), Ok(()));
    }

    #[test]
    fn a_large_jump_forgets_everything_behind_the_window() {
        let mut w = ReplayWindow::new();
        for c in 0..100 {
            accept(&mut w, c).unwrap();
        }
        accept(&mut w, 1_000_000).unwrap();
        assert_eq!(w.check(50), Err(ReplayError::TooOld));
        // Bits recycled from the ring must read as unseen, not as stale duplicates.
        for c in (1_000_000 - WINDOW_SIZE + 1)..1_000_000 {
            assert_eq!(w.check(c), Ok(()), "counter {c}");
        }
    }

    #[test]
    fn ring_reuse_after_partial_slide_clears_stale_bits() {
        let mut w = ReplayWindow::new();
        accept(&mut w, 10).unwrap();
        // 10 + WINDOW_BITS maps to the same ring bit as 10.
        accept(&mut w, 10 + WINDOW_BITS).unwrap();
        assert_eq!(w.check(10 + WINDOW_BITS - 1), Ok(()));
        assert_eq!(w.check(10 + WINDOW_BITS), Err(ReplayError::Duplicate));
    }

    #[test]
    fn counters_near_u64_max() {
        let mut w = ReplayWindow::new();
        let top = u64::MAX - 1;
        assert_eq!(accept(&mut w, top - 5), Ok(()));
        assert_eq!(accept(&mut w, top), Ok(()));
        assert_eq!(accept(&mut w, top), Err(ReplayError::Duplicate));
        assert_eq!(accept(&mut w, top - 5), Err(ReplayError::Duplicate));
        assert_eq!(accept(&mut w, top - 3), Ok(()));
        assert_eq!(w.check(top - (WINDOW_SIZE - 1)), Ok(()));
        assert_eq!(w.check(top - WINDOW_SIZE), Err(ReplayError::TooOld));
        assert_eq!(w.check(u64::MAX), Err(ReplayError::Reserved));
        assert_eq!(w.check(0), Err(ReplayError::TooOld));
    }

    #[test]
    fn first_counter_may_be_anything_but_reserved() {
        let mut w = ReplayWindow::new();
        assert_eq!(accept(&mut w, u64::MAX - 1), Ok(()));
        let w = ReplayWindow::new();
        assert_eq!(w.check(u64::MAX), Err(ReplayError::Reserved));
    }

    #[test]
    fn matches_a_naive_model() {
        use proptest::prelude::*;
        proptest!(|(base in prop_oneof![Just(0u64), Just(u64::MAX - 5_000), any::<u64>().prop_map(|v| v / 2)],
                    offsets in proptest::collection::vec(0u64..4_500, 1..300))| {
            let mut w = ReplayWindow::new();
            let mut seen = std::collections::BTreeSet::new();
            let mut newest: Option<u64> = None;
            for off in offsets {
                let c = base.saturating_add(off).min(u64::MAX - 1);
                let expected = if newest.is_some_and(|n| c < n && n - c >= WINDOW_SIZE) {
                    Err(ReplayError::TooOld)
                } else if seen.contains(&c) {
                    Err(ReplayError::Duplicate)
                } else {
                    Ok(())
                };
                let got = accept(&mut w, c);
                prop_assert_eq!(got, expected, "counter {}", c);
                if got.is_ok() {
                    seen.insert(c);
                    newest = Some(newest.map_or(c, |n| n.max(c)));
                }
            }
        });
    }
}
