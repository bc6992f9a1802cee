//! The store's own threads, so no SQLite call ever runs on the caller's executor: one writer
//! connection that commits concurrent writes together (group commit: one transaction, one
//! fsync, each write in a savepoint of its own), and reader connections that WAL lets read
//! while the writer writes. Every call hands back a future (a oneshot), whatever the
//! executor.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use scim_core::StoreError;

use crate::cache::Invalidation;
use crate::unavailable;

/// The limits of the store's threads.
///
/// ```
/// let o = scim_store_sqlite::PoolOptions::default();
/// assert_eq!((o.readers, o.max_batch, o.max_wal_frames), (4, 256, 16_384));
/// assert_eq!(o.query_budget, std::time::Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolOptions {
    /// Reader connections (each on a thread of its own). Default 4. A database in memory
    /// has none: its one connection reads and writes.
    pub readers: usize,
    /// The longest one read may run before SQLite interrupts it and the store answers
    /// [`StoreError::TooExpensive`] (the engine's 400 `tooMany`). Default 2 s.
    pub query_budget: Duration,
    /// Most writes committed together in one transaction. Default 256.
    pub max_batch: usize,
    /// Most tests a filter may need when no index narrows it: its terms that no index
    /// answers, times the resources of its type. A filter over it is refused before it runs
    /// ([`StoreError::TooExpensive`]). Default 2,000,000: about a second of work at the
    /// fastest (a test costs 1–3 µs), so only a filter sure to exceed the default 2 s
    /// budget is refused up front; the budget catches the rest.
    pub max_scan: u64,
    /// How long the write-ahead log of a database in a file may grow, in pages (4 KiB
    /// each), before the writer stops between two batches to finish copying it into the
    /// database so that it starts over. Default 16,384 (64 MiB). The copying itself runs on
    /// a thread of its own while the writer goes on; only its last step stops the writer,
    /// for a few milliseconds: the larger the log may grow, the rarer that stop, and the more
    /// disk the log takes. SQLite's own threshold is 1,000, under which a steady stream of
    /// writes stops every few dozen milliseconds.
    pub max_wal_frames: u64,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            readers: 4,
            query_budget: Duration::from_secs(2),
            max_batch: 256,
            max_scan: 2_000_000,
            max_wal_frames: 16_384,
        }
    }
}

/// What a connection's thread knows: when the running job must stop, and whether it did.
struct Budget {
    epoch: Instant,
    /// Milliseconds since `epoch` after which the running statement is interrupted;
    /// `u64::MAX` when there is no limit.
    deadline_ms: AtomicU64,
    interrupted: AtomicBool,
}

impl Budget {
    fn new() -> Arc<Budget> {
        Arc::new(Budget {
            epoch: Instant::now(),
            deadline_ms: AtomicU64::new(u64::MAX),
            interrupted: AtomicBool::new(false),
        })
    }

    fn arm(&self, budget: Duration) {
        let deadline = self.epoch.elapsed().saturating_add(budget).as_millis();
        self.interrupted.store(false, Ordering::Relaxed);
        self.deadline_ms.store(
            u64::try_from(deadline).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn disarm(&self) -> bool {
        self.deadline_ms.store(u64::MAX, Ordering::Relaxed);
        self.interrupted.swap(false, Ordering::Relaxed)
    }

    /// SQLite's progress handler: `true` interrupts the running statement.
    fn over(&self) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let over = now > self.deadline_ms.load(Ordering::Relaxed);
        if over {
            self.interrupted.store(true, Ordering::Relaxed);
        }
        over
    }
}

/// A finished job: whether its writes stand, and how to hand its answer over once the
/// transaction's fate is known (`Some(error)` when the commit failed).
struct Done {
    ok: bool,
    deliver: Box<dyn FnOnce(Option<StoreError>) + Send>,
}

type Job = Box<dyn FnOnce(&Connection, &Budget) -> Done + Send>;

/// A job queued for the writer, and whether it runs in a savepoint of its own.
struct WriteJob {
    job: Job,
    /// Without one ([`Pool::write_unjournaled`]) the job must fail only before it changes
    /// anything: if it fails after, the whole batch is rolled back.
    savepoint: bool,
}

/// One reader thread's queue, how many calls it has queued or running, and when the call it
/// is running started (milliseconds since the pool's epoch, plus one; 0 when idle).
struct Reader {
    queue: Sender<Job>,
    load: Arc<AtomicUsize>,
    busy_since: Arc<AtomicU64>,
}

/// What the writer tells the store's work deferred to the end of a batch (the trigram
/// index's FTS5 changes, see `crate::trigrams::deferral`): a batch begins, a write starts
/// (its mark), a write was rolled back to its savepoint, the batch is about to commit (apply
/// what waits, inside the transaction), the batch failed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchHooks {
    pub(crate) begin: fn(),
    pub(crate) mark: fn() -> usize,
    pub(crate) roll_back: fn(usize),
    pub(crate) finish: fn(&Connection) -> Result<(), StoreError>,
    pub(crate) abandon: fn(),
}

/// The writer thread, the reader threads and their queues.
pub(crate) struct Pool {
    writer: Option<Sender<WriteJob>>,
    readers: Vec<Reader>,
    epoch: Instant,
    threads: Vec<JoinHandle<()>>,
    options: PoolOptions,
}

impl Pool {
    /// Starts the writer on `writer` and a thread for each of `readers`.
    ///
    /// For a database in a file (`file`), the WAL is checkpointed on a connection and thread
    /// of its own, never by the writer, and made durable by a thread of its own too: the
    /// writer commits without waiting for the disk (`synchronous=OFF`) and goes on with the
    /// next batch while the syncer `fdatasync`s the WAL; a write is answered only once a sync
    /// that began after its commit has finished (one sync covers every commit before it).
    pub(crate) fn start(
        writer: Connection,
        readers: Vec<Connection>,
        file: Option<FileDb>,
        hooks: Option<BatchHooks>,
        invalidation: Option<Invalidation>,
        options: PoolOptions,
    ) -> Result<Pool, StoreError> {
        let mut threads = Vec::new();
        let (write_tx, write_rx) = channel::<WriteJob>();
        let budget = Budget::new();
        let w = watch(&writer, &budget);
        let (checkpoints, syncs) = match file {
            Some(FileDb { checkpointer, wal }) => {
                // The writer's own automatic checkpoints stop: they would hold up every
                // write queued behind the commit that crossed the threshold.
                writer
                    .pragma_update(None, "wal_autocheckpoint", 0)
                    .map_err(unavailable)?;
                writer
                    .pragma_update(None, "synchronous", "OFF")
                    .map_err(unavailable)?;
                // After `wal_autocheckpoint`, which sets a hook of its own.
                writer.wal_hook(Some(note_wal_frames));
                let (tx, rx) = sync_channel::<()>(1);
                let limit = options.max_wal_frames;
                let wal_state = Arc::new(WalState {
                    catch_up: AtomicBool::new(false),
                    pressing: AtomicBool::new(false),
                    limit,
                });
                let flag = Arc::clone(&wal_state);
                threads.push(spawn("scim-sqlite-checkpoint", move || {
                    checkpoint_loop(&checkpointer, &rx, &flag, limit)
                })?);
                let (sync_tx, sync_rx) = channel::<Vec<Finished>>();
                threads.push(spawn("scim-sqlite-sync", move || {
                    sync_loop(&wal, &sync_rx)
                })?);
                (Some((tx, wal_state)), Some(sync_tx))
            }
            None => (None, None),
        };
        threads.push(spawn("scim-sqlite-writer", move || {
            write_loop(
                &writer,
                &w,
                &write_rx,
                options.max_batch,
                checkpoints,
                syncs,
                hooks,
                invalidation,
            )
        })?);
        let mut queues = Vec::with_capacity(readers.len());
        for (i, conn) in readers.into_iter().enumerate() {
            let (tx, rx) = channel::<Job>();
            let budget = Budget::new();
            let b = watch(&conn, &budget);
            threads.push(spawn(&format!("scim-sqlite-reader-{i}"), move || {
                read_loop(&conn, &b, &rx)
            })?);
            queues.push(Reader {
                queue: tx,
                load: Arc::new(AtomicUsize::new(0)),
                busy_since: Arc::new(AtomicU64::new(0)),
            });
        }
        Ok(Pool {
            writer: Some(write_tx),
            readers: queues,
            epoch: Instant::now(),
            threads,
            options,
        })
    }

    /// Runs `f` on a reader (or, without readers, on the writer) within the query budget.
    pub(crate) fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> impl Future<Output = Result<R, StoreError>> + Send {
        let budget = self.options.query_budget;
        // The least busy reader and, among equally busy ones, the one whose running call
        // started last: a call that has run long is likely to run longer, so a lookup is not
        // queued behind an expensive search while another reader is about to be free.
        let now = millis_since(self.epoch);
        let reader = self.readers.iter().min_by_key(|r| {
            let since = r.busy_since.load(Ordering::Relaxed);
            let running_for = if since == 0 {
                0
            } else {
                now.saturating_sub(since - 1)
            };
            (r.load.load(Ordering::Relaxed), running_for)
        });
        let tracking = reader.map(|r| {
            r.load.fetch_add(1, Ordering::Relaxed);
            (Arc::clone(&r.load), Arc::clone(&r.busy_since))
        });
        let queue = match reader {
            Some(r) => Queue::Reader(&r.queue),
            // A read changes nothing: no savepoint.
            None => Queue::Writer(self.writer.as_ref(), false),
        };
        let epoch = self.epoch;
        submit(queue, move |conn, b| {
            if let Some((_, since)) = &tracking {
                since.store(millis_since(epoch) + 1, Ordering::Relaxed);
            }
            b.arm(budget);
            let result = f(conn);
            let interrupted = b.disarm();
            if let Some((load, since)) = tracking {
                since.store(0, Ordering::Relaxed);
                load.fetch_sub(1, Ordering::Relaxed);
            }
            match result {
                Err(_) if interrupted => Err(StoreError::TooExpensive(format!(
                    "the query ran past its budget of {} ms",
                    budget.as_millis()
                ))),
                other => other,
            }
        })
    }

    /// Runs `f` on the writer inside a savepoint of the current batch's transaction; the
    /// answer comes once the batch is committed (durable) — or rolled back, when `f` failed
    /// (its savepoint only) or the commit did (every write of the batch).
    pub(crate) fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> impl Future<Output = Result<R, StoreError>> + Send {
        submit(Queue::Writer(self.writer.as_ref(), true), move |conn, _| {
            f(conn)
        })
    }

    /// [`Pool::write`] without a savepoint, for a write that checks everything that can
    /// refuse it before it changes anything (a create: the id, the unique values, the
    /// references), so that a failure past that point is the database's own (a full disk,
    /// an I/O error). A savepoint copies every page the write touches once more; a create
    /// touches a dozen. The writer counts the rows changed around the job: if it fails with
    /// none changed, it alone is answered with its error, as with a savepoint; if it fails
    /// after changing some, the whole batch is rolled back and every write of it is
    /// answered with an error, as when a commit fails. Nothing is ever half-written.
    pub(crate) fn write_unjournaled<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> impl Future<Output = Result<R, StoreError>> + Send {
        submit(
            Queue::Writer(self.writer.as_ref(), false),
            move |conn, _| f(conn),
        )
    }
}

impl Drop for Pool {
    /// Closes the queues and waits for the threads: what was queued is done (and durable)
    /// before the store is gone.
    fn drop(&mut self) {
        self.writer.take();
        self.readers.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(unavailable)
}

/// Installs the progress handler that enforces `budget` on `conn`.
fn watch(conn: &Connection, budget: &Arc<Budget>) -> Arc<Budget> {
    let b = Arc::clone(budget);
    conn.progress_handler(1000, Some(move || b.over()));
    Arc::clone(budget)
}

/// Where [`submit`] queues a job: a reader, or the writer (`None` once closed), with or
/// without a savepoint.
enum Queue<'a> {
    Reader(&'a Sender<Job>),
    Writer(Option<&'a Sender<WriteJob>>, bool),
}

/// Queues `f` and returns the future of its result.
fn submit<R: Send + 'static>(
    queue: Queue<'_>,
    f: impl FnOnce(&Connection, &Budget) -> Result<R, StoreError> + Send + 'static,
) -> impl Future<Output = Result<R, StoreError>> + Send {
    let (tx, rx) = futures_channel::oneshot::channel::<Result<R, StoreError>>();
    let job: Job = Box::new(move |conn, budget| {
        let result = f(conn, budget);
        Done {
            ok: result.is_ok(),
            deliver: Box::new(move |failed_commit| {
                let _ = tx.send(match failed_commit {
                    Some(e) => Err(e),
                    None => result,
                });
            }),
        }
    });
    let queued = match queue {
        Queue::Reader(q) => q.send(job).is_ok(),
        Queue::Writer(q, savepoint) => {
            q.is_some_and(|q| q.send(WriteJob { job, savepoint }).is_ok())
        }
    };
    async move {
        if !queued {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        rx.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the store could not run the call (no transaction could be opened)".into(),
            ))
        })
    }
}

fn read_loop(conn: &Connection, budget: &Budget, rx: &Receiver<Job>) {
    while let Some(job) = next_job(rx) {
        (job(conn, budget).deliver)(None);
    }
}

/// How long a thread that ran out of work keeps looking for more before it sleeps: waking a
/// sleeping thread costs tens of microseconds (more on a virtual machine), longer than most
/// lookups, and calls come in runs.
const LINGER_AWAKE: Duration = Duration::from_micros(60);

/// The next job, after looking for one a little while awake; `None` once the queue is closed.
fn next_job(rx: &Receiver<Job>) -> Option<Job> {
    match next_write(rx, None) {
        Next::Job(job) => Some(job),
        Next::Closed | Next::Idle => None,
    }
}

/// What a thread waiting for work gets.
enum Next<J> {
    Job(J),
    /// Nothing came within the time asked for.
    Idle,
    /// The queue is closed.
    Closed,
}

/// The next job, after looking for one a little while awake; with `idle`, [`Next::Idle`]
/// when none comes within that time.
fn next_write<J>(rx: &Receiver<J>, idle: Option<Duration>) -> Next<J> {
    use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
    let started = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(job) => return Next::Job(job),
            Err(TryRecvError::Disconnected) => return Next::Closed,
            Err(TryRecvError::Empty) if started.elapsed() < LINGER_AWAKE => {
                std::thread::yield_now();
            }
            Err(TryRecvError::Empty) => break,
        }
    }
    match idle {
        None => rx.recv().map_or(Next::Closed, Next::Job),
        Some(idle) => match rx.recv_timeout(idle) {
            Ok(job) => Next::Job(job),
            Err(RecvTimeoutError::Timeout) => Next::Idle,
            Err(RecvTimeoutError::Disconnected) => Next::Closed,
        },
    }
}

/// A write run in a batch, and the error of its own end (its savepoint's release).
type Finished = (Done, Option<StoreError>);

/// What a file database adds to the pool: the checkpoint connection and the WAL's path.
pub(crate) struct FileDb {
    pub(crate) checkpointer: Connection,
    pub(crate) wal: PathBuf,
}

/// Answers each write: its own error, else `shared` (the batch's commit or sync failed).
fn deliver(finished: Vec<Finished>, shared: Option<StoreError>) {
    for (done, own_error) in finished {
        (done.deliver)(own_error.or_else(|| shared.clone()));
    }
}

fn sync_gone() -> StoreError {
    StoreError::Unavailable("the store's sync thread is gone: the write may not be durable".into())
}

/// Makes the writer's commits durable: takes every batch committed so far, syncs the WAL
/// once for all of them, answers them; ends with the writer, after the last batch.
fn sync_loop(wal: &Path, committed: &Receiver<Vec<Finished>>) {
    let mut file: Option<std::fs::File> = None;
    while let Ok(mut batch) = committed.recv() {
        while let Ok(more) = committed.try_recv() {
            batch.extend(more);
        }
        let synced = sync_wal(&mut file, wal);
        deliver(batch, synced.err());
    }
}

/// `fdatasync` of the WAL (opened at its first use: SQLite creates it with the first
/// write), as `synchronous=FULL` would after each commit.
fn sync_wal(file: &mut Option<std::fs::File>, wal: &Path) -> Result<(), StoreError> {
    if file.is_none() {
        *file = Some(std::fs::File::open(wal).map_err(unavailable)?);
    }
    match file {
        Some(f) => f.sync_data().map_err(unavailable),
        None => Err(sync_gone()),
    }
}

/// Runs one statement of the writer's transaction control, prepared once.
fn run(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(drop)
        .map_err(unavailable)
}

/// How often, at most, the writer asks for a checkpoint while it commits. Each passive
/// checkpoint sorts the whole WAL index and copies every page written since the last one:
/// asked every 50 ms under steady writes, it cost about a sixth of each create.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How often, at most, the writer asks for a checkpoint while the WAL holds more than half
/// of [`PoolOptions::max_wal_frames`]: it is to start over soon.
const CHECKPOINT_EVERY_PRESSED: Duration = Duration::from_millis(50);

/// What the checkpoint thread tells the writer about the WAL.
struct WalState {
    /// Over the limit: finish the copy between two batches.
    catch_up: AtomicBool,
    /// Over half the limit: ask for checkpoints every [`CHECKPOINT_EVERY_PRESSED`].
    pressing: AtomicBool,
    /// [`PoolOptions::max_wal_frames`].
    limit: u64,
}

thread_local! {
    /// The frames in the WAL after the last commit on this thread's connection (the
    /// writer's), as SQLite's WAL hook counts them.
    static WAL_FRAMES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The WAL hook of the writer's connection: notes the frames the WAL holds after a commit.
/// The writer acts on the count itself, whatever the time: a burst of commits faster than
/// the checkpoint thread is asked (at most every [`CHECKPOINT_EVERY`]) still starts the WAL
/// over near [`PoolOptions::max_wal_frames`].
fn note_wal_frames(_: &rusqlite::hooks::Wal, frames: std::os::raw::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(u64::try_from(frames).unwrap_or(0)));
    Ok(())
}

/// How long the writer waits for work after a commit before it asks for a checkpoint of
/// what it committed (a quiet store's commits reach the database file within moments).
const CHECKPOINT_WHEN_IDLE: Duration = Duration::from_millis(20);

/// Copies the WAL into the database whenever the writer asks (a passive checkpoint: it
/// waits for nobody, and the writer's commits go on meanwhile); ends with the writer.
///
/// Under a steady stream of commits such a checkpoint never catches up with the end of the
/// WAL, and SQLite starts the WAL over only once every frame is copied: when the WAL holds
/// more than `limit` frames ([`PoolOptions::max_wal_frames`]), `state.catch_up` asks the
/// writer to finish the copy between two batches (cheap: this thread copied the bulk of it);
/// past half of it, `state.pressing` asks for checkpoints more often.
fn checkpoint_loop(conn: &Connection, asked: &Receiver<()>, state: &WalState, limit: u64) {
    while asked.recv().is_ok() {
        // A failed or partial checkpoint is retried at the next request.
        let frames = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
            .map_or(0, |n| u64::try_from(n).unwrap_or(0));
        if frames > limit {
            state.catch_up.store(true, Ordering::Relaxed);
        }
        state.pressing.store(frames > limit / 2, Ordering::Relaxed);
    }
}

/// Takes what is queued (up to `max_batch`), runs it in one transaction with a savepoint per
/// job, commits once, then answers every job; after a commit, asks `checkpoints` (if any)
/// for a checkpoint, at most every [`CHECKPOINT_EVERY`], or once the writer has been idle
/// for [`CHECKPOINT_WHEN_IDLE`] with commits not yet asked for. With a read cache
/// (`invalidation`), what each batch wrote is invalidated after its transaction ends and
/// before any of its writes is answered, and other processes' commits are looked for before
/// each batch and, while idle, every [`Invalidation::poll_every`].
#[allow(clippy::too_many_arguments)]
fn write_loop(
    conn: &Connection,
    budget: &Budget,
    rx: &Receiver<WriteJob>,
    max_batch: usize,
    checkpoints: Option<(SyncSender<()>, Arc<WalState>)>,
    syncs: Option<Sender<Vec<Finished>>>,
    hooks: Option<BatchHooks>,
    mut invalidation: Option<Invalidation>,
) {
    let mut last_asked = Instant::now();
    // Commits since the last request for a checkpoint.
    let mut unasked = false;
    loop {
        let idle = if checkpoints.is_some() && unasked {
            Some(CHECKPOINT_WHEN_IDLE)
        } else {
            invalidation.as_ref().map(Invalidation::poll_every)
        };
        let first = match next_write(rx, idle) {
            Next::Job(job) => job,
            Next::Closed => break,
            Next::Idle => {
                if unasked {
                    if let Some((checkpoints, _)) = &checkpoints {
                        let _ = checkpoints.try_send(());
                    }
                    last_asked = Instant::now();
                    unasked = false;
                }
                if let Some(inv) = &mut invalidation {
                    inv.poll_if_due(conn);
                }
                continue;
            }
        };
        if let Some(inv) = &mut invalidation {
            inv.poll_if_due(conn);
        }
        let mut batch = vec![first];
        while batch.len() < max_batch.max(1) {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A job that cannot run inside the batch's transaction is dropped unrun: its caller
        // gets an error, never a write outside a transaction.
        if run(conn, "BEGIN IMMEDIATE").is_err() {
            continue;
        }
        if let Some(h) = hooks {
            (h.begin)();
        }
        let mut finished = Vec::with_capacity(batch.len());
        // A write without a savepoint that failed after changing rows: the batch must go.
        let mut torn = false;
        for WriteJob { job, savepoint } in batch {
            if savepoint && run(conn, "SAVEPOINT write").is_err() {
                continue;
            }
            let changes = conn.total_changes();
            let mark = hooks.map(|h| (h.mark)());
            let done = job(conn, budget);
            if !done.ok {
                if let (Some(h), Some(mark)) = (hooks, mark) {
                    (h.roll_back)(mark);
                }
            }
            let own_error = if savepoint {
                let end = if done.ok {
                    run(conn, "RELEASE write")
                } else {
                    run(conn, "ROLLBACK TO write").and_then(|()| run(conn, "RELEASE write"))
                };
                end.err()
            } else {
                torn |= !done.ok && conn.total_changes() != changes;
                None
            };
            finished.push((done, own_error));
        }
        let deferred = match hooks {
            Some(h) if !torn => (h.finish)(conn),
            _ => Ok(()),
        };
        let commit = if torn {
            Err(StoreError::Unavailable(
                "a write failed part-way: its batch was rolled back, nothing of it is stored"
                    .into(),
            ))
        } else {
            deferred.and_then(|()| run(conn, "COMMIT"))
        };
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
            if let Some(h) = hooks {
                (h.abandon)();
            }
        }
        if let Some(inv) = &invalidation {
            inv.after_batch();
        }
        match (&syncs, commit) {
            // Committed, not yet durable: answered once the WAL is synced.
            (Some(syncs), Ok(())) => {
                if let Err(unsent) = syncs.send(finished) {
                    deliver(unsent.0, Some(sync_gone()));
                }
            }
            (_, commit) => deliver(finished, commit.err()),
        }
        if let Some((checkpoints, state)) = &checkpoints {
            let frames = WAL_FRAMES.with(std::cell::Cell::get);
            if state.catch_up.swap(false, Ordering::Relaxed) || frames > state.limit {
                // No transaction of this connection is open: the copy completes unless a
                // reader holds an old snapshot, and the next batch starts the WAL over. It
                // syncs the WAL before copying and the database before the WAL may be
                // written over (the writer's own commits do not sync).
                let _ = conn.pragma_update(None, "synchronous", "FULL");
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                let _ = conn.pragma_update(None, "synchronous", "OFF");
            }
            unasked = true;
            let every = if state.pressing.load(Ordering::Relaxed) || frames > state.limit / 2 {
                CHECKPOINT_EVERY_PRESSED
            } else {
                CHECKPOINT_EVERY
            };
            if last_asked.elapsed() >= every {
                // Full: a request is pending already.
                let _ = checkpoints.try_send(());
                last_asked = Instant::now();
                unasked = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use scim_core::block_on;

    fn temp_db(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("scim-pool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("pool.db")
    }

    fn open(path: &std::path::Path) -> Connection {
        let c = Connection::open(path).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c
    }

    fn pool(path: &std::path::Path, readers: usize, budget: Duration) -> Pool {
        let w = open(path);
        w.execute_batch("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER)")
            .unwrap();
        let readers = (0..readers).map(|_| open(path)).collect();
        let options = PoolOptions {
            query_budget: budget,
            ..PoolOptions::default()
        };
        Pool::start(w, readers, None, None, None, options).unwrap()
    }

    fn insert(p: &Pool, k: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        let k = k.to_owned();
        p.write(move |c| {
            c.execute("INSERT INTO t (k, v) VALUES (?1, 1)", [&k])
                .map(|_| ())
                .map_err(unavailable)
        })
    }

    /// With a file database a write is answered by the sync thread, after its sync: when
    /// the WAL cannot be synced, the write is answered with an error (not as durable), and
    /// when it can, with its result; either way the writer carried on.
    #[test]
    fn writes_are_answered_after_the_wal_sync() {
        let path = temp_db("sync");
        let w = open(&path);
        w.execute_batch("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER)")
            .unwrap();
        let start = |wal: std::path::PathBuf| {
            let file = FileDb {
                checkpointer: open(&path),
                wal,
            };
            Pool::start(
                open(&path),
                vec![open(&path)],
                Some(file),
                None,
                None,
                PoolOptions::default(),
            )
            .unwrap()
        };
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let good = start(wal.into());
        block_on(insert(&good, "a")).expect("synced");
        assert_eq!(count(&good), 1);
        drop(good);
        let bad = start(path.with_file_name("no-such-dir").join("x-wal"));
        let err = block_on(insert(&bad, "b")).expect_err("no sync, no acknowledgement");
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        drop(bad);
        drop(w);
    }

    fn count(p: &Pool) -> i64 {
        block_on(p.read(|c| {
            c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                .map_err(unavailable)
        }))
        .unwrap()
    }

    #[test]
    fn futures_are_send_and_static() {
        fn check<T: Send + 'static>(_: &T) {}
        let path = temp_db("send");
        let p = pool(&path, 1, Duration::from_secs(2));
        let f = insert(&p, "a");
        check(&f);
        block_on(f).unwrap();
    }

    /// Writes queued while the writer is busy are committed together; one that fails rolls
    /// back its own savepoint only, and its neighbours stand.
    #[test]
    fn group_commit_isolates_each_write() {
        let path = temp_db("batch");
        let p = pool(&path, 1, Duration::from_secs(2));
        block_on(insert(&p, "dup")).unwrap();
        // Holds the writer so that the next writes queue up into one batch.
        let gate = p.write(|_| {
            std::thread::sleep(Duration::from_millis(200));
            Ok(())
        });
        let a = insert(&p, "a");
        let dup = insert(&p, "dup");
        let b = p.write(|c| {
            c.execute("INSERT INTO t (k, v) VALUES ('b', 1)", [])
                .map_err(unavailable)?;
            // Written, then failed: the savepoint must undo the insert.
            Err::<(), _>(StoreError::Conflict {
                attribute: "b".into(),
            })
        });
        let c = insert(&p, "c");
        block_on(gate).unwrap();
        assert!(block_on(a).is_ok());
        assert!(block_on(dup).is_err(), "a duplicate key fails");
        assert!(block_on(b).is_err());
        assert!(block_on(c).is_ok());
        let keys: Vec<String> = block_on(p.read(|c| {
            let mut s = c
                .prepare("SELECT k FROM t ORDER BY k")
                .map_err(unavailable)?;
            let rows = s.query_map([], |r| r.get(0)).map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)
        }))
        .unwrap();
        assert_eq!(keys, ["a", "c", "dup"]);
    }

    /// The keys of `t`, in order.
    fn keys(p: &Pool) -> Vec<String> {
        block_on(p.read(|c| {
            let mut s = c
                .prepare("SELECT k FROM t ORDER BY k")
                .map_err(unavailable)?;
            let rows = s.query_map([], |r| r.get(0)).map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)
        }))
        .unwrap()
    }

    /// A write without a savepoint that fails before changing anything fails alone; one
    /// that fails after changing rows takes its whole batch with it: every write of the
    /// batch is answered with an error and none of it is stored (never half of one).
    #[test]
    fn an_unjournaled_write_that_fails_part_way_rolls_its_batch_back() {
        let path = temp_db("unjournaled");
        let p = pool(&path, 1, Duration::from_secs(2));
        // Holds the writer, once it runs, so that the next writes queue up into one batch.
        let hold = |p: &Pool| {
            let (started_tx, started_rx) = std::sync::mpsc::channel();
            let gate = p.write(move |_| {
                let _ = started_tx.send(());
                std::thread::sleep(Duration::from_millis(200));
                Ok(())
            });
            let gate = std::thread::spawn(move || block_on(gate));
            started_rx.recv().unwrap();
            gate
        };
        let refuse = |p: &Pool, k: &'static str, after_insert: bool| {
            p.write_unjournaled(move |c| {
                if after_insert {
                    c.execute("INSERT INTO t (k, v) VALUES (?1, 1)", [k])
                        .map_err(unavailable)?;
                }
                Err::<(), _>(StoreError::Conflict {
                    attribute: k.into(),
                })
            })
        };
        // Refused before any change: its neighbours, journaled or not, commit.
        let gate = hold(&p);
        let a = insert(&p, "a");
        let early = refuse(&p, "early", false);
        let b = p.write_unjournaled(|c| {
            c.execute("INSERT INTO t (k, v) VALUES ('b', 1)", [])
                .map(drop)
                .map_err(unavailable)
        });
        block_on(a).unwrap();
        assert!(matches!(block_on(early), Err(StoreError::Conflict { .. })));
        gate.join().unwrap().unwrap();
        block_on(b).unwrap();
        assert_eq!(keys(&p), ["a", "b"]);
        // Refused after an insert: the batch goes, each of its writes hears of it.
        let gate = hold(&p);
        let c = insert(&p, "c");
        let late = refuse(&p, "late", true);
        let d = insert(&p, "d");
        gate.join().unwrap().unwrap();
        for f in [c, d] {
            assert!(matches!(block_on(f), Err(StoreError::Unavailable(_))));
        }
        assert!(block_on(late).is_err());
        assert_eq!(keys(&p), ["a", "b"], "nothing of the torn batch is stored");
        // The writer carries on.
        block_on(insert(&p, "e")).unwrap();
        assert_eq!(keys(&p), ["a", "b", "e"]);
    }

    /// A reader is not held up by a writer in the middle of a long transaction (WAL), and
    /// sees the last committed state.
    #[test]
    fn readers_do_not_wait_for_the_writer() {
        let path = temp_db("readers");
        let p = pool(&path, 2, Duration::from_secs(2));
        block_on(insert(&p, "before")).unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let slow = p.write(move |c| {
            c.execute("INSERT INTO t (k, v) VALUES ('during', 1)", [])
                .map_err(unavailable)?;
            let _ = started_tx.send(());
            std::thread::sleep(Duration::from_millis(800));
            Ok(())
        });
        let writer = std::thread::spawn(move || block_on(slow));
        started_rx.recv().unwrap();
        let t = Instant::now();
        assert_eq!(count(&p), 1, "the uncommitted write is not seen");
        assert!(
            t.elapsed() < Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
        writer.join().unwrap().unwrap();
        assert_eq!(count(&p), 2);
    }

    /// When every reader is busy, a call queues behind the one whose running call started
    /// last, not behind a long search.
    #[test]
    fn a_call_does_not_queue_behind_a_long_read() {
        let path = temp_db("dispatch");
        let p = pool(&path, 2, Duration::from_secs(5));
        let slow = |ms: u64| {
            p.read(move |_| {
                std::thread::sleep(Duration::from_millis(ms));
                Ok(())
            })
        };
        let long = slow(1500);
        std::thread::sleep(Duration::from_millis(50));
        let short = slow(100);
        std::thread::sleep(Duration::from_millis(20));
        let t = Instant::now();
        let next = p.read(|_| Ok(()));
        block_on(next).unwrap();
        assert!(
            t.elapsed() < Duration::from_millis(700),
            "{:?}",
            t.elapsed()
        );
        block_on(short).unwrap();
        block_on(long).unwrap();
    }

    /// A read over its budget is interrupted and answered `TooExpensive`; the connection is
    /// healthy for the next read.
    #[test]
    fn a_read_over_budget_is_interrupted() {
        let path = temp_db("budget");
        let p = pool(&path, 1, Duration::from_millis(50));
        let t = Instant::now();
        let long = block_on(p.read(|c| {
            c.query_row(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                 SELECT COUNT(*) FROM (SELECT i FROM n LIMIT 1000000000)",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(unavailable)
        }));
        assert!(matches!(long, Err(StoreError::TooExpensive(_))), "{long:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        block_on(insert(&p, "x")).unwrap();
        assert_eq!(count(&p), 1, "the reader answers again");
    }

    /// Dropping the pool finishes what was queued: an acknowledged write is durable.
    #[test]
    fn drop_finishes_queued_writes() {
        let path = temp_db("drop");
        let p = pool(&path, 1, Duration::from_secs(2));
        let pending: Vec<_> = (0..20).map(|i| insert(&p, &format!("k{i}"))).collect();
        drop(p);
        for f in pending {
            block_on(f).unwrap();
        }
        let c = open(&path);
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 20);
    }
}
