//! Test helpers shared by the workspace's data-driven suites (the filter and path corpus,
//! the PATCH corpus, the IdP replay); not published.
//!
//! [`Expectations`] is the one expected-failure runner: every case must pass except those
//! listed, each with a reason; a listed case that passes, or that the corpus no longer
//! holds, fails the suite too, so the lists stay honest.
//!
//! ```
//! let mut e = scim_test_support::Expectations::new("demo", &[("b", "not supported yet")]);
//! e.record("a", Ok(()));
//! e.record("b", Err("refused".into()));
//! assert_eq!(e.finish(), (1, 1));
//! ```

use std::collections::{HashMap, HashSet};

#[cfg(feature = "postgres")]
pub mod postgres;

#[cfg(feature = "filters")]
pub mod filters;

#[cfg(feature = "filters")]
pub mod sorting;

#[cfg(feature = "read-cache")]
pub mod read_cache;

/// Asserts that `ids`, made one after another, are version-7 UUIDs in the order they were
/// made: their first 48 bits, the millisecond, never go back (ids of one millisecond share
/// it).
///
/// ```
/// scim_test_support::assert_time_ordered(&[
///     "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b".to_owned(),
///     "0190a1b2-c3d5-7000-9a6b-7c8d9e0f1a2b".to_owned(),
/// ]);
/// ```
///
/// # Panics
///
/// When one is not of version 7, or one was made before the one before it.
pub fn assert_time_ordered(ids: &[String]) {
    for id in ids {
        assert_eq!(id.get(14..15), Some("7"), "{id}");
    }
    let times: Vec<&str> = ids.iter().filter_map(|id| id.get(..13)).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, times, "made in order, sorted in order");
}

/// Outcomes of a suite's cases, checked against its expected-failure list.
#[derive(Debug)]
pub struct Expectations<'a> {
    suite: String,
    expected: HashMap<&'a str, &'a str>,
    seen: HashSet<String>,
    passed: usize,
    failed_as_expected: usize,
    problems: Vec<String>,
}

impl<'a> Expectations<'a> {
    /// A suite named `suite`, whose cases listed in `expected` (id, reason) are expected to
    /// fail.
    pub fn new(suite: impl Into<String>, expected: &'a [(&'a str, &'a str)]) -> Self {
        Expectations {
            suite: suite.into(),
            expected: expected.iter().copied().collect(),
            seen: HashSet::new(),
            passed: 0,
            failed_as_expected: 0,
            problems: Vec::new(),
        }
    }

    /// The outcome of case `id`: `Err` says why it failed.
    pub fn record(&mut self, id: &str, outcome: Result<(), String>) {
        self.seen.insert(id.to_owned());
        match (outcome, self.expected.get(id)) {
            (Ok(()), None) => self.passed += 1,
            (Err(_), Some(_)) => self.failed_as_expected += 1,
            (Ok(()), Some(reason)) => self
                .problems
                .push(format!("{id}: expected to fail ({reason}) but passes")),
            (Err(why), None) => self.problems.push(format!("{id}: {why}")),
        }
    }

    /// Prints the tally; panics listing every problem (an unexpected failure, an unexpected
    /// pass, a listed id the suite never ran). Returns (passed, failed as expected).
    pub fn finish(mut self) -> (usize, usize) {
        let mut missing: Vec<&str> = self
            .expected
            .keys()
            .filter(|id| !self.seen.contains(**id))
            .copied()
            .collect();
        missing.sort_unstable();
        for id in missing {
            self.problems.push(format!(
                "{id}: in the expected-failure list but not in the suite"
            ));
        }
        eprintln!(
            "{}: {} cases, {} pass, {} expected failures",
            self.suite,
            self.seen.len(),
            self.passed,
            self.failed_as_expected
        );
        assert!(
            self.problems.is_empty(),
            "{}: {} problems:\n{}",
            self.suite,
            self.problems.len(),
            self.problems.join("\n")
        );
        (self.passed, self.failed_as_expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "expected to fail (why) but passes")]
    fn an_expected_failure_that_passes_fails_the_suite() {
        let mut e = Expectations::new("t", &[("a", "why")]);
        e.record("a", Ok(()));
        e.finish();
    }

    #[test]
    #[should_panic(expected = "a: broken")]
    fn an_unexpected_failure_fails_the_suite() {
        let mut e = Expectations::new("t", &[]);
        e.record("a", Err("broken".into()));
        e.finish();
    }

    #[test]
    #[should_panic(expected = "gone: in the expected-failure list but not in the suite")]
    fn a_listed_case_the_suite_lacks_fails_it() {
        let e = Expectations::new("t", &[("gone", "why")]);
        e.finish();
    }
}
