//! A cursor over the fuzzer's bytes that never fails: reads past the end yield zeros or empty slices, so
//! every input, however short, is a valid program for a target.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { rest: data }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rest.len()
    }

    pub fn u8(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&byte, rest)) => {
                self.rest = rest;
                byte
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Up to `len` bytes.
    pub fn bytes(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        taken
    }

    /// A length, then up to that many bytes. The length is one byte, or for 255 two more bytes, so
    /// bodies of any size a frame can hold stay reachable.
    pub fn sized(&mut self) -> &'a [u8] {
        let len = match self.u8() {
            255 => usize::from(self.u16()),
            len => usize::from(len),
        };
        self.bytes(len)
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }
}

/// The one real clock reading of the process; every session time is this plus an offset the input chose.
pub fn base_time() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// How far a step byte moves the simulated clock: mostly small steps, sometimes past a ping interval
/// (1 s) or towards the 10 s timeouts.
pub fn time_step(code: u8) -> Duration {
    match code % 8 {
        0 => Duration::ZERO,
        1 => Duration::from_millis(1),
        2 => Duration::from_millis(40),
        3 => Duration::from_millis(300),
        4 => Duration::from_millis(999),
        5 => Duration::from_millis(1_001),
        6 => Duration::from_secs(4),
        _ => Duration::from_millis(9_999),
    }
}
