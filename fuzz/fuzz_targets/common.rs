//! Checks shared by the fuzz targets (each target includes this file with `mod common;`).

#![allow(dead_code)]

use scim_filter::{InputKind, Limits, ParseError, ParseErrorKind};

/// A length limit small enough that most fuzz inputs cross it.
pub const SMALL_LENGTH: usize = 64;

/// A depth limit small enough that many fuzz inputs cross it.
pub const SMALL_DEPTH: usize = 2;

/// Limits for re-parsing canonical text: any length (canonical text may be longer than
/// its source, e.g. `1e15` prints as `1000000000000000.0`), the default depth (canonical
/// text never nests parentheses deeper than its source did).
pub fn relaxed() -> Limits {
    Limits::with_max_length(usize::MAX)
}

/// The deepest tree a parse within `limits` can build. Per level of parentheses or
/// brackets the tree gains at most three nodes (`or` chain → `and` chain → `not`/valuePath),
/// and the innermost level holds an `or` → `and` → leaf.
pub fn depth_bound(limits: &Limits) -> usize {
    3 * (limits.max_depth + 1)
}

/// Whether `e` was raised by the limits check rather than by the grammar.
pub fn is_limit_error(e: &ParseError) -> bool {
    matches!(
        e.kind(),
        ParseErrorKind::TooLong { .. } | ParseErrorKind::TooDeep { .. }
    )
}

/// Invariants of every parse error: where it points, what it maps to, and that the limit
/// kinds are raised exactly when the limits say so.
pub fn check_error(e: &ParseError, input: &str, kind: InputKind, limits: &Limits) {
    assert!(
        e.offset() <= input.len(),
        "error offset {} beyond input length {} for {input:?}: {e:?}",
        e.offset(),
        input.len()
    );
    assert_eq!(
        e.input_kind(),
        kind,
        "wrong input kind for {input:?}: {e:?}"
    );
    assert_eq!(e.status(), 400);
    let scim_type = match kind {
        InputKind::Filter => "invalidFilter",
        _ => "invalidPath",
    };
    assert_eq!(
        e.scim_type(),
        scim_type,
        "wrong scimType for {input:?}: {e:?}"
    );
    // Display must not panic (it slices and joins).
    let message = e.to_string();
    assert!(!message.is_empty());
    match e.kind() {
        ParseErrorKind::TooLong { length, max } => {
            assert_eq!(*length, input.len(), "{e:?}");
            assert_eq!(*max, limits.max_length, "{e:?}");
            assert!(
                input.len() > limits.max_length,
                "TooLong within the limit: {e:?}"
            );
        }
        ParseErrorKind::TooDeep { max } => {
            assert_eq!(*max, limits.max_depth, "{e:?}");
            assert!(
                input.len() <= limits.max_length,
                "an over-long input must be refused as TooLong first: {e:?}"
            );
        }
        _ => assert!(
            input.len() <= limits.max_length,
            "an input longer than max_length ({}) got past the limits check: {e:?}",
            limits.max_length
        ),
    }
}

/// `parse_with(input, Limits::with_max_length(n))` for `n` just below the input length, and
/// for [`SMALL_LENGTH`], must refuse exactly the inputs longer than `n` with `TooLong`, and
/// otherwise give the same answer as the default limits (`default`).
pub fn check_length_limits<T: PartialEq + std::fmt::Debug>(
    input: &str,
    kind: InputKind,
    default: &Result<T, ParseError>,
    parse_with: impl Fn(&str, &Limits) -> Result<T, ParseError>,
) {
    let mut lengths = vec![SMALL_LENGTH];
    if let Some(below) = input.len().checked_sub(1) {
        lengths.push(below);
    }
    for n in lengths {
        if n >= Limits::default().max_length {
            continue;
        }
        let limits = Limits::with_max_length(n);
        let got = parse_with(input, &limits);
        if input.len() > n {
            match &got {
                Err(e) => {
                    assert!(
                        matches!(e.kind(), ParseErrorKind::TooLong { .. }),
                        "{}-byte input with max_length {n} not refused as TooLong: {e:?}",
                        input.len()
                    );
                    check_error(e, input, kind, &limits);
                }
                Ok(v) => panic!(
                    "{}-byte input accepted with max_length {n}: {v:?}",
                    input.len()
                ),
            }
        } else {
            assert_eq!(
                &got,
                default,
                "max_length {n} changed the result for a {}-byte input",
                input.len()
            );
        }
    }
}

/// With a small depth limit the answer is either `TooDeep` or the default-limits answer.
pub fn check_depth_limit<T: PartialEq + std::fmt::Debug>(
    input: &str,
    kind: InputKind,
    default: &Result<T, ParseError>,
    parse_with: impl Fn(&str, &Limits) -> Result<T, ParseError>,
) -> Option<T> {
    let limits = Limits::default().max_depth(SMALL_DEPTH);
    let got = parse_with(input, &limits);
    match got {
        Err(e) if matches!(e.kind(), ParseErrorKind::TooDeep { .. }) => {
            check_error(&e, input, kind, &limits);
            if let Err(d) = default {
                assert!(
                    !matches!(d.kind(), ParseErrorKind::TooLong { .. }),
                    "TooDeep with a small depth limit but TooLong by default: {e:?} / {d:?}"
                );
            }
            None
        }
        other => {
            assert_eq!(
                &other, default,
                "max_depth {SMALL_DEPTH} changed the result although nesting is within it"
            );
            other.ok()
        }
    }
}
