//! Two threads, at least 100 million messages in release mode: every message arrives
//! exactly once, in order, and intact. Both ends mix every API (single push/pop, claims of
//! varying size, drains, slices) so that every path crosses the wrap-around many times.
#![allow(clippy::cast_possible_truncation)] // test counts are small
#![cfg(not(loom))]

use std::thread;

/// A 56-byte message whose every word is derived from its sequence number, so a torn or
/// stale read is caught, not just a reordering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Probe([u64; 7]);

impl Probe {
    fn new(sequence: u64) -> Probe {
        let mut words = [0u64; 7];
        for (index, word) in words.iter_mut().enumerate() {
            *word = sequence.rotate_left(index as u32 * 9)
                ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(index as u64);
        }
        Probe(words)
    }
}

const MESSAGES: u64 = if cfg!(debug_assertions) {
    4_000_000
} else {
    100_000_000
};
const CAPACITY: usize = 1024;

fn pin(index: usize) {
    // Pin where the machine allows, so the two ends really run on two cores.
    if let Some(cores) = core_affinity::get_core_ids() {
        if cores.len() >= 2 {
            core_affinity::set_for_current(cores[index]);
        }
    }
}

#[test]
fn every_message_arrives_once_in_order_and_intact() {
    let (mut producer, mut consumer) = crossline_ring::channel::<Probe>(CAPACITY).unwrap();
    let writer = thread::spawn(move || {
        pin(0);
        let mut next = 0u64;
        let mut round = 0u64;
        let mut batch = [Probe::new(0); 64];
        while next < MESSAGES {
            round += 1;
            match round % 3 {
                0 => {
                    if producer.try_push(Probe::new(next)).is_ok() {
                        next += 1;
                    }
                }
                1 => {
                    let want = ((round % 61) + 1).min(MESSAGES - next) as usize;
                    let mut claim = producer.claim(want);
                    while claim.remaining() > 0 {
                        claim.write(Probe::new(next)).unwrap();
                        next += 1;
                    }
                    claim.publish();
                }
                _ => {
                    let want = ((round % 64) + 1).min(MESSAGES - next) as usize;
                    for (offset, slot) in batch[..want].iter_mut().enumerate() {
                        *slot = Probe::new(next + offset as u64);
                    }
                    next += producer.push_slice(&batch[..want]) as u64;
                }
            }
        }
    });
    pin(1);
    let mut expected = 0u64;
    let mut round = 0u64;
    let mut out = [Probe::new(0); 48];
    while expected < MESSAGES {
        round += 1;
        match round % 3 {
            0 => {
                if let Some(probe) = consumer.try_pop() {
                    assert_eq!(probe, Probe::new(expected));
                    expected += 1;
                }
            }
            1 => {
                consumer.drain((round % 97 + 1) as usize, |probe| {
                    assert_eq!(*probe, Probe::new(expected));
                    expected += 1;
                });
            }
            _ => {
                let count = consumer.pop_slice(&mut out);
                for probe in &out[..count] {
                    assert_eq!(*probe, Probe::new(expected));
                    expected += 1;
                }
            }
        }
    }
    writer.join().unwrap();
    assert_eq!(expected, MESSAGES);
    assert!(consumer.is_empty(), "nothing beyond the last message");
    assert!(consumer.is_producer_closed());
}
