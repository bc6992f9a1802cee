//! Refusals the host makes before (or instead of) the engine, and the one place that turns
//! each into a SCIM error response (RFC 7644 §3.12).

use std::time::Duration;

use scim_core::{ScimError, ScimType};

use crate::Unauthorized;

/// A request the service (or the host below it) refuses itself, before or instead of the
/// engine. Each variant names an input that triggers it.
///
/// ```
/// let r = scim_tower::Refusal::PayloadTooLarge { limit: 1024 }.response();
/// assert_eq!(r.status(), 413);
/// let body: serde_json::Value = serde_json::from_slice(r.body())?;
/// assert_eq!(body["schemas"][0], scim_core::ERROR_URN);
/// assert_eq!(body["detail"], "the request body exceeds 1024 bytes");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// `GET /scim/v2/Users?filter=…` with a target longer than the limit → 414.
    UriTooLong {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// A request head whose header fields exceed the limit → 431.
    HeadersTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// `GET /scim/v2/Us\xFFers HTTP/1.1`: a request target with raw non-ASCII or control
    /// bytes → 400.
    MalformedTarget,
    /// `Content-Length: abc`, `Content-Length: 99999999999999999999999`, or two different
    /// `Content-Length` headers → 400.
    BadContentLength(&'static str),
    /// Any other request head the HTTP parser cannot read (`GET / HTTP/9`) → 400.
    Malformed,
    /// A body sent with `Content-Type: text/plain` → 415.
    UnsupportedMediaType(String),
    /// A body longer than the limit (declared or sent) → 413.
    PayloadTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// A body not sent completely within the body timeout → 408.
    BodyTimeout(Duration),
    /// A body that ends early or is badly chunked → 400.
    BrokenBody,
    /// No or an unknown bearer token, or one refused for a reason it names → 401.
    Unauthorized(Unauthorized),
    /// A path outside the SCIM base path → 404.
    NotFound {
        /// The path asked for.
        path: String,
        /// Where SCIM lives.
        base: String,
    },
    /// Every connection slot holds a request in flight → 503.
    Overloaded,
    /// `GET /scim/v2/Users HTTP/1.1` sent in the clear to a port that speaks only TLS
    /// (`http://` where `https://` was meant) → 400, answered in the clear.
    PlainHttpToTls,
}

impl Refusal {
    /// The SCIM error this refusal is: status, `scimType`, detail.
    fn error(&self) -> ScimError {
        match self {
            Refusal::UriTooLong { limit } => ScimError::new(
                414,
                None,
                format!("the request target is longer than {limit} bytes"),
            ),
            Refusal::HeadersTooLarge { limit } => ScimError::new(
                431,
                None,
                format!("the request header fields exceed {limit} bytes"),
            ),
            Refusal::MalformedTarget => ScimError::bad_request(
                ScimType::InvalidSyntax,
                "the request target is malformed (raw non-ASCII or control bytes must be percent-encoded)",
            ),
            Refusal::BadContentLength(why) => ScimError::bad_request(
                ScimType::InvalidSyntax,
                format!("invalid Content-Length: {why}"),
            ),
            Refusal::Malformed => ScimError::bad_request(
                ScimType::InvalidSyntax,
                "the request is not valid HTTP/1.1 (request line or header field malformed)",
            ),
            Refusal::UnsupportedMediaType(ct) => ScimError::new(
                415,
                None,
                format!(
                    "unsupported Content-Type {ct:?}; send application/scim+json or application/json"
                ),
            ),
            Refusal::PayloadTooLarge { limit } => {
                ScimError::payload_too_large(format!("the request body exceeds {limit} bytes"))
            }
            Refusal::BodyTimeout(after) => ScimError::new(
                408,
                None,
                format!(
                    "the request body was not received within {} ms",
                    after.as_millis()
                ),
            ),
            Refusal::BrokenBody => ScimError::bad_request(
                ScimType::InvalidSyntax,
                "the request body ended early or is badly framed",
            ),
            Refusal::Unauthorized(why) => ScimError::new(401, None, why.to_string()),
            Refusal::NotFound { path, base } => {
                ScimError::not_found(format!("no endpoint {path}; SCIM lives under {base}"))
            }
            Refusal::Overloaded => ScimError::new(
                503,
                None,
                "the server is at its connection limit with every connection busy; retry later",
            ),
            Refusal::PlainHttpToTls => ScimError::bad_request(
                ScimType::InvalidSyntax,
                "this port speaks HTTPS only: send the request over TLS (https://)",
            ),
        }
    }

    /// The response for this refusal: the SCIM error body with
    /// `Content-Type: application/scim+json`, plus `WWW-Authenticate` for 401 and
    /// `Retry-After` for 503. This is the only place a refusal becomes a response.
    pub fn response(&self) -> http::Response<Vec<u8>> {
        let mut r = scim_core::Response::from(self.error()).into_http();
        match self {
            Refusal::Unauthorized(why) => {
                if let Ok(challenge) = http::HeaderValue::from_str(&why.challenge()) {
                    r.headers_mut()
                        .insert(http::header::WWW_AUTHENTICATE, challenge);
                }
            }
            Refusal::Overloaded => {
                r.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static("1"),
                );
            }
            _ => {}
        }
        r
    }

    /// The whole response as HTTP/1.1 bytes with `Connection: close`, for the places that
    /// answer below the HTTP server (a head the parser refused, a connection over the cap).
    pub fn wire_bytes(&self) -> Vec<u8> {
        let r = self.response();
        let status = r.status();
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            status.as_str(),
            status.canonical_reason().unwrap_or("Error")
        )
        .into_bytes();
        for (name, value) in r.headers() {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(
            format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                r.body().len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(r.body());
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn wire_bytes_are_a_complete_scim_error() {
        let bytes = Refusal::BadContentLength("not a number").wire_bytes();
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(
            head.contains("content-type: application/scim+json"),
            "{head}"
        );
        assert!(head.contains("connection: close"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["status"], "400");
        assert_eq!(v["scimType"], "invalidSyntax");
        assert_eq!(v["schemas"][0], scim_core::ERROR_URN);
    }

    #[test]
    fn statuses() {
        let cases = [
            (Refusal::UriTooLong { limit: 1 }, 414),
            (Refusal::HeadersTooLarge { limit: 1 }, 431),
            (Refusal::MalformedTarget, 400),
            (Refusal::Malformed, 400),
            (Refusal::UnsupportedMediaType("text/plain".into()), 415),
            (Refusal::PayloadTooLarge { limit: 1 }, 413),
            (Refusal::BodyTimeout(Duration::from_secs(1)), 408),
            (Refusal::BrokenBody, 400),
            (Refusal::Unauthorized(Unauthorized::Missing), 401),
            (Refusal::Overloaded, 503),
            (Refusal::PlainHttpToTls, 400),
        ];
        for (r, status) in cases {
            assert_eq!(r.response().status(), status, "{r:?}");
        }
    }
}
