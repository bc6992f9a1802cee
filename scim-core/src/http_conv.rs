//! Conversions to and from the `http` crate's types (feature `http`).

use crate::{Method, Request, Response};

/// Decodes `%XX` escapes (and `+` as a space when `plus` is set); invalid escapes are kept.
pub(crate) fn percent_decode(s: &str, plus: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits and decodes a query string.
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(pair, true), String::new()),
        })
        .collect()
}

impl Request {
    /// Converts an `http::Request` whose path is already relative to the SCIM base (strip
    /// the base path first, e.g. `/scim/v2`): the path and query are percent-decoded.
    ///
    /// ```
    /// let req = http::Request::builder()
    ///     .method("GET")
    ///     .uri("/Users?filter=userName%20eq%20%22bjensen%22&count=5")
    ///     .header("Authorization", "Bearer x")
    ///     .body(Vec::new())
    ///     .unwrap();
    /// let r = scim_core::Request::from_http(req);
    /// assert_eq!(r.path, "/Users");
    /// assert_eq!(r.query_param("filter"), Some(r#"userName eq "bjensen""#));
    /// assert_eq!(r.header("authorization"), Some("Bearer x"));
    /// ```
    pub fn from_http(req: http::Request<Vec<u8>>) -> Request {
        let (parts, body) = req.into_parts();
        Request {
            method: Method::parse(parts.method.as_str()),
            path: percent_decode(parts.uri.path(), false),
            query: parts.uri.query().map(parse_query).unwrap_or_default(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(k, v)| {
                    v.to_str()
                        .ok()
                        .map(|v| (k.as_str().to_owned(), v.to_owned()))
                })
                .collect(),
            body,
        }
    }
}

impl Response {
    /// Converts into an `http::Response`. Headers that are not valid HTTP header values are
    /// dropped (the engine produces none).
    ///
    /// ```
    /// let r = scim_core::Response::json(201, &serde_json::json!({"id": "1"}));
    /// let h = r.into_http();
    /// assert_eq!(h.status(), 201);
    /// assert_eq!(h.headers()["content-type"], "application/scim+json");
    /// ```
    pub fn into_http(self) -> http::Response<Vec<u8>> {
        let mut builder = http::Response::builder().status(self.status);
        for (k, v) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                http::header::HeaderName::from_bytes(k.as_bytes()),
                http::header::HeaderValue::from_str(v),
            ) {
                builder = builder.header(name, value);
            }
        }
        builder
            .body(self.body)
            .unwrap_or_else(|_| http::Response::new(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a%20b+c", false), "a b+c");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode("%C3%A9", true), "é");
        assert_eq!(
            parse_query("filter=a%20eq%201&x"),
            vec![
                ("filter".into(), "a eq 1".into()),
                ("x".into(), String::new())
            ]
        );
    }
}
