//! A circuit breaker per replica: after repeated failures (timeouts, lost
//! connections) calls stop going to it for a cooldown; then one probe call
//! passes, and its outcome closes the breaker or opens it again.

use std::time::{Duration, Instant};

use crate::config::BreakerSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open {
        until: Instant,
    },
    /// The cooldown is over and one probe call is on its way.
    Probing,
}

#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
    consecutive_failures: u32,
    last_failure: Option<String>,
}

/// Whether a call may go to the replica now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Open: the reason and how long until a probe may pass.
    Refused {
        reason: String,
        retry_in: Duration,
    },
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            state: State::Closed,
            consecutive_failures: 0,
            last_failure: None,
        }
    }

    /// Asks to send one call. After the cooldown the first asker becomes
    /// the probe; the others are refused until the probe's outcome is known.
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed => Admission::Allowed,
            State::Open { until } if now >= until => {
                self.state = State::Probing;
                Admission::Allowed
            }
            State::Open { until } => Admission::Refused {
                reason: self.describe(),
                retry_in: until - now,
            },
            State::Probing => Admission::Refused {
                reason: self.describe(),
                retry_in: Duration::ZERO,
            },
        }
    }

    /// Whether a call would be admitted, without taking the probe slot.
    pub fn would_admit(&self, now: Instant) -> bool {
        match self.state {
            State::Closed => true,
            State::Open { until } => now >= until,
            State::Probing => false,
        }
    }

    /// Why a call would be refused now, if it would be.
    pub fn refusal(&self, now: Instant) -> Option<String> {
        match self.state {
            State::Closed => None,
            State::Open { until } if now >= until => None,
            State::Open { until } => Some(format!(
                "{}; next probe in {} ms",
                self.describe(),
                (until - now).as_millis()
            )),
            State::Probing => Some(format!("{}; a probe call is in flight", self.describe())),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    pub fn record_success(&mut self) {
        self.state = State::Closed;
        self.consecutive_failures = 0;
    }

    pub fn record_failure(&mut self, now: Instant, reason: &str) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_failure = Some(reason.to_owned());
        let trips = self.state == State::Probing
            || (self.state == State::Closed && self.consecutive_failures >= self.settings.failures);
        if trips {
            self.state = State::Open {
                until: now + self.settings.cooldown,
            };
        }
    }

    /// A call admitted as the probe never completed (its caller went away):
    /// let the next caller probe instead.
    pub fn release_probe(&mut self, now: Instant) {
        if self.state == State::Probing {
            self.state = State::Open { until: now };
        }
    }

    fn describe(&self) -> String {
        format!(
            "circuit open after {} consecutive failures (last: {})",
            self.consecutive_failures,
            self.last_failure.as_deref().unwrap_or("unknown")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerSettings {
            failures: 3,
            cooldown: Duration::from_secs(10),
        })
    }

    #[test]
    fn opens_after_the_threshold_and_probes_after_the_cooldown() {
        let mut b = breaker();
        let t0 = Instant::now();
        for _ in 0..2 {
            b.record_failure(t0, "timed out");
            assert_eq!(b.admit(t0), Admission::Allowed);
        }
        b.record_failure(t0, "timed out");
        let Admission::Refused { reason, retry_in } = b.admit(t0) else {
            panic!("the third failure opens the breaker");
        };
        assert!(
            reason.contains("3 consecutive failures (last: timed out)"),
            "{reason}"
        );
        assert_eq!(retry_in, Duration::from_secs(10));

        let later = t0 + Duration::from_secs(11);
        assert_eq!(b.admit(later), Admission::Allowed, "one probe passes");
        assert!(
            matches!(b.admit(later), Admission::Refused { .. }),
            "a second caller waits for the probe"
        );
        b.record_success();
        assert!(b.is_closed());
        assert_eq!(b.admit(later), Admission::Allowed);
    }

    #[test]
    fn a_failed_probe_opens_it_again_and_a_success_resets_the_count() {
        let mut b = breaker();
        let t0 = Instant::now();
        b.record_failure(t0, "x");
        b.record_failure(t0, "x");
        b.record_success();
        b.record_failure(t0, "x");
        assert_eq!(b.admit(t0), Admission::Allowed, "the count was reset");

        for _ in 0..2 {
            b.record_failure(t0, "x");
        }
        let later = t0 + Duration::from_secs(11);
        assert_eq!(b.admit(later), Admission::Allowed);
        b.record_failure(later, "still down");
        assert!(matches!(b.admit(later), Admission::Refused { .. }));
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_caller_probe() {
        let mut b = breaker();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.record_failure(t0, "x");
        }
        let later = t0 + Duration::from_secs(11);
        assert_eq!(b.admit(later), Admission::Allowed);
        b.release_probe(later);
        assert_eq!(b.admit(later), Admission::Allowed);
    }
}
