//! `PatchPath::parse` (RFC 7644 §3.5.2) and `AttrPath::parse` (RFC 7644 §3.10) on
//! arbitrary text.
//!
//! Asserts, for every UTF-8 input:
//! - parsing never panics; errors point inside the input, map to `invalidPath`, and are
//!   `TooLong`/`TooDeep` exactly when the limits say so;
//! - PatchPath: `PatchPath::parse`, the fast path alone and the pest grammar alone accept the
//!   same inputs and build equal paths; an accepted path prints canonical
//!   text that parses back (fast path and pest) to an equal path; a sub-attribute only
//!   follows a value filter; the value filter is no deeper than the limits allow and reads
//!   the same as the filter `attr[valFilter]`;
//! - AttrPath: canonical text parses back to an equal path; an attribute path is exactly a
//!   PATCH path without value filter; `<path> pr` is a presence filter on that path;
//! - smaller limits refuse exactly the inputs beyond them and change nothing else.

#![no_main]

mod common;

use common::{
    check_depth_limit, check_error, check_length_limits, depth_bound, is_limit_error, relaxed,
};
use libfuzzer_sys::fuzz_target;
use scim_filter::__private::{fast_parse_patch_path, reference_parse_patch_path};
use scim_filter::{AttrPath, Filter, InputKind, Limits, ParseErrorKind, PatchPath, ValuePath};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    check_patch_path(input);
    check_attr_path(input);
});

fn check_patch_path(input: &str) {
    let limits = Limits::default();
    let parsed = PatchPath::parse(input);
    match &parsed {
        Ok(path) => check_accepted_patch_path(input, path, &limits),
        Err(e) => check_error(e, input, InputKind::PatchPath, &limits),
    }

    if !parsed.as_ref().is_err_and(is_limit_error) {
        let reference = reference_parse_patch_path(input);
        assert_eq!(
            parsed.as_ref().ok(),
            reference.as_ref().ok(),
            "PatchPath::parse and the pest grammar disagree on {input:?}"
        );
        let fast = fast_parse_patch_path(input);
        assert_eq!(
            fast.as_ref(),
            reference.as_ref().ok(),
            "the fast path alone and the pest grammar disagree on PATCH path {input:?}"
        );
        if let Err(r) = &reference {
            if !matches!(r.kind(), ParseErrorKind::Syntax) {
                assert_eq!(
                    parsed.as_ref().err(),
                    Some(r),
                    "PatchPath::parse and the pest grammar report different value errors for {input:?}"
                );
            }
        }
    }

    // An attribute path is a PATCH path without value filter, and nothing else is.
    let attr = AttrPath::parse(input);
    match (&parsed, &attr) {
        (Ok(p), Ok(a)) => assert_eq!(
            p,
            &PatchPath::from(a.clone()),
            "PatchPath and AttrPath read {input:?} differently"
        ),
        (Ok(p), Err(e)) => assert!(
            p.value_filter.is_some(),
            "PATCH path {input:?} without value filter is not an attribute path: {e:?}"
        ),
        (Err(e), Ok(a)) => panic!("attribute path {input:?} ({a:?}) is not a PATCH path: {e:?}"),
        (Err(_), Err(_)) => {}
    }

    check_length_limits(input, InputKind::PatchPath, &parsed, PatchPath::parse_with);
    if let Some(shallow) =
        check_depth_limit(input, InputKind::PatchPath, &parsed, PatchPath::parse_with)
    {
        if let Some(f) = &shallow.value_filter {
            let bound = depth_bound(&Limits::default().max_depth(common::SMALL_DEPTH));
            assert!(f.depth() <= bound, "value filter too deep: {input:?}");
        }
    }
}

fn check_accepted_patch_path(input: &str, path: &PatchPath, limits: &Limits) {
    assert!(
        path.sub_attr.is_none() || path.value_filter.is_some(),
        "sub-attribute without value filter: {input:?} → {path:?}"
    );
    check_attr_path_shape(input, &path.attr);
    if let Some(sub) = &path.sub_attr {
        assert!(
            is_name(sub),
            "bad sub-attribute name {sub:?} from {input:?}"
        );
    }

    let canonical = path.to_string();
    let reparsed = PatchPath::parse_with(&canonical, &relaxed());
    assert_eq!(
        reparsed.as_ref().ok(),
        Some(path),
        "PATCH path round trip failed: {input:?} printed as {canonical:?}, which parses as {reparsed:?}"
    );
    let reference = reference_parse_patch_path(&canonical);
    assert_eq!(
        reference.as_ref().ok(),
        Some(path),
        "pest grammar rejects or misreads canonical PATCH path {canonical:?} (from {input:?}): {reference:?}"
    );
    assert_eq!(
        fast_parse_patch_path(&canonical).as_ref(),
        Some(path),
        "the fast path alone rejects or misreads canonical PATCH path {canonical:?} (from {input:?})"
    );

    if let Some(filter) = &path.value_filter {
        let bound = depth_bound(limits);
        assert!(
            filter.depth() <= bound,
            "value filter depth {} beyond {bound}: {input:?}",
            filter.depth()
        );
        // `attr[valFilter]` means the same as a PATCH path and as a filter (valuePath).
        let as_filter = format!("{}[{filter}]", path.attr);
        let expected = Filter::ValuePath(ValuePath {
            attr: path.attr.clone(),
            filter: Box::new(filter.clone()),
        });
        let got = Filter::parse_with(&as_filter, &relaxed());
        assert_eq!(
            got.as_ref().ok(),
            Some(&expected),
            "value filter of PATCH path {input:?} does not read as filter {as_filter:?}: {got:?}"
        );
    }
}

fn check_attr_path(input: &str) {
    let limits = Limits::default();
    let parsed = AttrPath::parse(input);
    match &parsed {
        Ok(path) => {
            check_attr_path_shape(input, path);
            let canonical = path.to_string();
            let reparsed = AttrPath::parse_with(&canonical, &relaxed());
            assert_eq!(
                reparsed.as_ref().ok(),
                Some(path),
                "attribute path round trip failed: {input:?} printed as {canonical:?}, which parses as {reparsed:?}"
            );
            assert!(path.matches(path));
            // `<path> pr` is a presence test on exactly that path.
            let present = format!("{canonical} pr");
            assert_eq!(
                Filter::parse_with(&present, &relaxed()).ok(),
                Some(Filter::Present(path.clone())),
                "{present:?} is not a presence filter on {path:?}"
            );
        }
        Err(e) => check_error(e, input, InputKind::AttrPath, &limits),
    }
    check_length_limits(input, InputKind::AttrPath, &parsed, AttrPath::parse_with);
    // Attribute paths have no brackets, so no depth limit can refuse a valid one.
    if parsed.is_ok() {
        assert_eq!(
            AttrPath::parse_with(input, &Limits::default().max_depth(0)),
            parsed,
            "max_depth changed the result for attribute path {input:?}"
        );
    }
}

/// `ATTRNAME = ALPHA *(nameChar)` or `$ref` (RFC 7643 §2.1).
fn is_name(s: &str) -> bool {
    if s == "$ref" {
        return true;
    }
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_attr_path_shape(input: &str, path: &AttrPath) {
    assert!(
        is_name(&path.name),
        "bad attribute name {:?} from {input:?}",
        path.name
    );
    if let Some(sub) = &path.sub_attr {
        assert!(
            is_name(sub),
            "bad sub-attribute name {sub:?} from {input:?}"
        );
    }
    if let Some(urn) = &path.urn {
        assert!(
            urn.len() > 4
                && urn.as_bytes()[..4].eq_ignore_ascii_case(b"urn:")
                && !urn.ends_with(':'),
            "bad schema URN {urn:?} from {input:?}"
        );
    }
}
