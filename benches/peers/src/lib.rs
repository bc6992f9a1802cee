//! Our `scim-filter` beside peer SCIM filter crates from crates.io, on the shared workload.
//!
//! The peers, and the calls used for each (read from their sources, not guessed):
//!
//! - `scim-filter` 0.2 (crates.io; renamed `peer_scim_filter` here because it has the same
//!   package name as ours): `parser::filter` (a nom parser) followed by the same "nothing may
//!   remain" check as its crate-private `scim_filter_parser`, then `Filter::r#match(&Value)
//!   -> Result<bool, Error>` per user. Its public `scim_filter(input, resources)` would
//!   serialise every resource again and fail the whole list on the first `Err`, so the bench
//!   calls the two halves directly and reads an `Err` as "no match" (and counts the `Err`s).
//! - `scim_v2` 1.x: `"…".parse::<scim_v2::filter::Filter>()`. It parses only; the crate
//!   documents that it evaluates no filter.
//!
//! [`check`] runs every implementation once over the workload and compares the answers with
//! `expected.json`; the bench (`benches/peers.rs`) and the results collector
//! (`examples/collect.rs`) both use it.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use scim_benches::{count_and_idxsum, Workload, WorkloadFilter};
use serde_json::Value;

/// Implementation names, as they appear in bench ids (`peers/parse/<id>/<impl>`).
pub const OURS: &str = "ours";
/// `scim-filter` 0.2 from crates.io.
pub const PEER_SCIM_FILTER: &str = "scim-filter-0.2";
/// `scim_v2` from crates.io.
pub const SCIM_V2: &str = "scim_v2";

/// A filter parsed by `scim-filter` 0.2; it borrows from the filter text.
pub type PeerFilter<'a> = peer_scim_filter::parser::Filter<'a>;

/// Parses with `scim-filter` 0.2 the way its crate-private `scim_filter_parser` does: the nom
/// parser must succeed and leave nothing of the input behind.
pub fn peer_parse(input: &str) -> Result<PeerFilter<'_>, String> {
    match peer_scim_filter::parser::filter(input) {
        Ok(("", filter)) => Ok(filter),
        Ok((rest, _)) => Err(format!("unparsed remainder `{rest}`")),
        Err(e) => Err(e.to_string()),
    }
}

/// Evaluates a `scim-filter` 0.2 filter against one user, reading an `Err` as "no match".
pub fn peer_matches(filter: &PeerFilter<'_>, user: &Value) -> bool {
    filter.r#match(user).unwrap_or(false)
}

/// Parses with `scim_v2`.
pub fn scim_v2_parse(input: &str) -> Result<scim_v2::filter::Filter, scim_v2::filter::ParseError> {
    input.parse()
}

/// Whether an implementation parsed a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseStatus {
    /// Parsed.
    Ok,
    /// Returned an error (the message).
    Error(String),
    /// Panicked.
    Panicked,
}

impl ParseStatus {
    /// `true` for [`ParseStatus::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, ParseStatus::Ok)
    }
}

impl fmt::Display for ParseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseStatus::Ok => f.write_str("yes"),
            ParseStatus::Error(_) => f.write_str("no"),
            ParseStatus::Panicked => f.write_str("panic"),
        }
    }
}

/// How an implementation's evaluation compared with `expected.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalStatus {
    /// (count, idxsum) computed; `errors` users made the evaluator return `Err` (read as
    /// "no match").
    Answered {
        /// Matching users.
        count: u64,
        /// Sum of their indexes.
        idxsum: u64,
        /// Users for which evaluation returned `Err`.
        errors: u64,
        /// (count, idxsum) equals `expected.json`.
        correct: bool,
    },
    /// The filter did not parse, so nothing was evaluated.
    NotParsed,
    /// Evaluation panicked.
    Panicked,
    /// The implementation only parses.
    NoEvaluator,
}

impl EvalStatus {
    fn answered(got: (u64, u64), errors: u64, expected: (u64, u64)) -> EvalStatus {
        EvalStatus::Answered {
            count: got.0,
            idxsum: got.1,
            errors,
            correct: got == expected,
        }
    }

    /// `Some(correct)` when the implementation produced an answer.
    pub fn correct(&self) -> Option<bool> {
        match self {
            EvalStatus::Answered { correct, .. } => Some(*correct),
            _ => None,
        }
    }
}

impl fmt::Display for EvalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalStatus::Answered {
                count,
                errors,
                correct,
                ..
            } => {
                if *correct {
                    f.write_str("yes")?;
                } else {
                    write!(f, "NO (count {count})")?;
                }
                if *errors > 0 {
                    write!(f, ", {errors} Err")?;
                }
                Ok(())
            }
            EvalStatus::NotParsed => f.write_str("-"),
            EvalStatus::Panicked => f.write_str("panic"),
            EvalStatus::NoEvaluator => f.write_str("n/a"),
        }
    }
}

/// What each implementation did with one workload filter.
#[derive(Debug, Clone)]
pub struct FilterReport {
    /// `f01` …
    pub id: String,
    /// `eq`, `case`, …
    pub class: String,
    /// Expected (count, idxsum).
    pub expected: (u64, u64),
    /// Ours always parses and is always correct (checked by [`check`]); kept for the table.
    pub ours: (ParseStatus, EvalStatus),
    /// `scim-filter` 0.2.
    pub peer_scim_filter: (ParseStatus, EvalStatus),
    /// `scim_v2` (parse only).
    pub scim_v2: ParseStatus,
}

/// Runs `f`, turning a panic into `None` (a peer's panic must not abort the bench).
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

fn parse_status<T, E: fmt::Display>(result: Option<Result<T, E>>) -> (ParseStatus, Option<T>) {
    match result {
        Some(Ok(v)) => (ParseStatus::Ok, Some(v)),
        Some(Err(e)) => (ParseStatus::Error(e.to_string()), None),
        None => (ParseStatus::Panicked, None),
    }
}

/// Checks our crate on one filter; panics if it does not parse, compile, or answer as
/// `expected.json` says.
pub fn check_ours(users: &[Value], f: &WorkloadFilter) -> scim_filter::CompiledFilter {
    let filter = scim_filter::Filter::parse(&f.filter)
        .unwrap_or_else(|e| panic!("{} `{}`: ours does not parse: {e}", f.id, f.filter));
    let compiled = scim_filter::CompiledFilter::compile_schemaless(&filter)
        .unwrap_or_else(|e| panic!("{} `{}`: ours does not compile: {e}", f.id, f.filter));
    let got = count_and_idxsum(users, |u| compiled.matches(u));
    assert_eq!(
        got,
        (f.count, f.idxsum),
        "{} ({}) `{}`: ours: (count, idxsum) differs from expected.json",
        f.id,
        f.class,
        f.filter
    );
    compiled
}

/// Checks `scim-filter` 0.2 on one filter; returns the parsed filter when it parsed and its
/// evaluation did not panic (the ones worth timing).
pub fn check_peer_scim_filter<'a>(
    users: &[Value],
    f: &'a WorkloadFilter,
) -> ((ParseStatus, EvalStatus), Option<PeerFilter<'a>>) {
    let (parse, parsed) = parse_status(guarded(|| peer_parse(&f.filter)));
    let Some(parsed) = parsed else {
        return ((parse, EvalStatus::NotParsed), None);
    };
    let answer = guarded(|| {
        let mut errors = 0;
        let got = count_and_idxsum(users, |u| match parsed.r#match(u) {
            Ok(m) => m,
            Err(_) => {
                errors += 1;
                false
            }
        });
        (got, errors)
    });
    match answer {
        Some((got, errors)) => (
            (parse, EvalStatus::answered(got, errors, (f.count, f.idxsum))),
            Some(parsed),
        ),
        None => ((parse, EvalStatus::Panicked), None),
    }
}

/// Checks `scim_v2` on one filter (it only parses).
pub fn check_scim_v2(f: &WorkloadFilter) -> ParseStatus {
    parse_status(guarded(|| scim_v2_parse(&f.filter))).0
}

/// Checks every implementation on every workload filter. Panics if ours is wrong; records
/// what the peers do.
pub fn check(workload: &Workload) -> Vec<FilterReport> {
    // Peers' panics are caught and reported in the table; keep their messages off stderr.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let reports = workload
        .filters
        .iter()
        .map(|f| {
            check_ours(&workload.users, f);
            FilterReport {
                id: f.id.clone(),
                class: f.class.clone(),
                expected: (f.count, f.idxsum),
                ours: (
                    ParseStatus::Ok,
                    EvalStatus::answered((f.count, f.idxsum), 0, (f.count, f.idxsum)),
                ),
                peer_scim_filter: check_peer_scim_filter(&workload.users, f).0,
                scim_v2: check_scim_v2(f),
            }
        })
        .collect();
    std::panic::set_hook(hook);
    reports
}

/// The correctness summary as a markdown table (printed by the bench at the end of setup and
/// copied into `RESULTS.md`).
pub fn summary_table(reports: &[FilterReport]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "| filter | class | parses: {OURS} | parses: {PEER_SCIM_FILTER} | parses: {SCIM_V2} \
         | eval correct: {OURS} | eval correct: {PEER_SCIM_FILTER} | eval correct: {SCIM_V2} |\n"
    ));
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for r in reports {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | n/a |\n",
            r.id, r.class, r.ours.0, r.peer_scim_filter.0, r.scim_v2, r.ours.1, r.peer_scim_filter.1,
        ));
    }
    let parsed = |s: &ParseStatus| s.is_ok();
    let n = reports.len();
    out.push_str(&format!(
        "\nparsed: {OURS} {}/{n}, {PEER_SCIM_FILTER} {}/{n}, {SCIM_V2} {}/{n}; \
         correct: {OURS} {}/{n}, {PEER_SCIM_FILTER} {}/{n}\n",
        reports.iter().filter(|r| parsed(&r.ours.0)).count(),
        reports.iter().filter(|r| parsed(&r.peer_scim_filter.0)).count(),
        reports.iter().filter(|r| parsed(&r.scim_v2)).count(),
        reports.iter().filter(|r| r.ours.1.correct() == Some(true)).count(),
        reports
            .iter()
            .filter(|r| r.peer_scim_filter.1.correct() == Some(true))
            .count(),
    ));
    out
}
