//! Conversions to and from the `http` crate's types (feature `http`).

use crate::{Method, Request, Response};

/// The path, `%XX` escapes decoded (`+` stays a plus: it is a space only in a query);
/// an invalid escape is kept as it is, invalid UTF-8 replaced.
fn decode_path(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// The query's pairs, decoded as `application/x-www-form-urlencoded` (`+` is a space).
fn parse_query(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
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
        Request::from_head(&parts, parts.uri.path(), body)
    }

    /// [`Request::from_http`] of a request head and its body, with the path given apart: a
    /// host mounted under a base path passes the path below it (percent-decoded here), and
    /// the query is the head's. Nothing of the head is copied but what the request keeps.
    ///
    /// ```
    /// let (head, ()) = http::Request::get("/scim/v2/Users?count=5")
    ///     .header("Authorization", "Bearer x")
    ///     .body(())
    ///     .unwrap()
    ///     .into_parts();
    /// let path = head.uri.path().strip_prefix("/scim/v2").unwrap();
    /// let r = scim_core::Request::from_head(&head, path, Vec::new());
    /// assert_eq!(r.method, scim_core::Method::Get);
    /// assert_eq!(r.path, "/Users");
    /// assert_eq!(r.query_param("count"), Some("5"));
    /// assert_eq!(r.header("authorization"), Some("Bearer x"));
    /// ```
    pub fn from_head(head: &http::request::Parts, path: &str, body: Vec<u8>) -> Request {
        let method = match &head.method {
            m if m == http::Method::GET => Method::Get,
            m if m == http::Method::POST => Method::Post,
            m if m == http::Method::PUT => Method::Put,
            m if m == http::Method::PATCH => Method::Patch,
            m if m == http::Method::DELETE => Method::Delete,
            other => Method::parse(other.as_str()),
        };
        let mut headers = Vec::with_capacity(head.headers.len());
        for (k, v) in &head.headers {
            if let Ok(v) = v.to_str() {
                headers.push((k.as_str().to_owned(), v.to_owned()));
            }
        }
        Request {
            method,
            path: decode_path(path),
            query: head.uri.query().map(parse_query).unwrap_or_default(),
            headers,
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
        let Ok(status) = http::StatusCode::from_u16(self.status) else {
            return http::Response::new(Vec::new());
        };
        let mut headers = http::HeaderMap::with_capacity(self.headers.len());
        for (k, v) in self.headers {
            if let (Ok(name), Ok(value)) = (
                http::header::HeaderName::from_bytes(k.as_bytes()),
                http::header::HeaderValue::try_from(v),
            ) {
                headers.append(name, value);
            }
        }
        let mut response = http::Response::new(self.body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(decode_path("/Users/a%20b+c"), "/Users/a b+c");
        assert_eq!(decode_path("/100%"), "/100%");
        assert_eq!(decode_path("/%zz%4"), "/%zz%4");
        assert_eq!(decode_path("/%C3%A9"), "/é");
        assert_eq!(
            parse_query("filter=a%20eq+1&x&&count=%zz"),
            vec![
                ("filter".into(), "a eq 1".into()),
                ("x".into(), String::new()),
                ("count".into(), "%zz".into())
            ]
        );
    }
}
