//! A sleep with sub-millisecond precision for the open-loop scheduler.
//!
//! Owns: one `timerfd` registered with tokio's reactor. tokio's own timer wheel has 1 ms
//! granularity, which would add up to 1 ms of send lag to every request at low rates and so
//! pollute the corrected latency floor with the load generator's own error. A timerfd fires at
//! the kernel's hrtimer precision and wakes the reactor like any other fd.
//! Invariants: a sleep may end early (a stale expiry from a cancelled sleep); callers re-check
//! the clock, which they must do anyway. Off Linux, this falls back to `tokio::time`.

use std::io;
use std::time::Instant;

/// A re-armable precise timer.
#[derive(Debug)]
pub struct PreciseTimer {
    #[cfg(target_os = "linux")]
    fd: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
}

#[cfg(target_os = "linux")]
impl PreciseTimer {
    /// Creates the timer; must be called inside a tokio runtime.
    pub fn new() -> io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: timerfd_create has no memory-safety preconditions; the result is checked.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a freshly created fd that nothing else owns.
        let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
        // SAFETY: `owned` is a valid open fd, owned by the AsyncFd for its whole life; an
        // `OwnedFd` always returns the same fd from `as_raw_fd`.
        let fd = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE)
        }
        .map_err(|e| e.into_parts().1)?;
        Ok(Self { fd })
    }

    /// Sleeps until `deadline` (returns at once if it has passed).
    ///
    /// Cancel safety: dropping the future leaves the timer armed; the next call re-arms it, and
    /// an expiry left over from the dropped sleep only causes one early (spurious) return.
    pub async fn sleep_until(&mut self, deadline: Instant) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        else {
            return Ok(());
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: left.as_secs() as libc::time_t,
                tv_nsec: libc::c_long::from(left.subsec_nanos() as i32),
            },
        };
        // SAFETY: the fd is a live timerfd we own; `spec` is a valid itimerspec on the stack.
        let rc =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            let mut guard = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            // SAFETY: reading 8 bytes into an 8-byte stack buffer from our own timerfd.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    expirations.len(),
                )
            };
            if n == 8 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock {
                guard.clear_ready();
                continue;
            }
            return Err(err);
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl PreciseTimer {
    /// Creates the timer.
    pub fn new() -> io::Result<Self> {
        Ok(Self {})
    }

    /// Sleeps until `deadline` with tokio's millisecond timer.
    pub async fn sleep_until(&mut self, deadline: Instant) -> io::Result<()> {
        tokio::time::sleep_until(deadline.into()).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn sleeps_at_least_until_the_deadline() {
        let mut t = PreciseTimer::new().unwrap();
        for _ in 0..3 {
            let deadline = Instant::now() + Duration::from_micros(300);
            // A spurious early return is allowed by contract; loop like the scheduler does.
            while Instant::now() < deadline {
                t.sleep_until(deadline).await.unwrap();
            }
            assert!(Instant::now() >= deadline);
        }
        t.sleep_until(Instant::now() - Duration::from_millis(1))
            .await
            .unwrap();
    }
}
