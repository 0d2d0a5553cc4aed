//! Unit tests of the correlation table: sequential contract, std-thread stress, and a proptest of
//! arbitrary operation sequences against the `HashMap` model.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use proptest::prelude::*;

use super::model::{check_ops_against_model, ops_from_bytes, Op, MODEL_CAPACITY};
use super::{Key, PendingTable, GEN_BITS, INDEX_BITS, MAX_CAPACITY};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn table_is_send_and_sync_for_send_values() {
    // `Cell` is Send but not Sync: the table must still be shareable (values are never shared).
    assert_send_sync::<PendingTable<std::cell::Cell<u64>>>();
    assert_send_sync::<PendingTable<Vec<u8>>>();
}

#[test]
fn key_packing_round_trips_and_stays_json_safe() {
    assert_eq!(INDEX_BITS + GEN_BITS, 53);
    let key = Key::new(MAX_CAPACITY - 1, super::GEN_MAX);
    assert!(key.to_u64() < 1 << 53);
    assert_eq!(key.index(), MAX_CAPACITY - 1);
    assert_eq!(key.generation(), super::GEN_MAX);
    assert_eq!(Key::from_u64(key.to_u64()), Some(key));
    assert_eq!(Key::from_u64(1 << 53), None);
    assert_eq!(Key::from_u64(u64::MAX), None);
    assert_eq!(key.to_string(), key.to_u64().to_string());
}

#[test]
fn generations_wrap_without_ever_producing_zero() {
    assert_eq!(
        super::next_generation(super::GEN_MAX),
        super::FIRST_GENERATION
    );
    assert_eq!(super::next_generation(1), 2);
    let table = PendingTable::with_capacity(1);
    let key = table.insert((), 0).expect("empty table");
    assert_ne!(key.to_u64(), 0, "index 0 still yields a non-zero id");
}

#[test]
fn capacity_is_clamped() {
    assert_eq!(PendingTable::<u8>::with_capacity(0).capacity(), 1);
    assert_eq!(PendingTable::<u8>::with_capacity(5).capacity(), 5);
}

#[test]
fn full_table_returns_the_value() {
    let table = PendingTable::with_capacity(2);
    let a = table.insert("a".to_string(), 0).expect("slot free");
    let b = table.insert("b".to_string(), 0).expect("slot free");
    assert_ne!(a, b);
    assert_eq!(table.insert("c".to_string(), 0), Err("c".to_string()));
    assert_eq!(table.len(), 2);
    assert_eq!(table.complete(a).as_deref(), Some("a"));
    let c = table.insert("c".to_string(), 0).expect("a slot was freed");
    assert_eq!(c.index(), a.index(), "the freed slot is reused");
    assert_eq!(table.complete(c).as_deref(), Some("c"));
    assert_eq!(table.complete(b).as_deref(), Some("b"));
    assert!(table.is_empty());
}

#[test]
fn stale_key_never_reaches_the_new_occupant() {
    let table = PendingTable::with_capacity(1);
    let old = table.insert(1, 10).expect("empty");
    assert_eq!(table.complete(old), Some(1));
    assert_eq!(table.complete(old), None, "already taken");
    let new = table.insert(2, 20).expect("slot freed");
    assert_eq!(new.index(), old.index());
    assert_ne!(new, old);
    assert_eq!(table.complete(old), None);
    assert_eq!(table.with(old, |v| *v), None);
    assert!(!table.set_deadline(old, 0));
    assert_eq!(
        table.next_deadline(),
        Some(20),
        "stale set_deadline changed nothing"
    );
    assert_eq!(table.with(new, |v| *v), Some(2));
    assert_eq!(table.complete(new), Some(2));
}

#[test]
fn unknown_keys_are_rejected() {
    let table = PendingTable::<u8>::with_capacity(4);
    let key = table.insert(7, 0).expect("empty");
    let out_of_range = Key::new(100, key.generation());
    assert_eq!(table.complete(out_of_range), None);
    assert_eq!(table.with(out_of_range, |v| *v), None);
    assert_eq!(
        table.complete(Key::new(key.index(), key.generation() + 1)),
        None
    );
    assert_eq!(table.complete(key), Some(7));
}

#[test]
fn expire_takes_exactly_the_due_entries_and_respects_new_deadlines() {
    let table = PendingTable::with_capacity(8);
    let keys: Vec<Key> = [30, 10, 20, 10]
        .iter()
        .enumerate()
        .map(|(i, &d)| table.insert(i, d).expect("room"))
        .collect();
    assert_eq!(table.next_deadline(), Some(10));
    assert!(
        table.set_deadline(keys[3], 40),
        "progress extends the timeout"
    );
    let mut out = Vec::new();
    table.expire(9, &mut out);
    assert!(out.is_empty(), "nothing is due before 10");
    table.expire(20, &mut out);
    let got = std::mem::take(&mut out);
    assert_eq!(
        got,
        vec![(keys[1], 1), (keys[2], 2)],
        "due entries, slot order"
    );
    assert_eq!(table.complete(keys[1]), None, "an expired key is stale");
    assert_eq!(table.next_deadline(), Some(30));
    table.expire(u64::MAX, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(table.next_deadline(), None);
    assert!(table.is_empty());
}

#[test]
fn drain_empties_and_the_table_stays_usable() {
    let table = PendingTable::with_capacity(4);
    let keys: Vec<Key> = (0..4).map(|i| table.insert(i, 0).expect("room")).collect();
    assert_eq!(table.complete(keys[1]), Some(1));
    let mut out = Vec::new();
    table.drain(&mut out);
    assert_eq!(out, vec![(keys[0], 0), (keys[2], 2), (keys[3], 3)]);
    assert!(table.is_empty());
    assert!(keys.iter().all(|&k| table.complete(k).is_none()));
    let again: Vec<Key> = (0..4).map(|i| table.insert(i, 0).expect("room")).collect();
    assert!(again.iter().all(|k| !keys.contains(k)));
}

#[test]
fn find_returns_first_match_in_slot_order() {
    let table = PendingTable::with_capacity(4);
    let keys: Vec<Key> = ["x", "y", "x"]
        .iter()
        .map(|s| table.insert(*s, 0).expect("room"))
        .collect();
    assert_eq!(table.find(|v| *v == "x"), Some(keys[0]));
    assert_eq!(table.find(|v| *v == "y"), Some(keys[1]));
    assert_eq!(table.find(|v| *v == "z"), None);
    assert_eq!(table.len(), 3, "find removes nothing");
}

#[test]
fn panicking_reader_releases_its_slot() {
    let table = PendingTable::with_capacity(1);
    let key = table.insert(5u32, 0).expect("empty");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        table.with(key, |_| panic!("reader failed"))
    }));
    assert!(caught.is_err());
    assert_eq!(table.complete(key), Some(5), "slot is not left BUSY");
}

#[test]
fn dropping_the_table_drops_remaining_values() {
    let value = Arc::new(());
    let table = PendingTable::with_capacity(4);
    let k = table.insert(Arc::clone(&value), 0).expect("room");
    table.insert(Arc::clone(&value), 0).expect("room");
    drop(table.complete(k));
    assert_eq!(Arc::strong_count(&value), 2);
    drop(table);
    assert_eq!(Arc::strong_count(&value), 1);
}

/// Each of two threads inserts and completes its own entries, sharing one small table, so slots and
/// the free list are contended. Every value must come back exactly once, to its own inserter.
#[test]
fn two_threads_insert_and_complete() {
    const PER_THREAD: usize = 20_000;
    let table = Arc::new(PendingTable::with_capacity(8));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let table = Arc::clone(&table);
            thread::spawn(move || {
                let mut sum = 0usize;
                let mut held = Vec::new();
                for i in 0..PER_THREAD {
                    let value = t * PER_THREAD + i;
                    // Keep up to three in flight so the threads interleave on the free list.
                    loop {
                        match table.insert(value, 0) {
                            Ok(key) => break held.push((key, value)),
                            Err(_) => thread::yield_now(),
                        }
                    }
                    if held.len() == 3 || i + 1 == PER_THREAD {
                        for (key, expected) in held.drain(..) {
                            assert_eq!(table.complete(key), Some(expected));
                            sum += expected;
                        }
                    }
                }
                sum
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().expect("worker")).sum();
    let n = 2 * PER_THREAD;
    assert_eq!(total, n * (n - 1) / 2);
    assert!(table.is_empty());
}

/// One thread inserts and hands keys to a completer while a third sweeps `expire` with every entry
/// already due: each value must be taken by exactly one of them.
#[test]
fn complete_and_expire_race_hands_out_each_value_once() {
    const N: usize = 10_000;
    let table = Arc::new(PendingTable::with_capacity(16));
    let done = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<Key>();
    let producer = {
        let table = Arc::clone(&table);
        thread::spawn(move || {
            for i in 0..N {
                let key = loop {
                    match table.insert(i, 0) {
                        Ok(key) => break key,
                        Err(_) => thread::yield_now(),
                    }
                };
                tx.send(key).expect("completer alive");
            }
        })
    };
    let completer = {
        let (table, done) = (Arc::clone(&table), Arc::clone(&done));
        thread::spawn(move || {
            let got: Vec<usize> = rx.iter().filter_map(|k| table.complete(k)).collect();
            done.store(1, Ordering::Release);
            got
        })
    };
    let mut expired = Vec::new();
    while done.load(Ordering::Acquire) == 0 {
        table.expire(0, &mut expired);
        thread::yield_now();
    }
    table.expire(0, &mut expired);
    producer.join().expect("producer");
    let completed = completer.join().expect("completer");
    let mut all: Vec<usize> = completed;
    all.extend(expired.into_iter().map(|(_, v)| v));
    assert_eq!(all.len(), N, "every value taken exactly once");
    let unique: HashSet<usize> = all.into_iter().collect();
    assert_eq!(unique.len(), N);
    assert!(table.is_empty());
}

/// A reader peeks at and re-times whatever key was issued last while its owner completes it: the
/// owner must always get its own intact value back (readers never take, and `complete` waits out a
/// BUSY reader instead of failing).
#[test]
fn readers_never_disturb_completion() {
    const N: u64 = 5_000;
    let table = Arc::new(PendingTable::with_capacity(4));
    let latest = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (table, latest, done) = (Arc::clone(&table), Arc::clone(&latest), Arc::clone(&done));
        thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                let Some(key) = Key::from_u64(latest.load(Ordering::Acquire)) else {
                    continue;
                };
                if let Some(intact) = table.with(key, |v: &Vec<u64>| v.iter().all(|&x| x == v[0])) {
                    assert!(intact, "reader saw a torn value");
                }
                table.set_deadline(key, 7);
            }
        })
    };
    for i in 0..N {
        let key = table
            .insert(vec![i; 4], 1)
            .expect("only one entry in flight");
        latest.store(key.to_u64(), Ordering::Release);
        assert_eq!(table.complete(key), Some(vec![i; 4]));
    }
    done.store(true, Ordering::Release);
    reader.join().expect("reader");
    assert!(table.is_empty());
}

#[test]
fn model_sample_sequence_agrees() {
    let ops = vec![
        Op::Insert { deadline: 5 },
        Op::Insert { deadline: 1 },
        Op::SetDeadline {
            pick: 0,
            deadline: 0,
        },
        Op::Expire { now: 2 },
        Op::Complete { pick: 1 },
        Op::Insert { deadline: 3 },
        Op::Find { divisor: 2 },
        Op::Complete { pick: 0 },
        Op::NextDeadline,
        Op::Drain,
    ];
    check_ops_against_model(&ops);
    // Fill past capacity: the model checks the rejections.
    check_ops_against_model(&vec![Op::Insert { deadline: 0 }; MODEL_CAPACITY + 3]);
}

#[test]
fn ops_from_bytes_is_total() {
    assert!(ops_from_bytes(&[]).is_empty());
    assert_eq!(ops_from_bytes(&[0]), vec![Op::Insert { deadline: 0 }]);
    let ops = ops_from_bytes(&[0, 7, 2, 3, 5, 1, 40, 8, 0, 8, 1, 7, 33, 5]);
    let expected = vec![
        Op::Insert { deadline: 7 },
        Op::Complete { pick: 3 },
        Op::SetDeadline {
            pick: 1,
            deadline: 8,
        },
        Op::NextDeadline,
        Op::Drain,
        Op::Expire { now: 1 },
        Op::SetDeadline {
            pick: 0,
            deadline: 0,
        },
    ];
    assert_eq!(ops, expected, "missing trailing bytes read as 0");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_ops_agree_with_the_model(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_ops_against_model(&ops_from_bytes(&data));
    }
}
