//! The planner's statistics kept current after many writes
//! ([`PostgresOptions::analyze_after_writes`](crate::PostgresOptions::analyze_after_writes)).
//!
//! A schema filled in one go (an IdP's first sync, a `/Bulk` load) has no statistics until
//! autovacuum's next round, up to a minute later (`autovacuum_naptime`). Until then the
//! planner guesses one row per table: a `userName eq` lookup reads every index entry of
//! its tenant and type through `attr_index_owner` instead of the one it needs through the
//! primary key, and joins by a scan of the type's resources (measured: 0.9 ms instead of
//! 0.12 ms at 1,000 users, in proportion to the users after that). So the store counts
//! what it writes and, past a threshold, runs `ANALYZE` on its tables itself, in the
//! background on one pooled connection, one at a time: the threshold is the option's
//! value, or a tenth of the resources counted by the last `ANALYZE` if that is more (as
//! autovacuum's own scale factor), so a large table is not sampled again every few writes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::{Core, Fail};

/// What the store wrote since its last `ANALYZE`, and when the next is due.
pub(crate) struct Statistics {
    written: AtomicU64,
    /// Rows after which the next `ANALYZE` runs.
    due_at: AtomicU64,
    running: AtomicBool,
    /// [`PostgresOptions::analyze_after_writes`](crate::PostgresOptions::analyze_after_writes).
    least: u64,
}

impl Statistics {
    /// Counting, with an `ANALYZE` after `least` rows at the least; `None` for 0 (left to
    /// autovacuum).
    pub(crate) fn new(least: u64) -> Option<Self> {
        (least > 0).then(|| Statistics {
            written: AtomicU64::new(0),
            due_at: AtomicU64::new(least),
            running: AtomicBool::new(false),
            least,
        })
    }

    /// `rows` were written: whether an `ANALYZE` is due now (the caller runs
    /// [`analyze`]; no other caller is told so until it ends).
    pub(crate) fn wrote(&self, rows: u64) -> bool {
        let total = self.written.fetch_add(rows, Ordering::Relaxed) + rows;
        total >= self.due_at.load(Ordering::Relaxed) && !self.running.swap(true, Ordering::AcqRel)
    }

    /// An `ANALYZE` ended, having counted `resources` rows (none if it failed).
    fn analyzed(&self, resources: Option<u64>) {
        let tenth = resources.unwrap_or(0) / 10;
        self.due_at.store(self.least.max(tenth), Ordering::Relaxed);
        self.running.store(false, Ordering::Release);
    }
}

/// Runs `ANALYZE` on the store's tables and sets when the next one is due. A failure is
/// left to autovacuum (the next one is tried after as many writes again).
pub(crate) async fn analyze(core: Arc<Core>) {
    let Some(statistics) = core.statistics.as_ref() else {
        return;
    };
    // What is written from now on counts toward the next one.
    statistics.written.store(0, Ordering::Relaxed);
    let s = &core.schema;
    let counted = async {
        let client = core.client().await?;
        client
            .batch_execute(&format!(
                "ANALYZE {s}.resources, {s}.attr_index, {s}.members, {s}.unique_keys"
            ))
            .await?;
        let rows: f32 = client
            .query_one(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
                &[&format!("{s}.resources")],
            )
            .await?
            .get(0);
        Ok::<_, Fail>(rows)
    }
    .await;
    // `reltuples` is an estimate, -1 for a table never analyzed: rounded, never negative.
    let resources = counted.ok().map(|rows| rows.max(0.0).round() as u64);
    statistics.analyzed(resources);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_analyze_at_a_time_after_the_threshold_or_a_tenth_of_the_table() {
        assert!(Statistics::new(0).is_none());
        let s = Statistics::new(100).expect("on");
        assert!(!s.wrote(60));
        assert!(s.wrote(60), "120 rows: due");
        assert!(!s.wrote(500), "one at a time");
        // It ended: 5,000 resources, so the next is due after 500 rows.
        s.written.store(0, Ordering::Relaxed);
        s.analyzed(Some(5_000));
        assert!(!s.wrote(400));
        assert!(s.wrote(100));
        // A small table (or a failed count): the option's value.
        s.written.store(0, Ordering::Relaxed);
        s.analyzed(None);
        assert!(s.wrote(100));
    }
}
