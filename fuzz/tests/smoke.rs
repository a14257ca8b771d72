//! The quick check `make test` runs: every fuzz target's body, on its seeds and on a few thousand
//! deterministic mutations of them, without libFuzzer or instrumentation. The long coverage-guided
//! runs are `scripts/fuzz.sh run` (`make fuzz`).
//!
//! `SEALNET_FUZZ_SMOKE_RUNS` sets the number of generated inputs per target (default 3000);
//! `SEALNET_FUZZ_SMOKE_SEED` changes the generator's seed.

use std::panic::{catch_unwind, AssertUnwindSafe};

use sealnet_fuzz::{seeds, target};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Interesting bytes for lengths, counts and flags.
const SPECIAL: &[u8] = &[0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 254, 255];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = if seeds.is_empty() || rng.below(8) == 0 {
        (0..rng.below(64)).map(|_| rng.byte()).collect()
    } else {
        seeds[rng.below(seeds.len())].clone()
    };
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => data[rng.below(len)] ^= 1 << rng.below(8),
            1 if len > 0 => data[rng.below(len)] = rng.byte(),
            2 if len > 0 => data[rng.below(len)] = SPECIAL[rng.below(SPECIAL.len())],
            3 => data.insert(rng.below(len + 1), rng.byte()),
            4 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(8)).min(len);
                data.drain(at..end);
            }
            5 if len > 0 => data.truncate(rng.below(len)),
            6 if !seeds.is_empty() => {
                // Splice: a prefix of this input and a suffix of another seed.
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(len + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[rng.below(other.len() + 1)..]);
            }
            _ => {
                for _ in 0..1 + rng.below(16) {
                    data.push(rng.byte());
                }
            }
        }
    }
    data
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn smoke(name: &str) {
    let target = target(name).expect("a known target");
    let seeds = seeds::seeds(name);
    assert!(!seeds.is_empty(), "{name} has no seeds");
    let runs: usize = std::env::var("SEALNET_FUZZ_SMOKE_RUNS").ok().and_then(|runs| runs.parse().ok()).unwrap_or(3000);
    let seed: u64 = std::env::var("SEALNET_FUZZ_SMOKE_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or(1);
    let mut rng = Rng(name
        .bytes()
        .fold(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)));
    let inputs = seeds.iter().cloned().chain((0..runs).map(|_| mutate(&mut rng, &seeds)));
    for (index, input) in inputs.enumerate() {
        if catch_unwind(AssertUnwindSafe(|| (target.run)(&input))).is_err() {
            panic!(
                "{name} failed on input #{index} ({} bytes): {}\nreplay it with: scripts/fuzz.sh repro {name} <file holding these bytes>",
                input.len(),
                hex(&input)
            );
        }
    }
}

macro_rules! smoke_tests {
    ($($name:ident)*) => {$(
        #[test]
        fn $name() {
            smoke(stringify!($name));
        }
    )*};
}

smoke_tests! {
    frame_header params messages noise_responder noise_initiator server_session client_session
    encrypted_server_session encrypted_client_session datagram_endpoint datagram_server_session
    encrypted_datagram_session secure_server_session secure_client_session noise_psk_responder
    auth_once_server_session
}

#[test]
fn every_target_has_a_smoke_test_and_a_binary() {
    let manifest = include_str!("../Cargo.toml");
    for target in sealnet_fuzz::TARGETS {
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{}.rs\"", target.name)),
            "{} has no [[bin]]",
            target.name
        );
    }
    assert_eq!(sealnet_fuzz::TARGETS.len(), 16);
}
