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
//! [`prepare`] runs every implementation once over the workload and compares the answers with
//! `expected.json`; the bench (`benches/peers.rs`) times what it prepared, and the results
//! collector (`examples/collect.rs`) uses its reports for the correctness columns.

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
    /// Panicked (the message).
    Panicked(String),
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
            ParseStatus::Panicked(_) => f.write_str("panic"),
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
        /// (count, idxsum) per `expected.json`.
        expected: (u64, u64),
        /// (count, idxsum) equals `expected`.
        correct: bool,
    },
    /// The filter did not parse, so nothing was evaluated.
    NotParsed,
    /// Evaluation panicked (the message).
    Panicked(String),
    /// The implementation only parses.
    NoEvaluator,
}

impl EvalStatus {
    fn answered(got: (u64, u64), errors: u64, expected: (u64, u64)) -> EvalStatus {
        EvalStatus::Answered {
            count: got.0,
            idxsum: got.1,
            errors,
            expected,
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
                idxsum,
                errors,
                expected,
                correct,
            } => {
                if *correct {
                    f.write_str("yes")?;
                } else if *count == expected.0 {
                    write!(f, "NO (idxsum {idxsum}, want {})", expected.1)?;
                } else {
                    write!(f, "NO (count {count}, want {})", expected.0)?;
                }
                if *errors > 0 {
                    write!(f, ", {errors} Err")?;
                }
                Ok(())
            }
            EvalStatus::NotParsed => f.write_str("-"),
            EvalStatus::Panicked(_) => f.write_str("panic"),
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
    /// Ours always parses and is always correct (checked by [`prepare`]); kept for the table.
    pub ours: (ParseStatus, EvalStatus),
    /// `scim-filter` 0.2.
    pub peer_scim_filter: (ParseStatus, EvalStatus),
    /// `scim_v2` (parse only).
    pub scim_v2: ParseStatus,
}

/// Runs `f`, turning a panic into its message (a peer's panic must not abort the bench).
/// The default hook is silenced meanwhile; the message ends up in the summary instead.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned())
    })
}

fn parse_status<T, E: fmt::Display>(
    result: Result<Result<T, E>, String>,
) -> (ParseStatus, Option<T>) {
    match result {
        Ok(Ok(v)) => (ParseStatus::Ok, Some(v)),
        Ok(Err(e)) => (ParseStatus::Error(e.to_string()), None),
        Err(panic) => (ParseStatus::Panicked(panic), None),
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
) -> (ParseStatus, EvalStatus, Option<PeerFilter<'a>>) {
    let (parse, parsed) = parse_status(guarded(|| peer_parse(&f.filter)));
    let Some(parsed) = parsed else {
        return (parse, EvalStatus::NotParsed, None);
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
        Ok((got, errors)) => (
            parse,
            EvalStatus::answered(got, errors, (f.count, f.idxsum)),
            Some(parsed),
        ),
        Err(panic) => (parse, EvalStatus::Panicked(panic), None),
    }
}

/// Checks `scim_v2` on one filter (it only parses); returns the parsed filter if any.
pub fn check_scim_v2(f: &WorkloadFilter) -> (ParseStatus, Option<scim_v2::filter::Filter>) {
    parse_status(guarded(|| scim_v2_parse(&f.filter)))
}

/// One workload filter, checked, with what each implementation made of it (for timing).
pub struct Prepared<'a> {
    /// The workload line.
    pub filter: &'a WorkloadFilter,
    /// What each implementation did with it.
    pub report: FilterReport,
    /// Ours, compiled (ours always parses and is always correct, or [`prepare`] panics).
    pub ours: scim_filter::CompiledFilter,
    /// `scim-filter` 0.2's parse, when it parsed and evaluating it did not panic.
    pub peer_scim_filter: Option<PeerFilter<'a>>,
    /// `scim_v2`'s parse, when it parsed.
    pub scim_v2: Option<scim_v2::filter::Filter>,
}

/// Checks every implementation on every workload filter against `expected.json`. Panics if
/// ours is wrong; records what the peers do (errors and panics included).
pub fn prepare(workload: &Workload) -> Vec<Prepared<'_>> {
    workload
        .filters
        .iter()
        .map(|f| {
            let ours = check_ours(&workload.users, f);
            let (peer_parse, peer_eval, peer) = check_peer_scim_filter(&workload.users, f);
            let (v2_parse, v2) = check_scim_v2(f);
            Prepared {
                filter: f,
                report: FilterReport {
                    id: f.id.clone(),
                    class: f.class.clone(),
                    expected: (f.count, f.idxsum),
                    ours: (
                        ParseStatus::Ok,
                        EvalStatus::answered((f.count, f.idxsum), 0, (f.count, f.idxsum)),
                    ),
                    peer_scim_filter: (peer_parse, peer_eval),
                    scim_v2: v2_parse,
                },
                ours,
                peer_scim_filter: peer,
                scim_v2: v2,
            }
        })
        .collect()
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
            r.id,
            r.class,
            r.ours.0,
            r.peer_scim_filter.0,
            r.scim_v2,
            r.ours.1,
            r.peer_scim_filter.1,
        ));
    }
    let parsed = |s: &ParseStatus| s.is_ok();
    let n = reports.len();
    out.push_str(&format!(
        "\nparsed: {OURS} {}/{n}, {PEER_SCIM_FILTER} {}/{n}, {SCIM_V2} {}/{n}; \
         correct: {OURS} {}/{n}, {PEER_SCIM_FILTER} {}/{n}\n",
        reports.iter().filter(|r| parsed(&r.ours.0)).count(),
        reports
            .iter()
            .filter(|r| parsed(&r.peer_scim_filter.0))
            .count(),
        reports.iter().filter(|r| parsed(&r.scim_v2)).count(),
        reports
            .iter()
            .filter(|r| r.ours.1.correct() == Some(true))
            .count(),
        reports
            .iter()
            .filter(|r| r.peer_scim_filter.1.correct() == Some(true))
            .count(),
    ));
    let details: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            let peer_parse = match &r.peer_scim_filter.0 {
                ParseStatus::Ok => None,
                ParseStatus::Error(e) | ParseStatus::Panicked(e) => Some((PEER_SCIM_FILTER, e)),
            };
            let peer_eval = match &r.peer_scim_filter.1 {
                EvalStatus::Panicked(e) => Some((PEER_SCIM_FILTER, e)),
                _ => None,
            };
            let v2_parse = match &r.scim_v2 {
                ParseStatus::Ok => None,
                ParseStatus::Error(e) | ParseStatus::Panicked(e) => Some((SCIM_V2, e)),
            };
            [peer_parse, peer_eval, v2_parse]
                .into_iter()
                .flatten()
                .map(|(name, e)| format!("- {} {name}: {}", r.id, shorten(e, 160)))
                .collect::<Vec<_>>()
        })
        .collect();
    if !details.is_empty() {
        out.push_str("\npeer parse errors and panics:\n");
        for line in details {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The first `max` characters of `s` on one line, with `…` if cut.
fn shorten(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}
