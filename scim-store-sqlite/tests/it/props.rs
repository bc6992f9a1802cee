//! Random filters over random resources: whatever SQL answers (`filtered: true`) equals the
//! in-memory evaluator.

use proptest::prelude::*;
use scim_core::test_kit::check_query;
use scim_core::{block_on, Store};
use scim_filter::{AttrPath, CompValue, CompareOp, Filter, ValuePath};
use serde_json::{json, Map, Value};

use super::memory_store;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn string() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "A", "ab", "aB", "b", "ba", "é", "É", "", "x%", "_y", "ß",
    ])
    .prop_map(str::to_owned)
}

fn number() -> impl Strategy<Value = serde_json::Number> {
    prop_oneof![
        (-2i64..3).prop_map(serde_json::Number::from),
        prop::sample::select(vec![0.5f64, 1.0, 2.5, -0.5])
            .prop_map(|f| serde_json::Number::from_f64(f).unwrap_or(0.into())),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => string().prop_map(Value::String),
        2 => number().prop_map(Value::Number),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

/// A value for an attribute: usually a scalar, sometimes an array (a shape the schema may
/// refuse, which the evaluator still handles).
fn attr_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => scalar(),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
    ]
}

fn email() -> impl Strategy<Value = Value> {
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

fn resource() -> impl Strategy<Value = Value> {
    (
        prop::option::of(attr_value()),
        prop::option::of(attr_value()),
        prop::option::of(prop_oneof![any::<bool>().prop_map(Value::Bool), scalar()]),
        prop::option::of(prop_oneof![number().prop_map(Value::Number), scalar()]),
        prop::option::of(attr_value()),
        prop::option::of(prop::collection::vec(email(), 0..3)),
        prop::option::of(attr_value()),
        any::<bool>(),
    )
        .prop_map(|(user, title, active, count, given, emails, emp, upper)| {
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
            put("active", active);
            put("loginCount", count);
            put("name", given.map(|g| json!({"givenName": g})));
            put("emails", emails.map(Value::Array));
            put(ENTERPRISE, emp.map(|e| json!({"employeeNumber": e})));
            Value::Object(m)
        })
}

fn path() -> impl Strategy<Value = AttrPath> {
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
    ])
}

fn inner_path() -> impl Strategy<Value = AttrPath> {
    prop::sample::select(vec![
        AttrPath::new("value"),
        AttrPath::new("type"),
        AttrPath::new("primary"),
    ])
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

/// An operator and a literal the engine accepts together (it refuses `co 3`, `gt null`,
/// `sw true`, and ordering or substring operators on boolean attributes).
fn op_value(boolean_attr: bool) -> BoxedStrategy<(CompareOp, CompValue)> {
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

fn is_boolean(p: &AttrPath) -> bool {
    matches!(
        p.sub_attr.as_deref().unwrap_or(&p.name),
        "active" | "primary"
    )
}

fn leaf(paths: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        1 => paths.clone().prop_map(Filter::Present),
        5 => paths.prop_flat_map(|p| {
            op_value(is_boolean(&p)).prop_map(move |(o, v)| Filter::compare(p.clone(), o, v))
        }),
    ]
}

fn combine(leaf: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let value_path = combine(leaf(inner_path().boxed()).boxed().boxed()).prop_map(|f| {
        Filter::ValuePath(ValuePath {
            attr: AttrPath::new("emails"),
            filter: Box::new(f),
        })
    });
    let top = prop_oneof![4 => leaf(path().boxed()), 1 => value_path].boxed();
    combine(top)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sql_agrees_with_the_evaluator(
        resources in prop::collection::vec(resource(), 0..8),
        filters in prop::collection::vec(filter(), 1..6),
    ) {
        let s = memory_store();
        let mut stored = Vec::new();
        for r in resources {
            stored.push(block_on(s.create("t", "User", r, vec![])).expect("create"));
        }
        let registry = scim_schema::Registry::standard();
        let users = registry.resource_type("User").expect("User");
        for f in filters {
            // Filters the engine would refuse (e.g. `active gt true`) never reach a store.
            if scim_filter::CompiledFilter::compile(&f, &users).is_err() {
                continue;
            }
            check_query(&s, "t", "User", &f.to_string(), &stored);
        }
    }
}
