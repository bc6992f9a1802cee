//! [`Limits`]: what one request may cost the service before the engine sees it.

use std::time::Duration;

/// The limits a [`crate::ScimService`] enforces on each request, each answered with its own
/// SCIM error. Every one has a default ([`Limits::default`]).
///
/// ```
/// let limits = scim_tower::Limits { max_payload: 4 << 20, ..Default::default() };
/// assert_eq!(limits.max_uri_length, 8 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes (default 1 MiB): a larger one, declared or sent, is
    /// answered 413.
    pub max_payload: usize,
    /// Most bytes of a refused or oversized body read and thrown away before answering
    /// (default 16 MiB), so a client still sending reads the answer rather than a reset.
    pub max_discard: usize,
    /// How long reading one body may take (default 30 s; answered 408). Enforced when the
    /// service runs on a tokio runtime with its timer; elsewhere the host bounds it.
    pub body_timeout: Duration,
    /// Longest request target, path and query, in bytes (default 8 KiB; answered 414).
    pub max_uri_length: usize,
    /// Most bytes of request header fields (default 16 KiB; answered 431).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload: 1 << 20,
            max_discard: 16 << 20,
            body_timeout: Duration::from_secs(30),
            max_uri_length: 8 * 1024,
            max_header_bytes: 16 * 1024,
        }
    }
}
