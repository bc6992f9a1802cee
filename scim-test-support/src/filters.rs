//! Generators shared by the SQL stores' property tests (feature `filters`): random
//! resources and random filters over them, whose SQL answers must equal the in-memory
//! evaluator's. Users cover the indexed attributes (`userName`, `externalId`,
//! `displayName`, `emails.value`, `id`), numbers around the edges of exact `f64`, `i64`
//! and `u64`, dateTimes, NUL and control characters, and case folding beyond ASCII;
//! groups cover out-of-line `members` (regular, irregular and inline shapes).

//!
//! The properties themselves ([`users_agree`], [`groups_agree`], [`substrings_agree`]) run
//! on any [`Store`]: each store's tests draw the inputs and call them (with a tenant of the
//! case's own where the store outlives a case).

#![allow(clippy::expect_used)]

use proptest::prelude::*;
use scim_core::test_kit::check_query;
use scim_core::{block_on, Store};
use scim_filter::{AttrPath, CompValue, CompareOp, CompiledFilter, Filter, ValuePath};
use serde_json::{json, Map, Value};

/// How many filters a property checked, and how many of them the store answered exactly
/// (`filtered`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    /// Filters the engine accepts, checked against the evaluator.
    pub checked: usize,
    /// Of those, the ones the store answered exactly.
    pub filtered: usize,
}

impl std::ops::AddAssign for Checked {
    fn add_assign(&mut self, other: Checked) {
        self.checked += other.checked;
        self.filtered += other.filtered;
    }
}

/// Stores `resources` as users of `tenant` (each `id` then changed as drawn), then checks
/// that every filter the engine accepts gets the evaluator's answer (exactly when the store
/// says `filtered`, a superset otherwise).
///
/// # Panics
/// When a write fails or an answer differs.
pub fn users_agree(
    s: &impl Store,
    tenant: &str,
    resources: Vec<(Value, Option<Option<Value>>)>,
    filters: Vec<Filter>,
) -> Checked {
    let mut stored = Vec::new();
    for (r, id_change) in resources {
        let mut created = block_on(s.create(tenant, "User", r, vec![])).expect("create");
        if let Some(new_id) = id_change {
            let mut doc = created.resource.clone();
            if let Value::Object(m) = &mut doc {
                match new_id {
                    Some(v) => m.insert("id".into(), v),
                    None => m.remove("id"),
                };
            }
            created =
                block_on(s.replace(tenant, "User", &created.id, 1, doc, vec![])).expect("replace");
        }
        stored.push(created);
    }
    check_all(s, tenant, "User", filters, &stored)
}

/// Stores `groups` in `tenant` (checking each reads back whole), then checks the filters
/// as [`users_agree`] does.
///
/// # Panics
/// When a write fails or an answer differs.
pub fn groups_agree(
    s: &impl Store,
    tenant: &str,
    groups: Vec<Value>,
    filters: Vec<Filter>,
) -> Checked {
    let mut stored = Vec::new();
    for g in groups {
        let created = block_on(s.create(tenant, "Group", g, vec![])).expect("create");
        // Stored out of line, read back whole.
        let got = block_on(s.get(tenant, "Group", &created.id)).expect("get");
        assert_eq!(got.as_ref(), Some(&created));
        stored.push(created);
    }
    check_all(s, tenant, "Group", filters, &stored)
}

/// Stores `users` in `tenant` and changes each as drawn (the index rows follow each write),
/// then checks the filters as [`users_agree`] does.
///
/// # Panics
/// When a write fails or an answer differs.
pub fn substrings_agree(
    s: &impl Store,
    tenant: &str,
    users: Vec<(Value, Change)>,
    filters: Vec<Filter>,
) -> Checked {
    let mut stored = Vec::new();
    for (u, change) in users {
        let created = block_on(s.create(tenant, "User", u, vec![])).expect("create");
        match change {
            Change::Keep => stored.push(created),
            Change::Replace(doc) => stored.push(
                block_on(s.replace(tenant, "User", &created.id, 1, doc, vec![])).expect("replace"),
            ),
            Change::Delete => {
                block_on(s.delete(tenant, "User", &created.id, Some(1))).expect("delete");
            }
        }
    }
    check_all(s, tenant, "User", filters, &stored)
}

fn check_all(
    s: &impl Store,
    tenant: &str,
    rt: &str,
    filters: Vec<Filter>,
    stored: &[scim_core::StoredResource],
) -> Checked {
    let registry = scim_schema::Registry::standard();
    let rt_ref = registry.resource_type(rt).expect("resource type");
    let mut n = Checked::default();
    for f in filters {
        // Filters the engine would refuse (e.g. `active gt true`) never reach a store.
        if CompiledFilter::compile(&f, &rt_ref).is_err() {
            continue;
        }
        n.checked += 1;
        n.filtered += usize::from(check_query(s, tenant, rt, &f.to_string(), stored));
    }
    n
}

/// The enterprise extension's URN.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A generator of the properties (see the module docs).
pub fn string() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "A",
        "ab",
        "aB",
        "b",
        "ba",
        "é",
        "É",
        "",
        "x%",
        "_y",
        "ß",
        // Substrings of three characters and more (the trigram index), with wildcards.
        "abc",
        "xAbCy",
        "x%_*?[\"'",
        "*?[",
        "ΑΣ ΣΑ",
        "Σ Σ",
        // dateTimes (one instant spelled two ways, a later one, an impossible date): the
        // evaluator compares these as instants, text otherwise; RFC 3339's lowercase and
        // space spellings are no xsd:dateTime (RFC 7643 §2.3.5), so they are text.
        "2024-01-15T12:00:00Z",
        "2024-01-15T06:00:00-06:00",
        "2024-01-15t12:00:00.000z",
        "2024-01-15 12:00:00Z",
        "2024-01-15T12:00:00.5Z",
        "2024-02-30T00:00:00Z",
        // NUL and other control characters (SQLite's C-string functions stop at NUL).
        "\u{0}",
        "a\u{0}",
        "\u{0}a",
        "a\u{0}b",
        "\u{1}\u{1f}",
        "\n",
        "a\tb",
        "\u{7f}",
        // Non-ASCII: case folding that changes lengths, final sigma, 4-byte UTF-8.
        "İ",
        "i\u{307}",
        "ΑΣ",
        "ας",
        "日本",
        "😀a",
        "\u{10ffff}",
    ])
    .prop_map(str::to_owned)
}

/// Integers and decimals around the edges of exact `f64` (2^53), `i64` and `u64`, with
/// many digits, negative, and in exponent form.
pub fn number() -> impl Strategy<Value = serde_json::Number> {
    const EXACT: i64 = 1 << 53;
    prop_oneof![
        4 => (-2i64..3).prop_map(serde_json::Number::from),
        2 => prop::sample::select(vec![0.5f64, 1.0, 2.5, -0.5])
            .prop_map(|f| serde_json::Number::from_f64(f).unwrap_or(0.into())),
        2 => prop::sample::select(vec![
            EXACT - 1, EXACT, EXACT + 1, EXACT + 2, -EXACT, -EXACT - 1,
            i64::MAX, i64::MAX - 1, i64::MIN, i64::MIN + 1, 1 << 62,
        ])
        .prop_map(serde_json::Number::from),
        1 => prop::sample::select(vec![u64::MAX, 1 << 63, (1 << 63) + 1])
            .prop_map(serde_json::Number::from),
        2 => prop::sample::select(vec![
            "9007199254740993.0",
            "9007199254740992.5",
            "-9007199254740993.0",
            "0.1000000000000000055511151231257827",
            "0.30000000000000004",
            "1.00000000000000000001",
            "123456789012345678901234567890",
            "-123456789012345678901234567890",
            "1e300",
            "-1.5E-300",
            "2.5e0",
            "1E2",
            "9.223372036854775807e18",
            "1.8446744073709551616e19",
            "-0.0",
        ])
        .prop_map(|t| serde_json::from_str(t).unwrap_or(serde_json::Number::from(0))),
    ]
}

/// A generator of the properties (see the module docs).
pub fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => string().prop_map(Value::String),
        2 => number().prop_map(Value::Number),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

/// A value for an attribute: usually a scalar, sometimes an array (a shape the schema may
/// refuse, which the evaluator still handles).
pub fn attr_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => scalar(),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
    ]
}

/// A generator of the properties (see the module docs).
pub fn email() -> impl Strategy<Value = Value> {
    (
        prop::option::of(string()),
        prop::option::of(prop::sample::select(vec!["work", "home", "WORK"])),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(value, ty, primary)| {
            let mut m = Map::new();
            if let Some(v) = value {
                m.insert("value".into(), json!(v));
            }
            if let Some(t) = ty {
                m.insert("type".into(), json!(t));
            }
            if let Some(p) = primary {
                m.insert("primary".into(), json!(p));
            }
            Value::Object(m)
        })
}

/// A generator of the properties (see the module docs).
pub fn resource() -> impl Strategy<Value = Value> {
    (
        (
            prop::option::of(attr_value()),
            prop::option::of(attr_value()),
            prop::option::of(attr_value()),
            prop::option::of(attr_value()),
        ),
        prop::option::of(prop_oneof![any::<bool>().prop_map(Value::Bool), scalar()]),
        prop::option::of(prop_oneof![number().prop_map(Value::Number), scalar()]),
        prop::option::of(attr_value()),
        prop::option::of(prop::collection::vec(email(), 0..3)),
        (
            prop::option::of(attr_value()),
            prop::option::of(attr_value()),
        ),
        any::<bool>(),
    )
        .prop_map(
            |(
                (user, title, external, display),
                active,
                count,
                given,
                emails,
                (emp, modified),
                upper,
            )| {
                let mut m = Map::new();
                let name = |s: &str| {
                    if upper {
                        s.to_uppercase()
                    } else {
                        s.to_owned()
                    }
                };
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(name(k), v);
                    }
                };
                put("userName", user);
                put("title", title);
                put("externalId", external);
                put("displayName", display);
                put("active", active);
                put("loginCount", count);
                put("name", given.map(|g| json!({"givenName": g})));
                put("emails", emails.map(Value::Array));
                put(ENTERPRISE, emp.map(|e| json!({"employeeNumber": e})));
                put("meta", modified.map(|t| json!({"lastModified": t})));
                Value::Object(m)
            },
        )
}

/// A generator of the properties (see the module docs).
pub fn path() -> impl Strategy<Value = AttrPath> {
    prop::sample::select(vec![
        AttrPath::new("userName"),
        AttrPath::new("USERNAME"),
        AttrPath::new("title"),
        AttrPath::new("active"),
        AttrPath::new("loginCount"),
        AttrPath::new("name").with_sub_attr("givenName"),
        AttrPath::new("emails").with_sub_attr("value"),
        AttrPath::new("emails").with_sub_attr("type"),
        AttrPath::new("emails").with_sub_attr("primary"),
        AttrPath::new("employeeNumber").with_urn(ENTERPRISE),
        AttrPath::new("userName").with_urn("urn:ietf:params:scim:schemas:core:2.0:User"),
        AttrPath::new("externalId"),
        AttrPath::new("displayName"),
        AttrPath::new("id"),
        AttrPath::new("EMAILS").with_sub_attr("Value"),
        AttrPath::new("meta").with_sub_attr("lastModified"),
        // Complex attributes without a sub-attribute (multi-valued and single).
        AttrPath::new("emails"),
        AttrPath::new("name"),
        AttrPath::new("employeeNumber")
            .with_urn("urn:ietf:params:scim:schemas:extension:Enterprise:2.0:User"),
        // A schema the resource type does not have: the path names nothing.
        AttrPath::new("userName").with_urn("urn:ietf:params:scim:schemas:core:2.0:Group"),
        AttrPath::new("emails").with_urn("urn:ietf:params:scim:schemas:core:2.0:Group"),
    ])
}

/// A generator of the properties (see the module docs).
pub fn inner_path() -> impl Strategy<Value = AttrPath> {
    prop::sample::select(vec![
        AttrPath::new("value"),
        AttrPath::new("type"),
        AttrPath::new("primary"),
    ])
}

/// A generator of the properties (see the module docs).
pub fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

/// An operator and a literal the engine accepts together (it refuses `co 3`, `gt null`,
/// `sw true`, and ordering or substring operators on boolean attributes).
pub fn op_value(boolean_attr: bool) -> BoxedStrategy<(CompareOp, CompValue)> {
    let eq_ne = || prop::sample::select(vec![CompareOp::Eq, CompareOp::Ne]);
    let ordering = || {
        prop::sample::select(vec![
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ])
    };
    let simple = prop_oneof![
        2 => (eq_ne(), any::<bool>().prop_map(CompValue::Bool)),
        1 => (eq_ne(), Just(CompValue::Null)),
    ];
    if boolean_attr {
        prop_oneof![
            3 => simple,
            1 => (eq_ne(), string().prop_map(CompValue::String)),
            1 => (eq_ne(), number().prop_map(CompValue::Number)),
        ]
        .boxed()
    } else {
        prop_oneof![
            6 => (op(), string().prop_map(CompValue::String)),
            2 => (ordering(), number().prop_map(CompValue::Number)),
            1 => simple,
        ]
        .boxed()
    }
}

/// A generator of the properties (see the module docs).
pub fn is_boolean(p: &AttrPath) -> bool {
    matches!(
        p.sub_attr.as_deref().unwrap_or(&p.name),
        "active" | "primary"
    )
}

/// A generator of the properties (see the module docs).
pub fn leaf(paths: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        1 => paths.clone().prop_map(Filter::Present),
        5 => paths.prop_flat_map(|p| {
            op_value(is_boolean(&p)).prop_map(move |(o, v)| Filter::compare(p.clone(), o, v))
        }),
    ]
}

/// A generator of the properties (see the module docs).
pub fn combine(leaf: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    leaf.prop_recursive(5, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// `p eq "…" or p eq "…" or …` with four literals or more: the evaluator's compiler makes
/// an OR-chain like this one set (`Condition::TextIn`), which SQL must answer alike.
pub fn eq_chain(paths: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    (paths, prop::collection::vec(string(), 4..7)).prop_map(|(p, lits)| {
        Filter::Or(
            lits.into_iter()
                .map(|l| Filter::compare(p.clone(), CompareOp::Eq, CompValue::String(l)))
                .collect(),
        )
    })
}

/// A generator of the properties (see the module docs).
pub fn filter_over(
    paths: BoxedStrategy<AttrPath>,
    multi: &'static str,
    inner: BoxedStrategy<AttrPath>,
) -> impl Strategy<Value = Filter> {
    let inner_leaf = prop_oneof![4 => leaf(inner.clone()), 1 => eq_chain(inner)].boxed();
    let value_path = combine(inner_leaf).prop_map(move |f| {
        Filter::ValuePath(ValuePath {
            attr: AttrPath::new(multi),
            filter: Box::new(f),
        })
    });
    let top = prop_oneof![4 => leaf(paths.clone()), 1 => value_path, 1 => eq_chain(paths)].boxed();
    combine(top)
}

/// A generator of the properties (see the module docs).
pub fn filter() -> impl Strategy<Value = Filter> {
    filter_over(path().boxed(), "emails", inner_path().boxed())
}

/// A member: usually an object with a string `value`; sometimes an odd shape (a scalar, an
/// array `value`, no `value`) that makes the group irregular.
pub fn member() -> impl Strategy<Value = Value> {
    let regular = (
        string(),
        prop::option::of(string()),
        prop::option::of(prop::sample::select(vec!["User", "Group", "user"])),
    )
        .prop_map(|(value, display, ty)| {
            let mut m = Map::new();
            m.insert("value".into(), json!(value));
            if let Some(d) = display {
                m.insert("display".into(), json!(d));
            }
            if let Some(t) = ty {
                m.insert("type".into(), json!(t));
            }
            Value::Object(m)
        });
    prop_oneof![
        12 => regular,
        1 => scalar(),
        1 => prop::collection::vec(string(), 0..3).prop_map(|v| json!({"value": v})),
        1 => prop::option::of(string()).prop_map(|d| json!({"display": d})),
    ]
}

/// A generator of the properties (see the module docs).
pub fn group() -> impl Strategy<Value = Value> {
    (
        prop::option::of(attr_value()),
        prop::option::of(attr_value()),
        prop_oneof![
            8 => prop::collection::vec(member(), 0..4).prop_map(Some),
            1 => Just(None),
            1 => member().prop_map(Some).prop_map(|m| m.map(|m| vec![m])),
        ],
        0u8..8,
    )
        .prop_map(|(display, external, members, shape)| {
            let mut m = Map::new();
            if let Some(d) = display {
                m.insert("displayName".into(), d);
            }
            if let Some(e) = external {
                m.insert("externalId".into(), e);
            }
            if let Some(members) = members {
                let key = if shape == 0 { "MEMBERS" } else { "members" };
                // Rarely not an array at all: kept in the document.
                let value = match (shape, members.first()) {
                    (1, Some(first)) => first.clone(),
                    _ => Value::Array(members),
                };
                m.insert(key.into(), value);
            }
            Value::Object(m)
        })
}

/// A generator of the properties (see the module docs).
pub fn group_filter() -> impl Strategy<Value = Filter> {
    let paths = prop::sample::select(vec![
        AttrPath::new("displayName"),
        AttrPath::new("externalId"),
        AttrPath::new("id"),
        AttrPath::new("members"),
        AttrPath::new("Members"),
        AttrPath::new("members").with_sub_attr("value"),
        AttrPath::new("MEMBERS").with_sub_attr("VALUE"),
        AttrPath::new("members").with_sub_attr("display"),
        AttrPath::new("members").with_sub_attr("type"),
        AttrPath::new("members")
            .with_sub_attr("value")
            .with_urn("urn:ietf:params:scim:schemas:core:2.0:Group"),
        AttrPath::new("members").with_urn("urn:ietf:params:scim:schemas:core:2.0:User"),
        AttrPath::new("displayName").with_urn("urn:ietf:params:scim:schemas:core:2.0:User"),
    ]);
    let inner = prop::sample::select(vec![
        AttrPath::new("value"),
        AttrPath::new("display"),
        AttrPath::new("type"),
    ]);
    filter_over(paths.boxed(), "members", inner.boxed())
}

/// What happens to a stored user's `id` after creation: kept (the engine's case), changed
/// or removed by a replace (the side table then answers `id eq`).
pub fn id_change() -> impl Strategy<Value = Option<Option<Value>>> {
    prop_oneof![
        6 => Just(None),
        1 => string().prop_map(|s| Some(Some(json!(s)))),
        1 => Just(Some(None)),
        1 => Just(Some(Some(json!(["a", "b"])))),
    ]
}

/// Values and literals for substring filters on the indexed attributes: long and short,
/// non-ASCII (folding that changes lengths, final sigma, 4-byte characters, U+FFFE which
/// SQLite's tokenizer reads as U+FFFD), SQL and GLOB wildcards, quotes and NUL.
pub fn text() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "a",
        "ab",
        "abc",
        "ABC",
        "bcd",
        "xabcy",
        "Barbara Jensen",
        "ARA JEN",
        "bjensen@Example.com",
        "@example.",
        "n@ex",
        "ÉMILE ZOLA",
        "émile",
        "le z",
        "x%_*?[\"'y",
        "%_*",
        "%",
        "_",
        "*?[",
        "[\"'",
        "\"",
        "'",
        "a\u{0}bcd",
        "\u{0}bc",
        "\u{0}",
        "STRASSE",
        "Straße",
        "raß",
        "ΑΣ ΣΑ",
        "Σ Σ",
        "σ σ",
        "ς σ",
        "İstanbul",
        "i\u{307}st",
        "日本語テキスト",
        "本語テ",
        "😀😀abc",
        "😀ab",
        "\u{fffe}ab",
        "\u{fffd}ab",
        "\u{10ffff}\u{10ffff}\u{10ffff}",
    ])
    .prop_map(str::to_owned)
}

/// A generator of the properties (see the module docs).
pub fn text_user() -> impl Strategy<Value = Value> {
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(prop::collection::vec(text(), 0..3)),
    )
        .prop_map(|(user, display, external, emails)| {
            let mut m = Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            };
            put("userName", user.map(Value::String));
            put("displayName", display.map(Value::String));
            put("externalId", external.map(Value::String));
            put(
                "emails",
                emails.map(|e| e.into_iter().map(|v| json!({"value": v})).collect()),
            );
            Value::Object(m)
        })
}

/// A generator of the properties (see the module docs).
pub fn substring_filter() -> impl Strategy<Value = Filter> {
    let paths = prop::sample::select(vec![
        AttrPath::new("userName"),
        AttrPath::new("displayName"),
        AttrPath::new("DISPLAYNAME"),
        AttrPath::new("externalId"),
        AttrPath::new("emails").with_sub_attr("value"),
        // Compared through its `value` (RFC 7644 §3.4.2.2), so through the same index.
        AttrPath::new("emails"),
    ]);
    let ops = prop::sample::select(vec![
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Co,
        CompareOp::Ew,
        CompareOp::Sw,
        CompareOp::Eq,
    ]);
    let leaf = (paths, ops, text())
        .prop_map(|(p, o, v)| Filter::compare(p, o, CompValue::String(v)))
        .boxed();
    combine(leaf)
}

/// What happens to a stored user after creation: kept, replaced by another, or deleted (the
/// trigram rows follow each write).
#[derive(Debug, Clone)]
pub enum Change {
    /// Kept as created.
    Keep,
    /// Replaced by this document.
    Replace(Value),
    /// Deleted.
    Delete,
}

/// A generator of the properties (see the module docs).
pub fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => Just(Change::Keep),
        2 => text_user().prop_map(Change::Replace),
        1 => Just(Change::Delete),
    ]
}

/// Filters SQL cannot (or could not) translate, beside parts it can: abandoned branches
/// must leave no parameter behind.
pub const UNTRANSLATABLE: &[&str] = &[
    "userName pr or title eq 9007199254740993",
    r#"userName eq "a" or userName eq "\u0000""#,
    r#"userName eq "a" or title eq "x\u0000y""#,
    r#"not (userName pr and title eq 9007199254740993)"#,
    r#"(userName pr or title eq 9007199254740993) and title pr"#,
    r#"title pr and (userName eq "a" or title co "\u0000")"#,
    r#"emails[value pr or type eq 9007199254740993] or userName eq "b""#,
    r#"externalId eq "A" or title eq 9223372036854775808"#,
    "title eq 9223372036854775807 or title eq -9223372036854775809",
    "title gt 1e300 or title lt -1.0000000000000000000001 or userName pr",
    r#"userName ew "b" or userName ew "\u0001\u001f""#,
    r#"title ne "\u0000" and userName ne "\n""#,
    r#"userName ew "b" or title ew "y""#,
    r#"userName co "b" or title sw "x\u0000""#,
    r#"userName gt "a" and title lt "x\u0001""#,
];

/// Users with odd values for [`UNTRANSLATABLE`]: numbers beyond 2^53 and `i64`, NUL and
/// control characters.
pub fn odd_users() -> Vec<Value> {
    vec![
        json!({"userName": "a", "title": 9007199254740993u64}),
        json!({"userName": "b", "title": "x\u{0}y", "externalId": "A"}),
        json!({"userName": "c\u{1}\u{1f}", "title": 9223372036854775807i64,
               "emails": [{"value": "e@x", "type": 9007199254740993u64}]}),
        json!({"userName": "\n", "title": 1.5e300}),
        json!({"userName": "\u{0}", "title": "\u{0}"}),
        json!({"title": -9007199254740993i64}),
        json!({"userName": "a\u{0}b", "title": "\u{0}y"}),
    ]
}

/// Filters as wide and as deep as the parser lets through ([`scim_filter::Limits::DEFAULT`]).
pub fn wide_and_deep() -> Vec<String> {
    let limit = scim_filter::Limits::DEFAULT;
    let wide = |term: &str, op: &str| {
        let mut f = term.to_owned();
        while f.len() + term.len() + op.len() + 2 < limit.max_length {
            f = format!("{f} {op} {term}");
        }
        f
    };
    let deep = |open: &str, close: &str| {
        format!(
            "{}title pr{}",
            open.repeat(limit.max_depth - 1),
            close.repeat(limit.max_depth - 1)
        )
    };
    vec![
        wide("title pr", "and"),
        wide("title pr", "or"),
        wide(r#"title co "a""#, "or"),
        wide(r#"userName eq "a""#, "or"),
        wide(r#"externalId eq "a""#, "or"),
        wide(r#"not (userName eq "a")"#, "and"),
        wide(r#"emails[value eq "a" or type pr]"#, "or"),
        deep("not (", ")"),
        deep("(userName pr or title gt 1 or ", ")"),
        deep("(not (userName pr) and ", ")"),
        deep("(userName eq \"a\" or ", ")"),
        deep("(emails[value pr] and ", ")"),
    ]
}
