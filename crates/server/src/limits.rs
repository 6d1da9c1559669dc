//! Per-account hourly request limits (AISA's `X-RateLimit-*` headers) with `governor`.
//!
//! One keyed GCRA limiter per plan: an account on a plan with N requests an hour may burst up to N
//! requests and regains one every 3600/N seconds. `X-RateLimit-Remaining` is the burst left.
//! `X-RateLimit-Reset` is the Unix time at which the full allowance is back, and on a refusal the
//! time at which the caller may try again (`Retry-After` seconds from now), so that a client
//! waiting for either header retries at the same moment.

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
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

/// The outcome of one check.
#[derive(Debug, Clone, Copy)]
pub struct RateStatus {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds at which the allowance is full again; when refused, at which the next
    /// request is allowed (now + `retry_after`).
    pub reset: u64,
    /// Seconds to wait before retrying, when refused.
    pub retry_after: Option<u64>,
}

/// One hourly allowance per key: up to `limit` requests at once, one more every 3600/`limit`
/// seconds.
pub struct Hourly<K: Hash + Eq + Clone> {
    limit: u32,
    limiter: RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> Hourly<K> {
    /// `None` when `limit` is 0 (no limit).
    pub fn new(limit: u32) -> Option<Self> {
        let quota = Quota::per_hour(NonZeroU32::new(limit)?);
        Some(Self {
            limit,
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            clock: DefaultClock::default(),
        })
    }

    /// Counts one request of `key`.
    pub fn check(&self, key: &K) -> RateStatus {
        let limit = self.limit;
        let per_request = 3600.0 / f64::from(limit);
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match self.limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let refill = (f64::from(limit - remaining) * per_request).ceil() as u64;
                RateStatus {
                    limit,
                    remaining,
                    reset: now_unix + refill,
                    retry_after: None,
                }
            }
            Err(not_until) => {
                // Both rounded up, so that a retry at `reset` or after `retry_after` is allowed.
                let wait = not_until.wait_time_from(self.clock.now());
                let at = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    + wait;
                RateStatus {
                    limit,
                    remaining: 0,
                    reset: at.as_secs_f64().ceil() as u64,
                    retry_after: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
                }
            }
        }
    }
}

pub struct RateLimits {
    enabled: bool,
    per_plan: HashMap<Plan, Hourly<AccountId>>,
    /// Requests to the public endpoints (no key), per client IP.
    per_ip: Option<Hourly<IpAddr>>,
    /// Messages of widget visitors, per conversation.
    per_visitor: Option<Hourly<String>>,
    /// Dashboard sign-in attempts per email address (lower-cased) and per client IP. Every
    /// attempt counts, not only failures: a limit that a right guess skipped would tell the
    /// guesser when they were right.
    sign_in_email: Option<Hourly<String>>,
    sign_in_ip: Option<Hourly<IpAddr>>,
}

impl RateLimits {
    pub fn new(enabled: bool) -> Self {
        Self::with_public_limit(enabled, 0, 0)
    }

    /// Plan limits, `per_ip_per_hour` requests an hour per IP on the public endpoints, and
    /// `per_visitor_per_hour` messages an hour per widget visitor.
    pub fn with_public_limit(
        enabled: bool,
        per_ip_per_hour: u32,
        per_visitor_per_hour: u32,
    ) -> Self {
        let per_plan = Plan::ALL
            .into_iter()
            .filter_map(|plan| Some((plan, Hourly::new(plan.limits().requests_per_hour?)?)))
            .collect();
        Self {
            enabled,
            per_plan,
            per_ip: Hourly::new(per_ip_per_hour),
            per_visitor: Hourly::new(per_visitor_per_hour),
            sign_in_email: None,
            sign_in_ip: None,
        }
    }

    /// Limits sign-in attempts to `per_email` an hour per email address and five times that
    /// per client IP (0: no limit).
    pub fn with_sign_in_limit(mut self, per_email: u32) -> Self {
        self.sign_in_email = Hourly::new(per_email);
        self.sign_in_ip = Hourly::new(per_email.saturating_mul(5));
        self
    }

    /// Counts one sign-in attempt; the refusal when either allowance is spent. Not switched off
    /// with the other limits.
    pub fn check_sign_in(&self, email: &str, ip: Option<IpAddr>) -> Option<RateStatus> {
        let by_email = self
            .sign_in_email
            .as_ref()
            .map(|l| l.check(&email.to_lowercase()));
        let by_ip = ip.and_then(|ip| self.sign_in_ip.as_ref().map(|l| l.check(&ip)));
        [by_email, by_ip]
            .into_iter()
            .flatten()
            .find(|s| s.retry_after.is_some())
    }

    /// Counts one message of a widget visitor (by conversation); `None` when there is no such
    /// limit.
    pub fn check_visitor(&self, conversation: &str) -> Option<RateStatus> {
        if !self.enabled {
            return None;
        }
        Some(self.per_visitor.as_ref()?.check(&conversation.to_owned()))
    }

    /// Counts one request of the account; `None` when its plan has no limit.
    pub fn check(&self, plan: Plan, account: &AccountId) -> Option<RateStatus> {
        if !self.enabled {
            return None;
        }
        Some(self.per_plan.get(&plan)?.check(account))
    }

    /// Counts one public request from a client IP; `None` when there is no such limit.
    pub fn check_ip(&self, ip: IpAddr) -> Option<RateStatus> {
        if !self.enabled {
            return None;
        }
        Some(self.per_ip.as_ref()?.check(&ip))
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
    fn a_refusal_resets_when_the_caller_may_retry() {
        let limits = RateLimits::new(true);
        let account = AccountId::generate();
        for _ in 0..100 {
            limits.check(Plan::Free, &account);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let refused = limits.check(Plan::Free, &account).unwrap();
        let wait = refused.retry_after.unwrap();
        // One request comes back every 36 s on the free plan (100 an hour).
        assert!((1..=36).contains(&wait), "{wait}");
        assert!(
            refused.reset >= now + wait && refused.reset <= now + wait + 1,
            "reset {} is not now {now} + retry-after {wait}",
            refused.reset
        );
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
    fn each_ip_has_its_own_public_allowance() {
        let limits = RateLimits::with_public_limit(true, 3, 0);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert!(limits.check_ip(a).unwrap().retry_after.is_none());
        }
        assert!(limits.check_ip(a).unwrap().retry_after.is_some());
        assert!(limits.check_ip(b).unwrap().retry_after.is_none());
        assert!(RateLimits::new(true).check_ip(a).is_none());
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
