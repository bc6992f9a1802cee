//! `Filter::parse` on arbitrary text (RFC 7644 §3.4.2.2).
//!
//! Asserts, for every UTF-8 input:
//! - parsing never panics; an error points inside the input, maps to `invalidFilter`, and
//!   is `TooLong`/`TooDeep` exactly when the limits say so;
//! - `Filter::parse`, the fast path alone and the pest grammar alone accept the same inputs
//!   and build equal trees whenever the limits let the parsers run (and report the same
//!   error for a literal that lexes but is no JSON value);
//! - an accepted filter is no deeper than the limits allow, prints canonical text that
//!   parses back (with the fast path and with the pest grammar) to an equal tree, and
//!   parses the same with surrounding whitespace;
//! - smaller limits refuse exactly the inputs beyond them and change nothing else.

#![no_main]

mod common;

use common::{
    check_depth_limit, check_error, check_length_limits, depth_bound, is_limit_error, relaxed,
};
use libfuzzer_sys::fuzz_target;
use scim_filter::__private::{fast_parse_filter, reference_parse_filter};
use scim_filter::{Filter, InputKind, Limits, ParseErrorKind};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    check(input);
});

fn check(input: &str) {
    let limits = Limits::default();
    let parsed = Filter::parse(input);

    match &parsed {
        Ok(filter) => check_accepted(input, filter, &limits),
        Err(e) => check_error(e, input, InputKind::Filter, &limits),
    }

    // Differential, whenever the limits let the parsers run: the public parse (fast path,
    // then pest when the fast path refuses) and the fast path alone against pest alone.
    if !parsed.as_ref().is_err_and(is_limit_error) {
        let reference = reference_parse_filter(input);
        assert_eq!(
            parsed.as_ref().ok(),
            reference.as_ref().ok(),
            "Filter::parse and the pest grammar disagree on {input:?}"
        );
        let fast = fast_parse_filter(input);
        assert_eq!(
            fast.as_ref(),
            reference.as_ref().ok(),
            "the fast path alone and the pest grammar disagree on {input:?}"
        );
        // A literal that lexes but is no JSON value (`"\ud800"`, `1e999`) fails the same
        // way on both paths: the public parse falls back to the grammar's conversion.
        if let Err(r) = &reference {
            if !matches!(r.kind(), ParseErrorKind::Syntax) {
                assert_eq!(
                    parsed.as_ref().err(),
                    Some(r),
                    "Filter::parse and the pest grammar report different value errors for {input:?}"
                );
            }
        }
    }

    check_length_limits(input, InputKind::Filter, &parsed, Filter::parse_with);
    if let Some(shallow) = check_depth_limit(input, InputKind::Filter, &parsed, Filter::parse_with)
    {
        let bound = depth_bound(&Limits::default().max_depth(common::SMALL_DEPTH));
        assert!(
            shallow.depth() <= bound,
            "depth {} beyond {bound} under max_depth {}: {input:?}",
            shallow.depth(),
            common::SMALL_DEPTH
        );
    }
}

fn check_accepted(input: &str, filter: &Filter, limits: &Limits) {
    let bound = depth_bound(limits);
    assert!(
        filter.depth() <= bound,
        "depth {} beyond {bound} under max_depth {}: {input:?}",
        filter.depth(),
        limits.max_depth
    );

    let canonical = filter.to_string();
    let reparsed = Filter::parse_with(&canonical, &relaxed());
    assert_eq!(
        reparsed.as_ref().ok(),
        Some(filter),
        "round trip failed: {input:?} printed as {canonical:?}, which parses as {reparsed:?}"
    );
    let reference = reference_parse_filter(&canonical);
    assert_eq!(
        reference.as_ref().ok(),
        Some(filter),
        "pest grammar rejects or misreads canonical text {canonical:?} (from {input:?}): {reference:?}"
    );
    assert_eq!(
        fast_parse_filter(&canonical).as_ref(),
        Some(filter),
        "the fast path alone rejects or misreads canonical text {canonical:?} (from {input:?})"
    );

    // Leading and trailing whitespace is ignored (grammar: SOI ows filter ows EOI).
    let padded = format!(" \t\r\n{input}\n\t ");
    assert_eq!(
        Filter::parse_with(&padded, &relaxed()).as_ref().ok(),
        Some(filter),
        "surrounding whitespace changed the parse of {input:?}"
    );
}
