//! Loom models of the lock-free correlation table: every interleaving (up to the preemption bound) of
//! small concurrent scenarios, with loom checking the atomics' orderings and every access to a slot's
//! value cell.
//!
//! Run: `RUSTFLAGS="--cfg gatekit_loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom_correlation`
//! (`LOOM_MAX_PREEMPTIONS` overrides the default bound).
//!
//! Every model was checked against deliberately weakened variants of the table (each Acquire or
//! Release on the value's path turned Relaxed, the generation or epoch bump removed, the BUSY wait
//! removed, the expiry re-check removed): each weakening fails at least one model.
#![cfg(gatekit_loom)]

use gatekit::correlation::{Key, PendingTable};
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::sync::Arc;
use loom::thread;

/// Preemption bound when `LOOM_MAX_PREEMPTIONS` is unset. These models are small enough that 100
/// (far more than any of their schedules needs) is in effect exhaustive, and the file still runs
/// in about 2 s (bound 3: a tenth of that). Keep new models that small, or lower this.
const DEFAULT_PREEMPTIONS: usize = 100;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    builder.check(f);
}

/// Two threads insert and complete their own entries in a two-slot table: both inserts succeed,
/// each gets its own value back, and the free list is whole afterwards.
#[test]
fn concurrent_insert_and_complete() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(2));
        let workers: Vec<_> = (0..2usize)
            .map(|i| {
                let table = Arc::clone(&table);
                thread::spawn(move || {
                    let key = table
                        .insert(Box::new(i), 0)
                        .expect("two slots, two inserts");
                    assert_eq!(table.complete(key).map(|v| *v), Some(i));
                    key
                })
            })
            .collect();
        let keys: Vec<_> = workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect();
        assert!(table.is_empty());
        let a = table.insert(Box::new(10), 0).expect("slot free again");
        let b = table.insert(Box::new(11), 0).expect("slot free again");
        assert_ne!(a.index(), b.index(), "free list handed out one slot twice");
        assert!(
            !keys.contains(&a) && !keys.contains(&b),
            "a reused slot got a new generation"
        );
    });
}

/// The free list's links change under a concurrent pop: one thread takes both slots and returns
/// them in the opposite order (rewriting both links) while another pops and pushes. The stack must
/// stay a permutation of the indices: afterwards both slots can be taken, and they are distinct.
#[test]
fn free_list_churn() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(2));
        let churner = {
            let table = Arc::clone(&table);
            thread::spawn(move || {
                let a = table.insert(Box::new(1), 0).ok();
                let b = table.insert(Box::new(2), 0).ok();
                for key in [a, b].into_iter().flatten() {
                    assert!(table.complete(key).is_some());
                }
            })
        };
        if let Ok(key) = table.insert(Box::new(3), 0) {
            assert_eq!(table.complete(key).map(|v| *v), Some(3));
        }
        churner.join().expect("churner");
        assert!(table.is_empty());
        let a = table.insert(Box::new(4), 0).expect("first slot");
        let b = table.insert(Box::new(5), 0).expect("second slot");
        assert_ne!(a.index(), b.index(), "one slot handed out twice");
        assert!(
            table.insert(Box::new(6), 0).is_err(),
            "a slot appeared from nowhere"
        );
    });
}

/// The key reaches the completer through a Relaxed atomic, i.e. with no synchronisation of its own
/// (on the wire it travels through an upstream process): the table alone must make the value
/// visible to whoever completes or drains it.
#[test]
fn key_handed_over_without_synchronisation() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(1));
        let wire = Arc::new(AtomicU64::new(0));
        let requester = {
            let (table, wire) = (Arc::clone(&table), Arc::clone(&wire));
            thread::spawn(move || {
                let key = table.insert(Box::new(5), 0).expect("empty table");
                wire.store(key.to_u64(), Ordering::Relaxed);
            })
        };
        let seen = Key::from_u64(wire.load(Ordering::Relaxed)).filter(|k| k.to_u64() != 0);
        if let Some(key) = seen {
            // Without synchronisation the entry may not be visible yet (on the wire the key
            // travels through syscalls, which do synchronise); what is seen must be the value.
            let peeked = table.with(key, |v| **v);
            assert!(matches!(peeked, Some(5) | None), "peeked {peeked:?}");
        }
        let completed = seen.and_then(|key| table.complete(key)).map(|v| *v);
        requester.join().expect("requester");
        let mut rest = Vec::new();
        table.drain(&mut rest);
        let drained: Vec<i32> = rest.iter().map(|(_, v)| **v).collect();
        match completed {
            Some(v) => assert!(v == 5 && drained.is_empty()),
            None => assert_eq!(drained, vec![5]),
        }
    });
}

/// Two threads fight over a single slot: pop and push of the same index race. Whoever gets it
/// completes it; nothing is lost or duplicated.
#[test]
fn contended_single_slot() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(1));
        let workers: Vec<_> = (0..2usize)
            .map(|i| {
                let table = Arc::clone(&table);
                thread::spawn(move || match table.insert(Box::new(i), 0) {
                    Ok(key) => {
                        assert_eq!(table.complete(key).map(|v| *v), Some(i));
                        true
                    }
                    Err(value) => {
                        assert_eq!(*value, i, "rejected insert returns its own value");
                        false
                    }
                })
            })
            .collect();
        let winners = workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .filter(|&won| won)
            .count();
        assert!(winners >= 1, "the first insert always finds the slot");
        assert!(table.is_empty());
        assert!(
            table.insert(Box::new(9), 0).is_ok(),
            "slot back on the free list"
        );
    });
}

/// A response arrives just as the entry times out: exactly one of `complete` and `expire` gets it.
#[test]
fn complete_vs_expire_exactly_one_wins() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(2));
        let key = table.insert(Box::new(7), 5).expect("empty table");
        let completer = {
            let table = Arc::clone(&table);
            thread::spawn(move || table.complete(key).map(|v| *v))
        };
        let mut expired = Vec::new();
        table.expire(10, &mut expired);
        let completed = completer.join().expect("completer");
        match (completed, expired.as_slice()) {
            (Some(7), []) => {}
            (None, [(k, v)]) => assert!(*k == key && **v == 7),
            other => panic!("value not handed out exactly once: {other:?}"),
        }
        assert!(table.is_empty());
    });
}

/// The timer loop (`next_deadline`, then `expire`) meets a slot that is being reused: the new
/// occupant is not yet due, and both must judge it by its own deadline, never by the previous
/// occupant's (which the timer's thread wrote itself).
#[test]
fn timer_sees_the_new_occupants_deadline() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(1));
        let old = table.insert(Box::new(1), 0).expect("empty table");
        assert!(table.complete(old).is_some());
        // The inserter tells the timer "new entry" without synchronising. Besides being a
        // realistic worst case, this makes loom explore the insert landing first: its DPOR
        // remembers only an object's last access, so the inserter's own load of the state word
        // would hide the timer's earlier loads from the publishing store.
        let wakeup = Arc::new(AtomicU64::new(0));
        let inserter = {
            let (table, wakeup) = (Arc::clone(&table), Arc::clone(&wakeup));
            thread::spawn(move || {
                let key = table.insert(Box::new(2), 100).expect("slot freed");
                wakeup.store(1, Ordering::Relaxed);
                key
            })
        };
        let _woken = wakeup.load(Ordering::Relaxed);
        let hint = table.next_deadline();
        assert!(matches!(hint, None | Some(100)), "stale hint {hint:?}");
        let mut expired = Vec::new();
        table.expire(10, &mut expired);
        assert!(expired.is_empty(), "expired an entry that is due at 100");
        let new = inserter.join().expect("inserter");
        assert_eq!(table.complete(new).map(|v| *v), Some(2));
    });
}

/// The three ways out of the table race for one entry (response, timeout sweep, upstream death):
/// exactly one of them gets the value.
#[test]
fn complete_expire_drain_three_way() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(1));
        let key = table.insert(Box::new(8), 0).expect("empty table");
        let completer = {
            let table = Arc::clone(&table);
            thread::spawn(move || usize::from(table.complete(key).is_some()))
        };
        let drainer = {
            let table = Arc::clone(&table);
            thread::spawn(move || {
                let mut out = Vec::new();
                table.drain(&mut out);
                out.len()
            })
        };
        let mut expired = Vec::new();
        table.expire(0, &mut expired);
        let winners =
            expired.len() + completer.join().expect("completer") + drainer.join().expect("drainer");
        assert_eq!(winners, 1, "value handed out {winners} times");
        assert!(table.is_empty());
    });
}

/// Progress moves the deadline while a sweep runs: if `set_deadline` reported success, the entry
/// must not be expired under its old deadline.
#[test]
fn set_deadline_vs_expire() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(1));
        let key = table.insert(Box::new(3), 5).expect("empty table");
        let extender = {
            let table = Arc::clone(&table);
            thread::spawn(move || table.set_deadline(key, 100))
        };
        let mut expired = Vec::new();
        table.expire(10, &mut expired);
        let extended = extender.join().expect("extender");
        assert_eq!(extended, expired.is_empty(), "extended xor expired");
        assert_eq!(table.len(), usize::from(extended));
        if extended {
            assert_eq!(table.next_deadline(), Some(100));
        }
    });
}

/// A late duplicate of an old key races the slot's reuse: the stale key never completes the new
/// occupant, and the old value is still handed out exactly once.
#[test]
fn stale_key_never_completes_the_reused_slot() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(1));
        let old = table.insert(Box::new(1), 0).expect("empty table");
        let reuser = {
            let table = Arc::clone(&table);
            thread::spawn(move || {
                let first = table.complete(old).map(|v| *v);
                (first, table.insert(Box::new(2), 0).ok())
            })
        };
        let late = table.complete(old).map(|v| *v);
        let (first, new) = reuser.join().expect("reuser");
        assert_ne!(late, Some(2), "stale key completed the new entry");
        assert_eq!(
            [first, late].iter().flatten().count(),
            1,
            "old value handed out exactly once"
        );
        match new {
            Some(new) => {
                assert_ne!(new, old);
                assert_eq!(table.complete(new).map(|v| *v), Some(2));
            }
            // Only possible when the late completer won and had not yet freed the slot.
            None => assert_eq!(late, Some(1)),
        }
        assert!(table.is_empty());
    });
}

/// A peek races the response: `complete` waits out the reader (loom flags any overlap of the read
/// with the move-out), and always gets the value.
#[test]
fn with_vs_complete() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(1));
        let key = table.insert(Box::new(42), 0).expect("empty table");
        let reader = {
            let table = Arc::clone(&table);
            thread::spawn(move || table.with(key, |v| **v))
        };
        let completed = table.complete(key).map(|v| *v);
        let peeked = reader.join().expect("reader");
        assert_eq!(completed, Some(42), "a reader never makes complete fail");
        assert!(matches!(peeked, Some(42) | None));
        assert!(table.is_empty());
    });
}

/// The upstream dies while a request is being registered: every value ends up either drained or
/// still in the table, once.
#[test]
fn drain_vs_insert() {
    model(|| {
        let table = Arc::new(PendingTable::with_capacity(2));
        table.insert(Box::new(1), 0).expect("empty table");
        let inserter = {
            let table = Arc::clone(&table);
            thread::spawn(move || table.insert(Box::new(2), 0).is_ok())
        };
        let mut out = Vec::new();
        table.drain(&mut out);
        assert!(inserter.join().expect("inserter"), "a slot was free");
        table.drain(&mut out);
        let mut values: Vec<i32> = out.iter().map(|(_, v)| **v).collect();
        values.sort_unstable();
        assert_eq!(values, vec![1, 2]);
        assert!(table.is_empty());
    });
}
