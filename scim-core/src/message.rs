//! Plain-data requests and responses: what a host's web framework hands in and sends back.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// An HTTP method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// Anything else.
    Other(String),
}

impl Method {
    /// Parses a method name (case-insensitive); the [`FromStr`] of a `Method`, which never
    /// fails.
    ///
    /// ```
    /// assert_eq!(scim_core::Method::parse("patch"), scim_core::Method::Patch);
    /// ```
    pub fn parse(s: &str) -> Method {
        match s.parse() {
            Ok(method) => method,
            Err(never) => match never {},
        }
    }

    /// The method's name, upper-case as HTTP spells it.
    ///
    /// ```
    /// use scim_core::Method;
    /// assert_eq!(Method::Delete.as_str(), "DELETE");
    /// assert_eq!(Method::parse("options").as_str(), "OPTIONS");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Other(other) => other,
        }
    }
}

/// Case-insensitive; a name other than the five is kept, upper-cased, as [`Method::Other`].
///
/// ```
/// use scim_core::Method;
/// assert_eq!("Post".parse(), Ok(Method::Post));
/// assert_eq!("purge".parse(), Ok(Method::Other("PURGE".into())));
/// ```
impl FromStr for Method {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Method, Infallible> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            other => Method::Other(other.to_owned()),
        })
    }
}

/// The upper-case name ([`Method::as_str`]).
impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request, relative to the SCIM base URL.
///
/// ```
/// use scim_core::{Method, Request};
/// let r = Request::new(Method::Get, "/Users")
///     .with_query("filter", r#"userName eq "bjensen""#)
///     .with_header("If-None-Match", "W/\"3\"");
/// assert_eq!(r.query_param("FILTER"), Some(r#"userName eq "bjensen""#));
/// assert_eq!(r.header("if-none-match"), Some("W/\"3\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path below the base URL, e.g. `/Users/2819c223` (percent-decoded).
    pub path: String,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A request without query, headers or body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a query parameter.
    pub fn with_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets a JSON body.
    pub fn with_json(mut self, body: &Value) -> Self {
        self.body = body.to_string().into_bytes();
        self
    }

    /// A header's value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter's value (names compared case-insensitively, as real clients vary).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers (`Content-Type`, `Location`, `ETag`).
    pub headers: Vec<(String, String)>,
    /// The body (empty for 204 and 304).
    pub body: Vec<u8>,
    /// Why a 5xx happened, for the host's log only (see [`Response::cause`]).
    cause: Option<String>,
}

/// `value` as compact JSON text, written straight into bytes (its `Display` goes through a
/// `fmt::Write` per token; the text is the same).
pub(crate) fn json_bytes(value: &Value) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(512);
    // Cannot fail: a `Value`'s keys are strings and a `Vec` takes every write.
    let _ = serde_json::to_writer(&mut bytes, value);
    bytes
}

/// The SCIM media type (RFC 7644 §8.1).
pub const SCIM_JSON: &str = "application/scim+json";

impl Response {
    /// A JSON response with `Content-Type: application/scim+json`.
    pub fn json(status: u16, body: &Value) -> Self {
        Self::json_text(status, json_bytes(body))
    }

    /// [`Response::json`] with a body written already: `body` must be JSON text.
    pub(crate) fn json_text(status: u16, body: Vec<u8>) -> Self {
        Response {
            status,
            // Room for the `ETag` and `Location` a resource's response adds.
            headers: {
                let mut headers = Vec::with_capacity(3);
                headers.push(("Content-Type".to_owned(), SCIM_JSON.to_owned()));
                headers
            },
            body,
            cause: None,
        }
    }

    /// A response without body.
    pub fn empty(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            cause: None,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Value::Null` when empty or not JSON).
    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Response {
    /// Why this response is an error, when the engine knows more than it tells the client
    /// (a 500's underlying failure): for the host's log, never sent.
    ///
    /// ```
    /// let r = scim_core::Response::from(scim_core::ScimError::internal().with_cause("database locked"));
    /// assert_eq!(r.cause(), Some("database locked"));
    /// assert!(!String::from_utf8_lossy(&r.body).contains("locked"));
    /// ```
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }
}

impl From<crate::ScimError> for Response {
    fn from(e: crate::ScimError) -> Self {
        let mut response = Response::json(e.status, &e.to_json());
        response.cause = e.cause().map(str::to_owned);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_display_and_from_str_round_trip_for_every_variant() {
        let every = [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
            Method::Other("PURGE".into()),
        ];
        for method in every {
            let text = method.to_string();
            assert_eq!(text, method.as_str());
            assert_eq!(text.parse(), Ok(method.clone()), "{text}");
            assert_eq!(Method::parse(&text.to_ascii_lowercase()), method, "{text}");
        }
    }
}
