//! What can be refused from the request head alone, before anyone is asked who is calling.

use http::request::Parts;

use crate::{Limits, Refusal};

/// Checks the target's bytes and size, the header size and the mount point; the path
/// below the mount point (`/` for the mount point itself).
pub(crate) fn check_target<'a>(
    parts: &'a Parts,
    mount: &str,
    limits: &Limits,
) -> Result<&'a str, Refusal> {
    let target = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |pq| pq.as_str());
    // RFC 3986 §2: a request target is ASCII; anything else must be percent-encoded.
    if target.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
        return Err(Refusal::MalformedTarget);
    }
    if target.len() > limits.max_uri_length {
        return Err(Refusal::UriTooLong {
            limit: limits.max_uri_length,
        });
    }
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > limits.max_header_bytes {
        return Err(Refusal::HeadersTooLarge {
            limit: limits.max_header_bytes,
        });
    }
    let path = parts.uri.path();
    match path.strip_prefix(mount) {
        Some("") => Ok("/"),
        Some(rest) if rest.starts_with('/') => Ok(rest),
        _ => Err(Refusal::NotFound {
            path: path.to_owned(),
            base: if mount.is_empty() { "/" } else { mount }.to_owned(),
        }),
    }
}

/// Checks the media type and the declared length of a request with a body.
pub(crate) fn check_body_head(parts: &Parts, limits: &Limits) -> Result<(), Refusal> {
    if matches!(
        parts.method,
        http::Method::POST | http::Method::PUT | http::Method::PATCH
    ) {
        if let Some(ct) = parts.headers.get(http::header::CONTENT_TYPE) {
            if !json_media_type(ct.as_bytes()) {
                return Err(Refusal::UnsupportedMediaType(
                    String::from_utf8_lossy(ct.as_bytes()).into_owned(),
                ));
            }
        }
    }
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_payload as u64) {
        return Err(Refusal::PayloadTooLarge {
            limit: limits.max_payload,
        });
    }
    Ok(())
}

/// `application/scim+json` or `application/json`, parameters (`charset`) allowed (RFC 7644
/// §3.1, §8.1).
fn json_media_type(value: &[u8]) -> bool {
    let value = String::from_utf8_lossy(value);
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/scim+json")
        || essence.eq_ignore_ascii_case("application/json")
}

/// Whether the client asked `Expect: 100-continue` (and so has not sent its body yet).
pub(crate) fn expects_continue(parts: &Parts) -> bool {
    parts
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parts(uri: &str) -> Parts {
        http::Request::get(uri).body(()).unwrap().into_parts().0
    }

    #[test]
    fn media_types() {
        assert!(json_media_type(b"application/scim+json"));
        assert!(json_media_type(b"application/scim+json; charset=utf-8"));
        assert!(json_media_type(b"Application/JSON;charset=UTF-8"));
        assert!(!json_media_type(b"text/plain"));
        assert!(!json_media_type(b"application/x-www-form-urlencoded"));
        assert!(!json_media_type(b"application/jsonx"));
    }

    #[test]
    fn mount_points() {
        let l = Limits::default();
        assert_eq!(
            check_target(&parts("/scim/v2/Users?x=1"), "/scim/v2", &l),
            Ok("/Users")
        );
        assert_eq!(check_target(&parts("/scim/v2"), "/scim/v2", &l), Ok("/"));
        assert_eq!(check_target(&parts("/Users"), "", &l), Ok("/Users"));
        assert!(matches!(
            check_target(&parts("/scim/v2x/Users"), "/scim/v2", &l),
            Err(Refusal::NotFound { .. })
        ));
        let short = Limits {
            max_uri_length: 8,
            ..l
        };
        assert_eq!(
            check_target(&parts("/Users?filter=x"), "", &short),
            Err(Refusal::UriTooLong { limit: 8 })
        );
    }
}
