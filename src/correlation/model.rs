//! A reference model of [`PendingTable`], shared by the property tests and the correlation fuzz
//! target: a sequence of [`Op`]s is applied to a real table and to a `HashMap`, and every answer must
//! agree exactly.
//!
//! Single-threaded by design (the concurrent behaviour is loom's job); what it pins down is the
//! sequential contract: fresh keys, stale keys never matching, full-table rejection, slot-order
//! results of `expire`/`drain`/`find`, `len`, `next_deadline`, and that every value is dropped exactly
//! once (including those still inside the table when it is dropped).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::{Key, PendingTable, INDEX_BITS};

/// Capacity of the table under test: small, so ops fill it, reuse slots and hit stale keys often.
pub const MODEL_CAPACITY: usize = 8;

/// One operation on the table. Keys are referred to by position in the history of issued keys
/// (taken modulo its length), so any byte string yields meaningful operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Insert the next value with this deadline.
    Insert { deadline: u64 },
    /// Complete a previously issued key (live or stale).
    Complete { pick: usize },
    /// Complete a key forged from a wire integer (often unknown, out of range, or stale).
    CompleteRaw { raw: u64 },
    /// Peek at a previously issued key.
    With { pick: usize },
    /// Move a previously issued key's deadline.
    SetDeadline { pick: usize, deadline: u64 },
    /// Find the first entry (slot order) whose value is divisible by `divisor` (>= 1).
    Find { divisor: u64 },
    /// Expire everything due at `now`.
    Expire { now: u64 },
    /// Ask for the earliest deadline.
    NextDeadline,
    /// Remove everything.
    Drain,
}

/// Deadlines and clock values stay in a small range so expiries actually happen.
const TIME_RANGE: u8 = 32;

/// Decodes arbitrary bytes into operations: an opcode byte, then one or two argument bytes (missing
/// trailing bytes read as 0). Total: every input decodes, so a fuzzer explores freely.
pub fn ops_from_bytes(data: &[u8]) -> Vec<Op> {
    let mut bytes = data.iter().copied();
    let mut ops = Vec::with_capacity(data.len() / 2 + 1);
    while let Some(code) = bytes.next() {
        let a = bytes.next().unwrap_or(0);
        let op = match code % 9 {
            0 | 1 => Op::Insert {
                deadline: u64::from(a % TIME_RANGE),
            },
            2 => Op::Complete { pick: a.into() },
            // index 0..16 (half out of range), generation 0..16 (collides with real ones).
            3 => Op::CompleteRaw {
                raw: (u64::from(a >> 4) << INDEX_BITS) | u64::from(a & 0xf),
            },
            4 => Op::With { pick: a.into() },
            5 => Op::SetDeadline {
                pick: a.into(),
                deadline: u64::from(bytes.next().unwrap_or(0) % TIME_RANGE),
            },
            6 => Op::Find {
                divisor: u64::from(a % 4) + 1,
            },
            7 => Op::Expire {
                now: u64::from(a % TIME_RANGE),
            },
            _ if a % 2 == 0 => Op::NextDeadline,
            _ => Op::Drain,
        };
        ops.push(op);
    }
    ops
}

/// A value that counts how many of its kind are alive, to prove each is dropped exactly once.
#[derive(Debug)]
struct Tracked {
    id: u64,
    alive: Rc<Cell<usize>>,
}

impl Tracked {
    fn new(id: u64, alive: &Rc<Cell<usize>>) -> Self {
        alive.set(alive.get() + 1);
        Tracked {
            id,
            alive: Rc::clone(alive),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.alive.set(self.alive.get() - 1);
    }
}

/// Applies `ops` to a [`PendingTable`] of [`MODEL_CAPACITY`] and to a `HashMap` model.
///
/// # Panics
/// On the first disagreement between the two, or if a value is leaked or dropped twice.
pub fn check_ops_against_model(ops: &[Op]) {
    let alive = Rc::new(Cell::new(0));
    let table = PendingTable::with_capacity(MODEL_CAPACITY);
    // key -> (value id, deadline)
    let mut live: HashMap<Key, (u64, u64)> = HashMap::new();
    let mut issued: Vec<Key> = Vec::new();
    let mut seen: HashSet<Key> = HashSet::new();
    let mut next_id = 0u64;
    let pick = |issued: &[Key], p: usize| issued.get(p % issued.len().max(1)).copied();
    // Expected slot-order listing of the live entries selected by `keep`.
    let slot_order = |live: &HashMap<Key, (u64, u64)>, keep: &dyn Fn(&(u64, u64)) -> bool| {
        let mut v: Vec<(Key, u64)> = live
            .iter()
            .filter(|(_, e)| keep(e))
            .map(|(k, e)| (*k, e.0))
            .collect();
        v.sort_by_key(|(k, _)| k.index());
        v
    };

    for op in ops {
        match *op {
            Op::Insert { deadline } => {
                let id = next_id;
                next_id += 1;
                match table.insert(Tracked::new(id, &alive), deadline) {
                    Ok(key) => {
                        assert!(live.len() < MODEL_CAPACITY, "insert into a full table");
                        assert!(key.index() < MODEL_CAPACITY);
                        assert!(seen.insert(key), "key {key:?} issued twice");
                        assert!(live.keys().all(|k| k.index() != key.index()));
                        assert_eq!(Key::from_u64(key.to_u64()), Some(key));
                        live.insert(key, (id, deadline));
                        issued.push(key);
                    }
                    Err(value) => {
                        assert_eq!(live.len(), MODEL_CAPACITY, "spurious full table");
                        assert_eq!(value.id, id, "rejected insert must hand the value back");
                    }
                }
            }
            Op::Complete { pick: p } => {
                if let Some(key) = pick(&issued, p) {
                    let got = table.complete(key).map(|v| v.id);
                    assert_eq!(got, live.remove(&key).map(|e| e.0), "complete {key:?}");
                }
            }
            Op::CompleteRaw { raw } => {
                let key = Key::from_u64(raw).expect("forged keys are below 2^53");
                let got = table.complete(key).map(|v| v.id);
                assert_eq!(got, live.remove(&key).map(|e| e.0), "complete raw {raw}");
            }
            Op::With { pick: p } => {
                if let Some(key) = pick(&issued, p) {
                    let got = table.with(key, |v| v.id);
                    assert_eq!(got, live.get(&key).map(|e| e.0), "with {key:?}");
                }
            }
            Op::SetDeadline { pick: p, deadline } => {
                if let Some(key) = pick(&issued, p) {
                    let expected = live.get_mut(&key).map(|e| e.1 = deadline).is_some();
                    assert_eq!(table.set_deadline(key, deadline), expected, "set {key:?}");
                }
            }
            Op::Find { divisor } => {
                let expected = slot_order(&live, &|e| e.0 % divisor == 0)
                    .first()
                    .map(|e| e.0);
                assert_eq!(
                    table.find(|v| v.id % divisor == 0),
                    expected,
                    "find /{divisor}"
                );
            }
            Op::Expire { now } => {
                let expected = slot_order(&live, &|e| e.1 <= now);
                let mut out = Vec::new();
                table.expire(now, &mut out);
                let got: Vec<(Key, u64)> = out.iter().map(|(k, v)| (*k, v.id)).collect();
                assert_eq!(got, expected, "expire at {now}");
                live.retain(|_, e| e.1 > now);
            }
            Op::NextDeadline => {
                let expected = live.values().map(|e| e.1).min();
                assert_eq!(table.next_deadline(), expected, "next_deadline");
            }
            Op::Drain => {
                let expected = slot_order(&live, &|_| true);
                let mut out = Vec::new();
                table.drain(&mut out);
                let got: Vec<(Key, u64)> = out.iter().map(|(k, v)| (*k, v.id)).collect();
                assert_eq!(got, expected, "drain");
                live.clear();
            }
        }
        assert_eq!(table.len(), live.len(), "len after {op:?}");
        assert_eq!(table.is_empty(), live.is_empty());
        assert_eq!(alive.get(), live.len(), "values alive after {op:?}");
    }
    drop(table);
    assert_eq!(
        alive.get(),
        0,
        "dropping the table must drop what it still holds"
    );
}
