//! How the text log writes an event's fields: exactly as `tracing-subscriber`'s
//! `DefaultFields` does, with a shorter path for the plain fields of a plain log.
//!
//! Every request logs one line with four fields. `DefaultFields` writes each through its
//! ANSI styles even when colours are off (a style with nothing to add still goes through
//! two `Display`s and a `write!`), which cost more than the rest of the line. Here a field
//! the default visitor writes as just `name=value` — any but `message`, an `r#` name or a
//! `log.` one — is written directly when the log has no colours and sanitises escapes
//! (what `scim serve` logs to a file or a pipe); every other field, and every field of a
//! coloured log, is written by the default visitor itself, so the text is the same.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// The text log's [`tracing_subscriber::fmt::FormatFields`]: `DefaultFields`' output.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HostFields;

impl<'a> MakeVisitor<Writer<'a>> for HostFields {
    type Visitor = HostVisitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> HostVisitor<'a> {
        if writer.has_ansi_escapes() || !writer.sanitizes_ansi_escapes() {
            HostVisitor::Default(DefaultVisitor::new(writer, true))
        } else {
            HostVisitor::Plain(PlainVisitor {
                writer,
                is_empty: true,
                result: Ok(()),
            })
        }
    }
}

/// The visitor of [`HostFields`].
#[derive(Debug)]
pub(crate) enum HostVisitor<'a> {
    /// A coloured log (or one that does not sanitise): the default visitor for all.
    Default(DefaultVisitor<'a>),
    /// A plain log.
    Plain(PlainVisitor<'a>),
}

/// Writes a plain log's fields: plain ones here, the others through the default visitor.
#[derive(Debug)]
pub(crate) struct PlainVisitor<'a> {
    writer: Writer<'a>,
    /// Whether no field has been written yet (the next is not preceded by a space).
    is_empty: bool,
    result: fmt::Result,
}

impl PlainVisitor<'_> {
    /// Whether the default visitor writes `field` as `name=value` and nothing else.
    fn is_plain(field: &Field) -> bool {
        let name = field.name();
        name != "message" && !name.starts_with("r#") && !name.starts_with("log.")
    }

    /// `name=value` (`value` in its `Debug` form), after a space unless it is the first.
    fn write_plain(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.is_empty {
            self.is_empty = false;
        } else {
            self.result = self.writer.write_char(' ');
        }
        self.result = write!(self.writer, "{}={:?}", field.name(), value);
    }

    /// Lets the default visitor write `field` (`record` calls it), keeping track of the
    /// space before the next field as it would.
    fn delegate(&mut self, field: &Field, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        let mut seen = Seen {
            inner: &mut self.writer,
            wrote: false,
        };
        // No colours and sanitised, as `self.writer` (`make_visitor` checked it).
        let mut default = DefaultVisitor::new(Writer::new(&mut seen), self.is_empty);
        record(&mut default);
        self.result = default.finish();
        // The default visitor writes every field (`message` may be empty) but, with the
        // `tracing-log` feature, skips `log.` ones entirely.
        if seen.wrote || !field.name().starts_with("log.") {
            self.is_empty = false;
        }
    }
}

/// A writer that notes whether anything went through it.
struct Seen<'a, 'w> {
    inner: &'a mut Writer<'w>,
    wrote: bool,
}

impl fmt::Write for Seen<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.wrote |= !s.is_empty();
        self.inner.write_str(s)
    }
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        if Self::is_plain(field) {
            self.write_plain(field, &value);
        } else {
            self.delegate(field, |d| d.record_str(field, value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.result.is_err() {
            return;
        }
        self.delegate(field, |d| d.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        if Self::is_plain(field) {
            self.write_plain(field, value);
        } else {
            self.delegate(field, |d| d.record_debug(field, value));
        }
    }
}

impl Visit for HostVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match self {
            HostVisitor::Default(d) => d.record_str(field, value),
            HostVisitor::Plain(p) => p.record_str(field, value),
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        match self {
            HostVisitor::Default(d) => d.record_error(field, value),
            HostVisitor::Plain(p) => p.record_error(field, value),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match self {
            HostVisitor::Default(d) => d.record_debug(field, value),
            HostVisitor::Plain(p) => p.record_debug(field, value),
        }
    }
}

impl VisitOutput<fmt::Result> for HostVisitor<'_> {
    fn finish(self) -> fmt::Result {
        match self {
            HostVisitor::Default(d) => d.finish(),
            HostVisitor::Plain(p) => p.result,
        }
    }
}

impl VisitFmt for HostVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        match self {
            HostVisitor::Default(d) => d.writer(),
            HostVisitor::Plain(p) => &mut p.writer,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::format::DefaultFields;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer \x1b[31mfailure")
        }
    }
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("inner cause")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    impl std::error::Error for Inner {}

    /// Every kind of field and event the server logs (and some it does not).
    fn events() {
        let method = http::Method::GET;
        let target = "/scim/v2/Users/2819c223?filter=<redacted>";
        tracing::info!(%method, %target, status = 200u16, elapsed_us = 17u64, "request");
        tracing::info!(status = 400, "refused an unreadable request head");
        tracing::warn!(
            max_connections = 5usize,
            "every connection busy: refused a newcomer (503)"
        );
        tracing::error!(status = 503u16, detail = %"store unavailable", cause = "disk \"full\"\n", "the engine failed a request");
        tracing::info!(
            error = &Outer(Inner) as &(dyn std::error::Error + 'static),
            "with an error"
        );
        tracing::info!(error = &Inner as &(dyn std::error::Error + 'static));
        tracing::info!(
            r#type = "raw",
            negative = -3i64,
            flag = true,
            ratio = 0.5f64,
            "raw names"
        );
        tracing::info!(text = "esc \x1b[2J and \u{85}", debug = ?Some("x\ty"), "escapes");
        tracing::info!(message = "", after = 1u64);
        tracing::info!(first = 1u64, message = "late message", last = ?());
        tracing::info!("{} formatted \x1b[0m", 42);
        tracing::info!(empty = "");
        let span = tracing::info_span!("conn", peer = %"127.0.0.1:5", id = 7u64);
        span.in_scope(|| tracing::debug!(read = 3u64, "inside a span"));
        span.record("id", 8u64);
        span.in_scope(|| tracing::info!("still inside"));
    }

    fn log_with<N>(fields: N, ansi: bool) -> String
    where
        N: for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static,
    {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(ansi)
            .with_max_level(tracing::Level::DEBUG)
            .without_time()
            .fmt_fields(fields)
            .finish();
        tracing::subscriber::with_default(subscriber, events);
        let text = captured.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn the_text_is_the_default_fields_text() {
        for ansi in [false, true] {
            let ours = log_with(HostFields, ansi);
            let default = log_with(DefaultFields::new(), ansi);
            assert_eq!(ours, default, "ansi: {ansi}");
            assert_eq!(ours.lines().count(), 14, "{ours}");
        }
        let plain = log_with(HostFields, false);
        assert!(
            plain.contains("request method=GET target=/scim/v2/Users/2819c223?filter=<redacted> status=200 elapsed_us=17"),
            "{plain}"
        );
    }
}
