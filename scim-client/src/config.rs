//! Limits and behaviour of a [`Client`](crate::Client): every limit a field with a default.

use std::time::Duration;

/// What to do when a received resource does not match the discovered schema.
///
/// ```
/// assert_eq!(scim_client::ResponseChecks::default(), scim_client::ResponseChecks::Report);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResponseChecks {
    /// Do not check.
    Off,
    /// Check, and keep what failed in [`Client::reports`](crate::Client::reports).
    #[default]
    Report,
    /// Check, and fail the call with [`Error::InvalidResponse`](crate::Error::InvalidResponse).
    Fail,
}

/// Retries on 429 and 503 (and on connection failures, where nothing was sent).
///
/// The delay is the server's `Retry-After` when it sends one (seconds or an HTTP date), or
/// else exponential backoff with full jitter: a random delay in
/// `[0, min(max_backoff, initial_backoff * 2^attempt)]`. A `Retry-After` longer than
/// `max_retry_after` is not waited for: the call fails with the 429/503.
///
/// ```
/// let mut retry = scim_client::RetryPolicy::default();
/// retry.max_retries = 5;
/// assert!(!retry.non_idempotent);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 3; 0 turns retries off).
    pub max_retries: u32,
    /// The first backoff ceiling (default 200 ms).
    pub initial_backoff: Duration,
    /// The largest backoff ceiling (default 10 s).
    pub max_backoff: Duration,
    /// The longest `Retry-After` the client waits for (default 60 s).
    pub max_retry_after: Duration,
    /// Retry POST and PATCH too (default false: only GET, PUT, DELETE are retried, since a
    /// repeated POST may create twice). A request can opt in on its own with
    /// [`RequestOptions::retry_non_idempotent`](crate::RequestOptions::retry_non_idempotent).
    pub non_idempotent: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            non_idempotent: false,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    ///
    /// ```
    /// assert_eq!(scim_client::RetryPolicy::none().max_retries, 0);
    /// ```
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before retry number `attempt` (0-based), given a random `u64`.
    pub(crate) fn backoff(&self, attempt: u32, random: u64) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        let ceiling = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random % (nanos + 1))
    }
}

/// A client's limits and behaviour.
///
/// ```
/// use std::time::Duration;
/// let mut config = scim_client::ClientConfig::default();
/// config.timeout = Duration::from_secs(5);
/// config.max_concurrency = 4;
/// config.max_response_bytes = 1 << 20;
/// assert_eq!(config.page_size, 100);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Whole-request timeout, connect to last body byte (default 30 s).
    pub timeout: Duration,
    /// Connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// How long an idle pooled connection is kept for reuse (default 90 s).
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host (default 16).
    pub pool_max_idle_per_host: usize,
    /// Requests in flight at once through this client (default 16); more wait their turn.
    pub max_concurrency: usize,
    /// The largest response body read (default 32 MiB); a larger one is
    /// [`Error::Protocol`](crate::Error::Protocol).
    pub max_response_bytes: usize,
    /// Retries on 429/503.
    pub retry: RetryPolicy,
    /// Validate resources against the discovered schema before sending them (default
    /// false). Only after [`Client::discover`](crate::Client::discover).
    pub validate_requests: bool,
    /// Check received resources against the discovered schema (default: report).
    pub response_checks: ResponseChecks,
    /// How many reports [`Client::reports`](crate::Client::reports) keeps (default 100;
    /// older ones are dropped).
    pub max_reports: usize,
    /// `count` asked for per page when listing every page (default 100).
    pub page_size: usize,
    /// Bulk operations per request when the server has not said (default 1,000).
    pub bulk_max_operations: usize,
    /// Bulk payload bytes per request when the server has not said (default 1 MiB).
    pub bulk_max_payload: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 16,
            max_concurrency: 16,
            max_response_bytes: 32 << 20,
            retry: RetryPolicy::default(),
            validate_requests: false,
            response_checks: ResponseChecks::Report,
            max_reports: 100,
            page_size: 100,
            bulk_max_operations: 1000,
            bulk_max_payload: 1 << 20,
            user_agent: concat!("scim-client/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let r = RetryPolicy::default();
        assert_eq!(
            r.backoff(0, u64::MAX),
            Duration::from_nanos(u64::MAX % 200_000_001)
        );
        assert!(r.backoff(0, 7) <= Duration::from_millis(200));
        assert!(r.backoff(3, u64::MAX - 1) <= Duration::from_millis(1600));
        assert!(r.backoff(40, u64::MAX - 1) <= Duration::from_secs(10));
        assert_eq!(r.backoff(2, 0), Duration::ZERO);
    }
}
