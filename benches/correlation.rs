//! The pending-request table: gatekit's lock-free `PendingTable` against `Mutex<HashMap<u64, T>>`
//! (the baseline: what most proxies use) and `dashmap` (a sharded concurrent map).
//!
//! One iteration = one request's life on the hot path: insert a new entry (assigning its upstream
//! id), then complete the oldest entry still in flight, so exactly `in_flight` entries stay in the
//! table and completions arrive in FIFO order, as they do from a busy upstream. Measured with 1
//! thread and with 2 threads working the same table at once (each with its own share of the
//! in-flight entries); throughput counts insert+complete pairs across all threads.

#[path = "support/mod.rs"]
mod support;

use std::collections::{HashMap, VecDeque};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use dashmap::DashMap;
use gatekit::correlation::{Key, PendingTable};

/// Entries kept in flight: a typical session, and a heavily loaded gateway.
const IN_FLIGHT: [usize; 2] = [1_000, 100_000];

/// Threads working the table at once (this machine has 2 cores).
const THREADS: [usize; 2] = [1, 2];

/// A stand-in for the gateway's pending entry: the same order of size (client id handle, method,
/// timestamps), and `Copy` so moving it costs what moving the real one does.
#[derive(Debug, Clone, Copy)]
struct Entry([u64; 4]);

/// The two operations every candidate offers. Each assigns its own keys, as the gateway's table
/// must (the key becomes the upstream request id).
trait Pending: Sync {
    type Key: Copy + Send;
    fn with_in_flight(n: usize) -> Self;
    fn insert(&self, e: Entry) -> Self::Key;
    fn complete(&self, k: Self::Key) -> Option<Entry>;
}

impl Pending for PendingTable<Entry> {
    type Key = Key;
    fn with_in_flight(n: usize) -> Self {
        // One spare slot per thread: each inserts before it completes.
        PendingTable::with_capacity(n + THREADS[THREADS.len() - 1])
    }
    fn insert(&self, e: Entry) -> Key {
        self.insert(e, e.0[0])
            .expect("capacity covers the in-flight entries")
    }
    fn complete(&self, k: Key) -> Option<Entry> {
        PendingTable::complete(self, k)
    }
}

/// `Mutex<HashMap>` with the id counter under the same lock: one lock round trip per operation.
struct MutexMap(Mutex<(u64, HashMap<u64, Entry>)>);

impl Pending for MutexMap {
    type Key = u64;
    fn with_in_flight(n: usize) -> Self {
        MutexMap(Mutex::new((0, HashMap::with_capacity(n))))
    }
    fn insert(&self, e: Entry) -> u64 {
        let mut g = self.0.lock().expect("no panics while locked");
        g.0 += 1;
        let k = g.0;
        g.1.insert(k, e);
        k
    }
    fn complete(&self, k: u64) -> Option<Entry> {
        self.0.lock().expect("no panics while locked").1.remove(&k)
    }
}

/// `DashMap` with an atomic id counter.
struct Dash(AtomicU64, DashMap<u64, Entry>);

impl Pending for Dash {
    type Key = u64;
    fn with_in_flight(n: usize) -> Self {
        Dash(AtomicU64::new(0), DashMap::with_capacity(n))
    }
    fn insert(&self, e: Entry) -> u64 {
        let k = self.0.fetch_add(1, Ordering::Relaxed);
        self.1.insert(k, e);
        k
    }
    fn complete(&self, k: u64) -> Option<Entry> {
        self.1.remove(&k).map(|(_, e)| e)
    }
}

/// `iters` insert+complete pairs on one thread's FIFO of in-flight keys.
fn churn<P: Pending>(table: &P, fifo: &mut VecDeque<P::Key>, iters: u64) {
    for i in 0..iters {
        let k = table.insert(Entry([i, 1, 2, 3]));
        fifo.push_back(k);
        let oldest = fifo.pop_front().expect("fifo is never empty");
        black_box(table.complete(oldest).expect("in-flight keys are live"));
    }
}

/// One benchmark: a table holding `in_flight` entries split over `threads` FIFOs.
fn run<P: Pending>(
    c: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    in_flight: usize,
    threads: usize,
) {
    let table = P::with_in_flight(in_flight);
    let mut fifos: Vec<VecDeque<P::Key>> = (0..threads)
        .map(|t| {
            let share = in_flight / threads + usize::from(t < in_flight % threads);
            (0..share)
                .map(|i| table.insert(Entry([i as u64; 4])))
                .collect()
        })
        .collect();
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            if threads == 1 {
                let start = Instant::now();
                churn(&table, &mut fifos[0], iters);
                return start.elapsed();
            }
            // Threads start together at the barrier; the slowest one's time is the iteration's.
            let barrier = Barrier::new(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = fifos
                    .iter_mut()
                    .map(|fifo| {
                        let (table, barrier) = (&table, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            let start = Instant::now();
                            churn(table, fifo, iters);
                            start.elapsed()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("bench thread"))
                    .max()
                    .unwrap_or(Duration::ZERO)
            })
        })
    });
}

fn bench_correlation(c: &mut Criterion) {
    for in_flight in IN_FLIGHT {
        for threads in THREADS {
            let mut group = c.benchmark_group(format!(
                "correlation/{in_flight}-in-flight/{threads}-thread"
            ));
            group.throughput(Throughput::Elements(threads as u64));
            run::<MutexMap>(&mut group, "Mutex<HashMap> (baseline)", in_flight, threads);
            run::<Dash>(&mut group, "dashmap", in_flight, threads);
            run::<PendingTable<Entry>>(&mut group, "PendingTable", in_flight, threads);
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = bench_correlation
}
criterion_main!(benches);
