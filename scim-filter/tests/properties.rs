//! Property tests: canonical text round-trips, the fast parser agrees with the pest
//! grammar, and nothing panics on arbitrary input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use scim_filter::__private::{
    fast_parse_filter, fast_parse_patch_path, reference_parse_filter, reference_parse_patch_path,
};
use scim_filter::{AttrPath, CompValue, CompareOp, CompiledFilter, Filter, PatchPath, ValuePath};
use serde_json::Value;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        1 => Just("$ref".to_owned()),
        1 => prop::sample::select(vec!["urn", "not", "and", "or", "pr", "eq", "true", "null"]).prop_map(str::to_owned),
    ]
}

fn urn() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        "urn(:[a-zA-Z0-9._-]{1,6}){1,4}",
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (prop::option::of(urn()), name(), prop::option::of(name())).prop_map(|(urn, name, sub_attr)| {
        AttrPath {
            urn,
            name,
            sub_attr,
        }
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|i| CompValue::Number(i.into())),
        (-1e12f64..1e12).prop_map(|f| CompValue::Number(
            serde_json::Number::from_f64(f).unwrap_or_else(|| 0.into())
        )),
        any::<String>().prop_map(CompValue::String),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

/// Filters without valuePaths (what may appear inside brackets).
fn val_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        attr_path().prop_map(Filter::Present),
        (attr_path(), op(), comp_value()).prop_map(|(path, op, value)| Filter::Compare {
            path,
            op,
            value
        }),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner, 2..4).prop_map(Filter::Or),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        4 => val_filter(),
        1 => (attr_path(), val_filter()).prop_map(|(attr, f)| Filter::ValuePath(ValuePath {
            attr,
            filter: Box::new(f)
        })),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner, 2..4).prop_map(Filter::Or),
        ]
    })
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    (
        attr_path(),
        prop::option::of((val_filter(), prop::option::of(name()))),
    )
        .prop_map(|(attr, vf)| match vf {
            None => PatchPath::from(attr),
            Some((f, sub)) => PatchPath {
                attr,
                value_filter: Some(f),
                sub_attr: sub,
            },
        })
}

/// Token soup: strings near the grammar, where the parsers' edge cases are.
fn near_filter_text() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "userName",
        "emails",
        "name.givenName",
        "urn:ietf:params:scim:schemas:core:2.0:User:",
        "urn:a:",
        "urn:",
        "$ref",
        ".",
        ".value",
        " ",
        "  ",
        "\t",
        "(",
        ")",
        "[",
        "]",
        "not",
        "NOT",
        "and",
        "Or",
        "pr",
        "eq",
        "Ne",
        "co",
        "sw",
        "ew",
        "gt",
        "lt",
        "ge",
        "le",
        "lte",
        "\"x\"",
        "\"a\\\"b\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "\"\\q\"",
        "\"",
        "true",
        "False",
        "null",
        "nulls",
        "0",
        "-1.5e3",
        "01",
        "1.",
        "1e",
        "1e999",
        "-",
        "type",
        "value",
        ":",
        "x1-_",
    ]);
    prop::collection::vec(token, 1..14).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// AST → canonical text → AST gives the same tree, through both parsers.
    #[test]
    fn filter_round_trip(f in filter()) {
        let text = f.to_string();
        prop_assert_eq!(fast_parse_filter(&text), Some(f.clone()), "text: {}", text);
        prop_assert_eq!(reference_parse_filter(&text).ok(), Some(f), "text: {}", text);
    }

    /// PATCH paths round-trip too.
    #[test]
    fn patch_path_round_trip(p in patch_path()) {
        let text = p.to_string();
        prop_assert_eq!(fast_parse_patch_path(&text), Some(p.clone()), "text: {}", text);
        prop_assert_eq!(reference_parse_patch_path(&text).ok(), Some(p), "text: {}", text);
    }

    /// The fast parser accepts exactly what the pest grammar accepts, with the same tree.
    #[test]
    fn fast_parser_agrees_with_grammar(text in near_filter_text()) {
        prop_assert_eq!(fast_parse_filter(&text), reference_parse_filter(&text).ok(), "text: {:?}", text);
        prop_assert_eq!(fast_parse_patch_path(&text), reference_parse_patch_path(&text).ok(), "text: {:?}", text);
    }

    /// Arbitrary text never panics, and errors carry an offset inside the input.
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        if let Err(e) = Filter::parse(&text) {
            prop_assert!(e.offset() <= text.len());
            prop_assert_eq!(e.scim_type(), "invalidFilter");
        }
        if let Err(e) = PatchPath::parse(&text) {
            prop_assert!(e.offset() <= text.len());
            prop_assert_eq!(e.scim_type(), "invalidPath");
        }
        let _ = AttrPath::parse(&text);
    }

    /// Evaluating any filter against any JSON never panics.
    #[test]
    fn evaluation_never_panics(f in filter(), v in json()) {
        if let Ok(c) = CompiledFilter::compile_schemaless(&f) {
            let _ = c.matches(&v);
        }
    }
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9 @.:-]{0,12}".prop_map(Value::String),
        Just(Value::String("2020-01-01T00:00:00Z".into())),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "userName",
                    "emails",
                    "value",
                    "type",
                    "name",
                    "givenName",
                    "$ref",
                    "urn:a:b"
                ])
                .prop_map(str::to_owned),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
