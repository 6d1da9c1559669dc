//! Plans and their quotas.
//!
//! The figures are the union of what the seed services publish: AISA's hourly API request limits
//! (free 100, pro 1,000, enterprise 10,000), Asyntai's monthly message quotas (free 100, starter
//! 2,500, standard 15,000, pro 50,000), daily knowledge-upload characters (starter 100,000, standard
//! 500,000, pro 2,000,000) and spreadsheet row caps (starter 500, standard 2,000, pro 10,000). Where
//! a seed is silent for a plan the value is interpolated. `unlimited` is the self-hosted operator's
//! own plan: no quota at all.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Starter,
    Standard,
    Pro,
    Enterprise,
    Unlimited,
}

/// What a plan allows. `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanLimits {
    /// API requests per hour, per account.
    pub requests_per_hour: Option<u32>,
    /// Visitor messages answered per calendar month (UTC), per account.
    pub messages_per_month: Option<u32>,
    /// Knowledge characters uploaded per day (UTC), per account.
    pub upload_chars_per_day: Option<u64>,
    /// Rows kept from one spreadsheet upload; the rest is truncated and reported.
    pub spreadsheet_rows: Option<u32>,
    /// Bots an account may own.
    pub bots: Option<u32>,
}

impl Plan {
    pub const ALL: [Plan; 6] = [
        Plan::Free,
        Plan::Starter,
        Plan::Standard,
        Plan::Pro,
        Plan::Enterprise,
        Plan::Unlimited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Standard => "standard",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
            Plan::Unlimited => "unlimited",
        }
    }

    pub fn parse(value: &str) -> Option<Plan> {
        Plan::ALL.into_iter().find(|p| p.as_str() == value)
    }

    pub fn limits(self) -> PlanLimits {
        match self {
            Plan::Free => PlanLimits {
                requests_per_hour: Some(100),
                messages_per_month: Some(100),
                upload_chars_per_day: Some(20_000),
                spreadsheet_rows: Some(100),
                bots: Some(1),
            },
            Plan::Starter => PlanLimits {
                requests_per_hour: Some(500),
                messages_per_month: Some(2_500),
                upload_chars_per_day: Some(100_000),
                spreadsheet_rows: Some(500),
                bots: Some(2),
            },
            Plan::Standard => PlanLimits {
                requests_per_hour: Some(750),
                messages_per_month: Some(15_000),
                upload_chars_per_day: Some(500_000),
                spreadsheet_rows: Some(2_000),
                bots: Some(5),
            },
            Plan::Pro => PlanLimits {
                requests_per_hour: Some(1_000),
                messages_per_month: Some(50_000),
                upload_chars_per_day: Some(2_000_000),
                spreadsheet_rows: Some(10_000),
                bots: Some(20),
            },
            Plan::Enterprise => PlanLimits {
                requests_per_hour: Some(10_000),
                messages_per_month: None,
                upload_chars_per_day: Some(20_000_000),
                spreadsheet_rows: Some(100_000),
                bots: None,
            },
            Plan::Unlimited => PlanLimits {
                requests_per_hour: None,
                messages_per_month: None,
                upload_chars_per_day: None,
                spreadsheet_rows: None,
                bots: None,
            },
        }
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plan_round_trips_through_its_name() {
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(plan.as_str()), Some(plan));
        }
        assert_eq!(Plan::parse("gold"), None);
    }

    #[test]
    fn hourly_limits_follow_the_published_figures() {
        assert_eq!(Plan::Free.limits().requests_per_hour, Some(100));
        assert_eq!(Plan::Pro.limits().requests_per_hour, Some(1_000));
        assert_eq!(Plan::Enterprise.limits().requests_per_hour, Some(10_000));
        assert_eq!(Plan::Unlimited.limits().requests_per_hour, None);
    }
}
