//! Where `scim serve` writes its log lines: into a shared buffer that a thread of its own
//! writes out every few milliseconds, so a request pays for a copy into memory, not for a
//! system call or for waking another thread. Nothing is lost: a caller that finds the buffer
//! full writes it out itself (and so waits, as a blocking writer would).

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How often the writer thread writes out what was logged.
const INTERVAL: Duration = Duration::from_millis(10);

struct Shared {
    /// Lines logged since the last write-out, and whether the writer was closed.
    pending: Mutex<(Vec<u8>, bool)>,
    wake: Condvar,
    /// The destination; locked while writing so that lines keep their order.
    out: Mutex<Box<dyn Write + Send>>,
    /// A caller writes the buffer out itself once it holds this many bytes.
    cap: usize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves bytes, not broken invariants: keep logging.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Writes `bytes` out, in order with whatever was written out before.
    fn write_out(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut out = lock(&self.out);
        // A log that cannot be written must not take the server down.
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }

    /// Takes what is pending and writes it out (under the output lock, so that a line
    /// logged later cannot overtake it).
    fn drain(&self) {
        let mut out = lock(&self.out);
        let bytes = std::mem::take(&mut lock(&self.pending).0);
        if !bytes.is_empty() {
            let _ = out.write_all(&bytes).and_then(|()| out.flush());
        }
    }
}

/// A [`MakeWriter`] for log lines, batched: see the module documentation. Keep the
/// [`BatchedLogGuard`] alive while logging; dropping it writes out what is left.
///
/// ```
/// use std::io::Write;
/// use tracing_subscriber::fmt::MakeWriter;
/// let (log, guard) = scim_cli::serve::BatchedLog::new(Vec::new(), 1 << 20);
/// log.make_writer().write_all(b"one line\n")?;
/// drop(guard); // written out
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct BatchedLog {
    shared: Arc<Shared>,
}

/// Stops the [`BatchedLog`]'s thread when dropped, after it wrote out every line.
#[derive(Debug)]
pub struct BatchedLogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BatchedLog {
    /// Lines go to `out`, written every few milliseconds by a thread of their own, or by
    /// the caller that finds `cap` bytes pending.
    pub fn new(out: impl Write + Send + 'static, cap: usize) -> (BatchedLog, BatchedLogGuard) {
        let shared = Arc::new(Shared {
            pending: Mutex::new((Vec::new(), false)),
            wake: Condvar::new(),
            out: Mutex::new(Box::new(out)),
            cap,
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("scim-log".into())
            .spawn(move || loop {
                let closed = {
                    let pending = lock(&worker.pending);
                    let (pending, _) = worker
                        .wake
                        .wait_timeout_while(pending, INTERVAL, |(_, closed)| !*closed)
                        .unwrap_or_else(PoisonError::into_inner);
                    pending.1
                };
                worker.drain();
                if closed {
                    break;
                }
            })
            .ok();
        let guard = BatchedLogGuard {
            shared: Arc::clone(&shared),
            thread,
        };
        (BatchedLog { shared }, guard)
    }
}

impl Drop for BatchedLogGuard {
    fn drop(&mut self) {
        lock(&self.shared.pending).1 = true;
        self.shared.wake.notify_all();
        match self.thread.take() {
            Some(thread) => {
                let _ = thread.join();
            }
            None => self.shared.drain(),
        }
    }
}

/// One log line's writer: appends to the pending buffer.
#[derive(Debug)]
pub struct BatchedLine<'a> {
    log: &'a BatchedLog,
}

impl Write for BatchedLine<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let shared = &self.log.shared;
        let mut pending = lock(&shared.pending);
        let closed = pending.1;
        if closed || pending.0.len() + buf.len() > shared.cap {
            // Full (or no thread left to write): the caller writes, in order.
            drop(pending);
            shared.drain();
            shared.write_out(buf);
        } else {
            pending.0.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedLog {
    type Writer = BatchedLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        BatchedLine { log: self }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A destination the test can read while the log writes to it.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Every line of every thread arrives whole, in each thread's order, with a small cap
    /// (callers write out themselves) as with a large one (the thread writes).
    #[test]
    fn no_line_is_lost_or_torn() {
        for cap in [64, 1 << 20] {
            let sink = Sink::default();
            let (log, guard) = BatchedLog::new(sink.clone(), cap);
            std::thread::scope(|s| {
                for t in 0..4 {
                    let log = &log;
                    s.spawn(move || {
                        for i in 0..500 {
                            let line = format!("thread {t} line {i}\n");
                            log.make_writer().write_all(line.as_bytes()).unwrap();
                        }
                    });
                }
            });
            drop(guard);
            let text = sink.text();
            for t in 0..4 {
                let mine: Vec<&str> = text
                    .lines()
                    .filter(|l| l.starts_with(&format!("thread {t} ")))
                    .collect();
                let expected: Vec<String> =
                    (0..500).map(|i| format!("thread {t} line {i}")).collect();
                assert_eq!(mine, expected, "cap {cap}");
            }
            assert_eq!(text.lines().count(), 2000, "cap {cap}");
        }
    }

    /// A line shows up without another line or the guard's drop pushing it out.
    #[test]
    fn a_quiet_log_is_written_out_soon() {
        let sink = Sink::default();
        let (log, _guard) = BatchedLog::new(sink.clone(), 1 << 20);
        log.make_writer().write_all(b"alone\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.text().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.text(), "alone\n");
    }
}
