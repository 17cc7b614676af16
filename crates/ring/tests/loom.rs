//! Loom models: every interleaving (within loom's bounds) of a producer and a consumer
//! thread on a tiny ring. Run with `RUSTFLAGS="--cfg loom" cargo test -p crossline-ring
//! --test loom --release` (scripts/test.sh does).
#![allow(clippy::cast_possible_truncation)] // test counts are small
#![cfg(loom)]

use loom::thread;

/// Pops until `count` messages have arrived, yielding to loom while the ring is empty.
fn receive(consumer: &mut crossline_ring::Consumer<u64>, count: u64) -> Vec<u64> {
    let mut received = Vec::new();
    while (received.len() as u64) < count {
        match consumer.try_pop() {
            Some(value) => received.push(value),
            None => thread::yield_now(),
        }
    }
    received
}

#[test]
fn push_then_pop_across_threads() {
    loom::model(|| {
        let (mut producer, mut consumer) = crossline_ring::channel::<u64>(2).unwrap();
        let writer = thread::spawn(move || {
            producer.try_push(7).unwrap();
            producer.try_push(8).unwrap();
        });
        assert_eq!(receive(&mut consumer, 2), [7, 8]);
        writer.join().unwrap();
    });
}

#[test]
fn wrap_around_reuses_slots_only_after_release() {
    loom::model(|| {
        // Capacity 2, four messages: every slot is written twice, so the producer must
        // observe the consumer's release before overwriting.
        let (mut producer, mut consumer) = crossline_ring::channel::<u64>(2).unwrap();
        let writer = thread::spawn(move || {
            for value in 0..4u64 {
                let mut pending = value;
                while let Err(back) = producer.try_push(pending) {
                    pending = back;
                    thread::yield_now();
                }
            }
        });
        assert_eq!(receive(&mut consumer, 4), [0, 1, 2, 3]);
        writer.join().unwrap();
    });
}

#[test]
fn batch_claim_and_drain() {
    loom::model(|| {
        let (mut producer, mut consumer) = crossline_ring::channel::<u64>(4).unwrap();
        let writer = thread::spawn(move || {
            let mut sent = 0u64;
            while sent < 3 {
                let mut claim = producer.claim(3 - sent as usize);
                while claim.remaining() > 0 {
                    claim.write(sent).unwrap();
                    sent += 1;
                }
                claim.publish();
                thread::yield_now();
            }
        });
        let mut received = Vec::new();
        while received.len() < 3 {
            if consumer.drain(2, |value| received.push(*value)) == 0 {
                thread::yield_now();
            }
        }
        assert_eq!(received, [0, 1, 2]);
        writer.join().unwrap();
    });
}

#[test]
fn close_is_seen_after_the_last_message() {
    loom::model(|| {
        let (mut producer, mut consumer) = crossline_ring::channel::<u64>(2).unwrap();
        let writer = thread::spawn(move || {
            producer.try_push(1).unwrap();
            drop(producer);
        });
        // Once the consumer sees the producer closed, the message published before the
        // close must be visible.
        loop {
            if consumer.is_producer_closed() {
                assert_eq!(consumer.try_pop(), Some(1));
                break;
            }
            thread::yield_now();
        }
        writer.join().unwrap();
    });
}

#[test]
fn a_run_read_one_message_at_a_time_then_the_next_run() {
    loom::model(|| {
        // The consumer learns the first run's length from one stamp and reads the rest of
        // it without looking at their (unwritten) stamps; the slots' values must still be
        // visible. Then a second run, single push, on a ring that wraps.
        let (mut producer, mut consumer) = crossline_ring::channel::<u64>(4).unwrap();
        let writer = thread::spawn(move || {
            assert_eq!(producer.push_slice(&[1, 2, 3]), 3);
            let mut pending = 4;
            while let Err(back) = producer.try_push(pending) {
                pending = back;
                thread::yield_now();
            }
        });
        assert_eq!(receive(&mut consumer, 4), [1, 2, 3, 4]);
        writer.join().unwrap();
    });
}
