//! Per-rule grammar tests (each rule of `grammar/scim.pest` accepted and refused), error
//! positions and messages, and the fast path's agreement with the grammar on each.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::__private::{fast_parse_filter, reference_parse_filter};
use crate::{AttrPath, CompValue, CompareOp, Filter, Limits, ParseErrorKind, PatchPath};

/// Parses with both parsers, checks they agree and the canonical text round-trips.
fn verified(text: &str) -> Filter {
    let fast = fast_parse_filter(text);
    let reference = reference_parse_filter(text);
    assert_eq!(
        fast.as_ref(),
        reference.as_ref().ok(),
        "parsers disagree on {text:?}"
    );
    let f = match reference {
        Ok(f) => f,
        Err(e) => panic!("{text:?} should parse: {e}"),
    };
    let printed = f.to_string();
    assert_eq!(
        Filter::parse(&printed).as_ref(),
        Ok(&f),
        "round trip of {printed:?}"
    );
    f
}

/// Both parsers refuse `text`.
fn refused(text: &str) -> crate::ParseError {
    assert_eq!(fast_parse_filter(text), None, "fast path accepted {text:?}");
    assert!(
        reference_parse_filter(text).is_err(),
        "grammar accepted {text:?}"
    );
    match Filter::parse(text) {
        Err(e) => e,
        Ok(f) => panic!("{text:?} parsed as {f}"),
    }
}

fn canonical(text: &str) -> String {
    verified(text).to_string()
}

fn path(text: &str) -> AttrPath {
    match AttrPath::parse(text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

#[test]
fn attr_exp_all_operators_any_case() {
    for op in CompareOp::ALL {
        let upper = op.as_str().to_ascii_uppercase();
        let f = verified(&format!("title {upper} \"x\""));
        assert_eq!(
            f,
            Filter::compare(AttrPath::new("title"), op, CompValue::String("x".into()))
        );
    }
    assert_eq!(
        verified("title PR"),
        Filter::present(AttrPath::new("title"))
    );
    refused("title prx");
    refused("title eqs \"x\"");
    refused("title lte \"x\"");
    refused("title eq\"x\"");
}

#[test]
fn comp_values() {
    assert_eq!(canonical("a eq TRUE"), "a eq true");
    assert_eq!(canonical("a eq False"), "a eq false");
    assert_eq!(canonical("a eq NULL"), "a eq null");
    assert_eq!(canonical("a eq -12"), "a eq -12");
    assert_eq!(canonical("a eq 1.50"), "a eq 1.5");
    assert_eq!(canonical("a eq 2E3"), "a eq 2000.0");
    assert_eq!(canonical("a eq 0"), "a eq 0");
    assert_eq!(
        canonical("a eq 18446744073709551615"),
        "a eq 18446744073709551615"
    );
    for bad in [
        "a eq 01",
        "a eq 1.",
        "a eq .5",
        "a eq +1",
        "a eq 1e",
        "a eq 1x",
        "a eq truex",
        "a eq 'x'",
    ] {
        refused(bad);
    }
    // Every JSON escape.
    let f = verified(r#"a eq "q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00""#);
    let Filter::Compare { value, .. } = &f else {
        panic!()
    };
    assert_eq!(value.as_str(), Some("q\" b\\ s/ \u{8}\u{c}\n\r\t é 😀"));
    for bad in [
        r#"a eq "\a""#,
        r#"a eq "\u12""#,
        "a eq \"\u{1}\"",
        r#"a eq "open"#,
    ] {
        refused(bad);
    }
    let e = refused(r#"a eq "\udc00""#);
    assert_eq!(e.kind(), &ParseErrorKind::InvalidString);
    let e = refused("a eq 1e400");
    assert_eq!(e.kind(), &ParseErrorKind::InvalidNumber);
    assert_eq!(e.found(), "1e400");
    // A syntax error elsewhere is reported first, as the grammar does.
    let e = refused("a eq 1e400,");
    assert_eq!(e.kind(), &ParseErrorKind::Syntax);
    assert_eq!(e.offset(), 10);
}

#[test]
fn attr_paths_and_urns() {
    let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber");
    assert_eq!(
        p.urn.as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    assert_eq!(p.name, "employeeNumber");
    assert_eq!(p.sub_attr, None);
    let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
    assert_eq!(p.name, "manager");
    assert_eq!(p.sub_attr.as_deref(), Some("value"));
    let p = path("URN:x:y:attr");
    assert_eq!(p.urn.as_deref(), Some("URN:x:y"));
    assert_eq!(path("members.$ref").sub_attr.as_deref(), Some("$ref"));
    assert_eq!(path("urnish").name, "urnish");
    assert_eq!(path("a-b_c9").name, "a-b_c9");
    for bad in [
        "", "1abc", "-a", "a.", ".a", "a.b.c", "urn:attr", "urn:x:", "a$b", "$refs", "a b",
    ] {
        assert!(AttrPath::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn logic_precedence_and_grouping() {
    let f = verified("a pr or b pr and c pr");
    assert!(matches!(&f, Filter::Or(ops) if matches!(&ops[1], Filter::And(_))));
    assert_eq!(f.to_string(), "a pr or b pr and c pr");
    let f = verified("(a pr or b pr) and c pr");
    assert!(matches!(&f, Filter::And(ops) if matches!(&ops[0], Filter::Or(_))));
    assert_eq!(f.to_string(), "(a pr or b pr) and c pr");
    // Same-operator groups are kept as nesting and printed with parentheses.
    assert_eq!(
        canonical("a pr or (b pr or c pr)"),
        "a pr or (b pr or c pr)"
    );
    assert_eq!(canonical("((a pr))"), "a pr");
    assert_eq!(canonical("a pr AND b pr Or c pr"), "a pr and b pr or c pr");
    assert_eq!(canonical("a pr and(b pr)"), "a pr and b pr");
    refused("a pr andb pr");
    refused("a pr and");
    refused("a pr or or b pr");
}

#[test]
fn not_with_and_without_space() {
    assert_eq!(canonical("not(a pr)"), "not (a pr)");
    assert_eq!(canonical("NOT  (a pr)"), "not (a pr)");
    assert_eq!(canonical("not (not (a pr))"), "not (not (a pr))");
    refused("not a pr");
    // An attribute may be called "not".
    assert_eq!(verified("not pr"), Filter::present(AttrPath::new("not")));
}

#[test]
fn value_paths() {
    let f = verified(r#"emails[type eq "work" and value co "@example.com"]"#);
    let Filter::ValuePath(vp) = &f else {
        panic!("{f:?}")
    };
    assert_eq!(vp.attr, AttrPath::new("emails"));
    assert!(matches!(&*vp.filter, Filter::And(ops) if ops.len() == 2));
    assert_eq!(
        canonical("emails[ not (type pr) ]"),
        "emails[not (type pr)]"
    );
    assert_eq!(canonical("x[(a pr or b pr)]"), "x[a pr or b pr]");
    assert_eq!(
        canonical(r#"emails[type eq "work"] or userName sw "a""#),
        r#"emails[type eq "work"] or userName sw "a""#
    );
    refused("emails[]");
    refused("emails[a[b pr]]");
    refused("emails [type pr]");
    refused(r#"emails[type eq "work"].value eq "x""#);
    refused("emails[type pr] pr");
}

#[test]
fn whitespace() {
    assert_eq!(
        canonical(" \t title  pr\n and\r\nuserType  eq  \"Employee\" "),
        r#"title pr and userType eq "Employee""#
    );
    assert_eq!(canonical("( a pr )"), "a pr");
}

#[test]
fn patch_paths() {
    let p = PatchPath::parse(r#"members[value eq "2819c223"].display"#)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.attr.name, "members");
    assert_eq!(p.sub_attr.as_deref(), Some("display"));
    assert_eq!(p.to_string(), r#"members[value eq "2819c223"].display"#);
    let p = PatchPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.attr.as_schema_urn().as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    for bad in [
        "",
        "a[",
        "a[b pr].",
        "a[b pr]c",
        "a[b pr].c.d",
        "a[b pr][c pr]",
        "a.b[c pr].d.e",
    ] {
        let e = PatchPath::parse(bad)
            .err()
            .unwrap_or_else(|| panic!("{bad:?} parsed"));
        assert_eq!(e.scim_type(), "invalidPath");
    }
}

#[test]
fn error_positions_and_messages() {
    let cases = [
        (
            "",
            0,
            r#"expected "(" or attribute name, found end of input"#,
        ),
        (
            "userName eq",
            11,
            "expected space and a comparison value, found end of input",
        ),
        (
            "userName bad \"john\"",
            9,
            r#"expected "pr" or comparison operator, found `bad`"#,
        ),
        (
            "userName eq \"john\")",
            18,
            "expected end of input, found `)`",
        ),
        (
            "(userName eq \"john\"",
            19,
            r#"expected ")", found end of input"#,
        ),
        (
            "userName eq bjensen",
            12,
            "expected comparison value, found `bjensen`",
        ),
        (
            "a pr and",
            8,
            r#"expected space and a filter after "and", found end of input"#,
        ),
        ("emails[type pr", 14, r#"expected "]", found end of input"#),
        (
            "a eq \"x\" b pr",
            9,
            r#"expected "and", "or" or end of input, found `b`"#,
        ),
    ];
    for (text, offset, message) in cases {
        let e = refused(text);
        assert_eq!(e.offset(), offset, "{text:?}: {e}");
        assert_eq!(
            e.to_string(),
            format!("invalid filter at byte {offset}: {message}"),
            "{text:?}"
        );
        assert_eq!(e.scim_type(), "invalidFilter");
    }
}

#[test]
fn limits_refuse_quickly() {
    let long = format!("userName eq \"{}\"", "x".repeat(1 << 20));
    let e = Filter::parse(&long).err().map(|e| e.kind().clone());
    assert!(
        matches!(e, Some(ParseErrorKind::TooLong { max: 16384, .. })),
        "{e:?}"
    );
    let deep = format!("{}a pr{}", "(".repeat(100_000), ")".repeat(100_000));
    let limits = Limits::with_max_length(usize::MAX);
    let e = Filter::parse_with(&deep, &limits)
        .err()
        .map(|e| e.kind().clone());
    assert_eq!(e, Some(ParseErrorKind::TooDeep { max: 32 }));
    let deep_not = format!("{}a pr{}", "not (".repeat(100_000), ")".repeat(100_000));
    assert!(Filter::parse_with(&deep_not, &limits).is_err());
    let brackets = format!("a[{}b pr{}]", "(".repeat(40), ")".repeat(40));
    assert!(Filter::parse(&brackets).is_err());
    // At the limit it still parses.
    let ok = format!("{}a pr{}", "(".repeat(32), ")".repeat(32));
    assert!(Filter::parse(&ok).is_ok());
    // A long flat chain is not nesting.
    let chain = vec!["a pr"; 2000].join(" or ");
    let f = Filter::parse_with(&chain, &limits).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.depth(), 2);
}
