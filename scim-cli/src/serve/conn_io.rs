//! The connection's byte stream as the HTTP server sees it. Reading, it tells the registry
//! when a request head begins and keeps the head's first bytes; writing, it gives the
//! HTTP parser's own refusals a SCIM body.
//!
//! hyper answers a request head it cannot parse (400), a target over its own limit (414)
//! or a head that does not fit its buffer (431) by itself, with an empty body, before any
//! service sees the request. Our service never sends a 400, 414 or 431 without a
//! `Content-Type`, so such a response head on the wire is hyper's: it is replaced with the
//! SCIM error for what the kept head bytes show, with `connection: close` (hyper closes the
//! connection after it anyway). hyper is told to write flat buffers
//! (`http1::Builder::writev(false)`, and [`ConnIo`] is not vectored), so that head arrives
//! in one `write` at the start of the buffer.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::connections::{BytesSeen, Slot};
use scim_tower::Refusal;

/// The limits the diagnosis names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadLimits {
    /// Longest request target.
    pub(crate) max_uri_length: usize,
    /// Most bytes of header fields.
    pub(crate) max_header_bytes: usize,
    /// How many bytes of a head to keep (the parser's buffer size).
    pub(crate) keep: usize,
}

/// A stream that tracks request heads for the registry and rewrites hyper's body-less
/// refusals.
#[derive(Debug)]
pub(crate) struct ConnIo<S> {
    inner: S,
    slot: Arc<Slot>,
    limits: HeadLimits,
    /// The bytes of the request head being received (up to `limits.keep`).
    head: Vec<u8>,
    /// A replacement response still to be written, and how much of it is written.
    pending: Vec<u8>,
    written: usize,
}

impl<S> ConnIo<S> {
    /// Wraps a freshly accepted stream.
    pub(crate) fn new(inner: S, slot: Arc<Slot>, limits: HeadLimits) -> Self {
        ConnIo {
            inner,
            slot,
            limits,
            head: Vec::new(),
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> ConnIo<S> {
    /// Writes what is left of a replacement response.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ConnIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        if !new.is_empty() {
            match this.slot.on_bytes() {
                BytesSeen::InFlight => this.head.clear(),
                seen => {
                    if seen == BytesSeen::NewHead {
                        this.head.clear();
                    }
                    let room = this.limits.keep.saturating_sub(this.head.len());
                    this.head.extend_from_slice(&new[..new.len().min(room)]);
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ConnIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if let Some((status, head_len)) = parser_refusal(buf) {
            let refusal = diagnose(status, &this.head, this.limits);
            tracing::info!(
                status = refusal_status(&refusal),
                "refused an unreadable request head"
            );
            this.pending = refusal.wire_bytes();
            this.written = 0;
            // The replacement is written from here on; hyper's head counts as written.
            let _ = this.poll_pending(cx)?;
            return Poll::Ready(Ok(head_len));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

fn refusal_status(r: &Refusal) -> u16 {
    r.response().status().as_u16()
}

/// If `buf` starts with a response head that hyper wrote for a request it could not parse
/// (status 400, 414 or 431 and no `Content-Type`), its status and the head's length.
fn parser_refusal(buf: &[u8]) -> Option<(u16, usize)> {
    let rest = buf
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    let status = match rest.get(..4)? {
        b"400 " => 400,
        b"414 " => 414,
        b"431 " => 431,
        _ => return None,
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = buf[..end].to_ascii_lowercase();
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    (!has(b"\r\ncontent-type:") && has(b"\r\ncontent-length: 0\r\n")).then_some((status, end))
}

/// What the kept bytes of a head the parser refused show was wrong with it.
fn diagnose(status: u16, head: &[u8], limits: HeadLimits) -> Refusal {
    let line_end = head.iter().position(|&b| b == b'\n');
    match status {
        414 => Refusal::UriTooLong {
            limit: limits.max_uri_length,
        },
        // The buffer filled before the request line ended: the target is what is too long.
        431 if line_end.is_none() => Refusal::UriTooLong {
            limit: limits.max_uri_length,
        },
        431 => Refusal::HeadersTooLarge {
            limit: limits.max_header_bytes,
        },
        _ => {
            let line = &head[..line_end.unwrap_or(head.len())];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let target = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
            if target.iter().any(|b| !(0x21..0x7f).contains(b)) {
                return Refusal::MalformedTarget;
            }
            content_length_problem(head)
                .map(Refusal::BadContentLength)
                .unwrap_or(Refusal::Malformed)
        }
    }
}

/// What is wrong with the `Content-Length` fields of a head, if anything.
fn content_length_problem(head: &[u8]) -> Option<&'static str> {
    let mut seen: Option<&[u8]> = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon].eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        for value in line[colon + 1..].split(|&b| b == b',') {
            let value = value.trim_ascii();
            if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                return Some("not a number");
            }
            if std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .is_none()
            {
                return Some("too large a number");
            }
            match seen {
                Some(prev) if prev != value => return Some("conflicting values"),
                _ => seen = Some(value),
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        max_uri_length: 100,
        max_header_bytes: 200,
        keep: 1000,
    };

    #[test]
    fn recognises_hypers_own_refusals_only() {
        let hyper400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(parser_refusal(hyper400), Some((400, hyper400.len())));
        let hyper431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parser_refusal(hyper431).map(|r| r.0), Some(431));
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/scim+json\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parser_refusal(ours), None);
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parser_refusal(ok), None);
        assert_eq!(parser_refusal(b"HTTP/1.1 400 Bad"), None);
    }

    #[test]
    fn diagnoses_the_head() {
        let d = |status, head: &[u8]| diagnose(status, head, LIMITS);
        assert_eq!(
            d(400, b"GET /a\xffb HTTP/1.1\r\nHost: x\r\n\r\n"),
            Refusal::MalformedTarget
        );
        assert_eq!(
            d(400, b"POST /a HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
            Refusal::BadContentLength("not a number")
        );
        assert_eq!(
            d(
                400,
                b"POST /a HTTP/1.1\r\ncontent-length: 99999999999999999999999\r\n\r\n"
            ),
            Refusal::BadContentLength("too large a number")
        );
        assert_eq!(
            d(
                400,
                b"POST /a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
            ),
            Refusal::BadContentLength("conflicting values")
        );
        assert_eq!(d(400, b"GET / HTTP/9.9\r\n\r\n"), Refusal::Malformed);
        assert_eq!(d(431, b"GET /aaaaaaaa"), Refusal::UriTooLong { limit: 100 });
        assert_eq!(
            d(431, b"GET / HTTP/1.1\r\nX: aaaa"),
            Refusal::HeadersTooLarge { limit: 200 }
        );
    }
}
