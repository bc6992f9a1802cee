//! The request log: what it shows of a request (never a query value, a header or a body),
//! and the subscriber `scim serve` logs through.

use tracing_subscriber::fmt::MakeWriter;

/// The subscriber `scim serve` logs with: one line per event to `make_writer`, filtered by
/// `directives` (`RUST_LOG` syntax, e.g. `info` or `scim_cli=debug`), with ANSI colours only
/// when `ansi` is set (the binary sets it when stderr is a terminal).
///
/// ```
/// let subscriber = scim_cli::serve::log_subscriber(std::io::sink, false, "info");
/// tracing::subscriber::with_default(subscriber, || tracing::info!("not shown anywhere"));
/// ```
pub fn log_subscriber<W>(
    make_writer: W,
    ansi: bool,
    directives: &str,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = env_filter(directives);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(make_writer)
        .with_ansi(ansi)
        .with_timer(super::log_time::HostTime)
        .fmt_fields(super::log_fields::HostFields)
        .finish()
}

/// The subscriber `scim serve --log-json` logs with: one JSON object per line (`timestamp`,
/// `level`, `target`, `fields` with `message` and the event's fields), for log shippers.
/// The fields are the text log's, so a request's target is redacted the same way.
///
/// ```
/// let subscriber = scim_cli::serve::json_log_subscriber(std::io::sink, "info");
/// tracing::subscriber::with_default(subscriber, || tracing::info!(status = 200, "request"));
/// ```
pub fn json_log_subscriber<W>(
    make_writer: W,
    directives: &str,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = env_filter(directives);
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(make_writer)
        .with_current_span(false)
        .with_span_list(false)
        .finish()
}

/// `directives` as a filter; `info` when they do not parse.
fn env_filter(directives: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_new(directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// The request target as the log shows it: the path, and of the query only the parameter
/// names, each value replaced by `<redacted>` (a filter can name a password, a query can
/// carry an `access_token`). A name that does not look like one is redacted too.
pub(crate) fn redacted_target(uri: &http::Uri) -> String {
    let mut out = uri.path().to_owned();
    if let Some(query) = uri.query() {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            let (name, has_value) = match pair.split_once('=') {
                Some((name, _)) => (name, true),
                None => (pair, false),
            };
            let plain = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if plain {
                out.push_str(name);
                if has_value {
                    out.push_str("=<redacted>");
                }
            } else {
                out.push_str("<redacted>");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn target(s: &str) -> String {
        redacted_target(&s.parse().unwrap())
    }

    #[test]
    fn query_values_are_redacted() {
        assert_eq!(target("/scim/v2/Users"), "/scim/v2/Users");
        assert_eq!(
            target("/scim/v2/Users?filter=password%20eq%20%22x%22&count=5"),
            "/scim/v2/Users?filter=<redacted>&count=<redacted>"
        );
        assert_eq!(target("/a?flag&x="), "/a?flag&x=<redacted>");
        assert_eq!(target("/a?access_token=abc"), "/a?access_token=<redacted>");
        assert_eq!(target("/a?s3cr%65t"), "/a?<redacted>");
    }
}
