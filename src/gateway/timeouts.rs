//! Request deadlines: one sweeper task per session, no timer object per request.
//!
//! Each pending entry carries its deadline in its table slot; the sweeper wakes every tick and takes
//! out every expired entry in one linear pass per table (a few ns per slot, so 100k pending
//! requests cost well under a millisecond per tick). An expired request is answered with an error
//! naming the upstream and the limit, the upstream gets `notifications/cancelled` for its id, and a
//! late response is later counted and dropped. A timeout never restarts the upstream.
//! Server→client requests the client never answers expire the same way (the upstream gets an error).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::route::{cancel_upstream, fail, fmt_timeout};
use super::state::{Failure, Origin, Shared};
use super::stats::Stats;
use crate::framing::writer::OutFrame;
use crate::jsonrpc::error::{code, error_frame};

/// Finest sweep interval: bounds the sweeper's CPU use.
pub const MIN_TICK: Duration = Duration::from_millis(5);
/// Coarsest sweep interval: bounds how late a timeout may fire.
pub const MAX_TICK: Duration = Duration::from_millis(100);
/// Sweep interval as a fraction of the shortest timeout.
const TICKS_PER_TIMEOUT: u32 = 50;

/// The sweep interval for a set of timeouts.
pub fn tick_for(shortest: Duration) -> Duration {
    (shortest / TICKS_PER_TIMEOUT).clamp(MIN_TICK, MAX_TICK)
}

/// Runs until the session is cancelled.
pub async fn run_sweeper(shared: Arc<Shared>) {
    let shortest = shared
        .upstreams
        .iter()
        .map(|u| u.timeout)
        .min()
        .unwrap_or(MAX_TICK);
    let mut tick = tokio::time::interval(tick_for(shortest));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut expired = Vec::new();
    let mut expired_reverse = Vec::new();
    loop {
        tokio::select! {
            // Cancel-safe: both branches only wait.
            _ = shared.cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = shared.clock.now_ms();
        for up in &shared.upstreams {
            up.table.expire(now, &mut expired);
            for (key, pending) in expired.drain(..) {
                up.permits.add_permits(1);
                up.remember_late(key);
                Stats::bump(&shared.stats.timeouts);
                let is_client = matches!(pending.origin, Origin::Client(_));
                tracing::warn!(
                    upstream = up.name(),
                    id = key.to_u64(),
                    "request timed out after {}",
                    fmt_timeout(up.timeout)
                );
                if is_client {
                    cancel_upstream(up, key, "gatekit: request timed out");
                }
                fail(&shared, up, pending, Failure::Timeout(up.timeout)).await;
            }
        }
        shared.reverse.expire(now, &mut expired_reverse);
        for (_, req) in expired_reverse.drain(..) {
            let Some(up) = shared.upstreams.get(req.upstream) else {
                continue;
            };
            let frame = error_frame(
                Some(&req.upstream_id),
                code::INTERNAL_ERROR,
                "The client did not answer within the time limit",
                None,
            );
            if let Some(tx) = up.link() {
                // Never wait here: one stuck upstream must not stall every other deadline.
                let _ = tx.try_send(OutFrame::One(frame));
            }
        }
    }
}
