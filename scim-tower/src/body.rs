//! Reading a request body under the [`Limits`]: at most `max_payload` bytes, within the
//! body timeout; and throwing one away.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;

use crate::{Limits, Refusal};

/// A request body, pinned once so it can be read frame by frame.
pub(crate) type Pinned<B> = Pin<Box<B>>;

/// Runs `fut` for at most `after` when on a tokio runtime (with its timer); elsewhere the
/// host bounds it. `None` when the time ran out.
pub(crate) async fn within<F: Future>(after: Duration, fut: F) -> Option<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::time::timeout(after, fut).await.ok()
    } else {
        Some(fut.await)
    }
}

/// Reads a body of at most `max_payload` bytes. A longer one is drained (up to
/// `max_discard` in all) and refused 413 with the connection to be closed; a broken one is
/// refused 400. The caller bounds the whole read by the body timeout.
pub(crate) async fn read<B: Body>(
    mut body: Pinned<B>,
    limits: &Limits,
) -> Result<Bytes, (Refusal, bool)> {
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| (Refusal::BrokenBody, true))?;
        if let Ok(data) = frame.into_data() {
            let data = data.chunk_bytes();
            if buf.len() + data.len() > limits.max_payload {
                let budget = limits.max_discard.saturating_sub(buf.len() + data.len());
                let _ = discard(body, budget).await;
                let limit = limits.max_payload;
                return Err((Refusal::PayloadTooLarge { limit }, true));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Reads and drops a body; whether it ended within `budget` bytes.
pub(crate) async fn discard<B: Body>(mut body: Pinned<B>, budget: usize) -> bool {
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return false };
        if let Some(data) = frame.data_ref() {
            seen = seen.saturating_add(bytes::Buf::remaining(data));
            if seen > budget {
                return false;
            }
        }
    }
    true
}

/// The bytes of one data frame, whatever its buffer type.
trait ChunkBytes {
    fn chunk_bytes(self) -> Bytes;
}

impl<D: bytes::Buf> ChunkBytes for D {
    fn chunk_bytes(mut self) -> Bytes {
        self.copy_to_bytes(self.remaining())
    }
}
