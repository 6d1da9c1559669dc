//! Per-account hourly request limits (AISA's `X-RateLimit-*` headers) with `governor`.
//!
//! One keyed GCRA limiter per plan: an account on a plan with N requests an hour may burst up to N
//! requests and regains one every 3600/N seconds. `X-RateLimit-Remaining` is the burst left and
//! `X-RateLimit-Reset` the Unix time at which the full allowance is back.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    time::{SystemTime, UNIX_EPOCH},
};

use governor::{
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};
use sitechat_core::{AccountId, Plan};

type Keyed = RateLimiter<
    AccountId,
    DefaultKeyedStateStore<AccountId>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// The outcome of one check.
#[derive(Debug, Clone, Copy)]
pub struct RateStatus {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds at which the allowance is full again.
    pub reset: u64,
    /// Seconds to wait before retrying, when refused.
    pub retry_after: Option<u64>,
}

pub struct RateLimits {
    enabled: bool,
    per_plan: HashMap<Plan, (u32, Keyed)>,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(enabled: bool) -> Self {
        let per_plan = Plan::ALL
            .into_iter()
            .filter_map(|plan| {
                let n = plan.limits().requests_per_hour?;
                let quota = Quota::per_hour(NonZeroU32::new(n)?);
                Some((
                    plan,
                    (
                        n,
                        RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
                    ),
                ))
            })
            .collect();
        Self {
            enabled,
            per_plan,
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request of the account; `None` when its plan has no limit.
    pub fn check(&self, plan: Plan, account: &AccountId) -> Option<RateStatus> {
        if !self.enabled {
            return None;
        }
        let (limit, limiter) = self.per_plan.get(&plan)?;
        let per_request = 3600.0 / f64::from(*limit);
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match limiter.check_key(account) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let refill = (f64::from(limit - remaining) * per_request).ceil() as u64;
                Some(RateStatus {
                    limit: *limit,
                    remaining,
                    reset: now_unix + refill,
                    retry_after: None,
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now()).as_secs().max(1);
                let refill = (f64::from(*limit) * per_request).ceil() as u64;
                Some(RateStatus {
                    limit: *limit,
                    remaining: 0,
                    reset: now_unix + refill,
                    retry_after: Some(wait),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_plan_allows_a_hundred_requests_then_refuses() {
        let limits = RateLimits::new(true);
        let account = AccountId::generate();
        for i in 0..100 {
            let status = limits.check(Plan::Free, &account).unwrap();
            assert!(status.retry_after.is_none(), "request {i} refused");
            assert_eq!(status.remaining, 99 - i);
        }
        let refused = limits.check(Plan::Free, &account).unwrap();
        assert_eq!(refused.remaining, 0);
        assert!(refused.retry_after.unwrap() >= 1);
    }

    #[test]
    fn accounts_do_not_share_an_allowance() {
        let limits = RateLimits::new(true);
        let (a, b) = (AccountId::generate(), AccountId::generate());
        for _ in 0..100 {
            limits.check(Plan::Free, &a);
        }
        assert!(limits.check(Plan::Free, &b).unwrap().retry_after.is_none());
    }

    #[test]
    fn the_unlimited_plan_and_a_disabled_limiter_count_nothing() {
        assert!(RateLimits::new(true)
            .check(Plan::Unlimited, &AccountId::generate())
            .is_none());
        assert!(RateLimits::new(false)
            .check(Plan::Free, &AccountId::generate())
            .is_none());
    }
}
