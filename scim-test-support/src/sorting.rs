//! The sort property shared by the SQL stores' tests (feature `filters`): an engine over
//! the store lists random users (absent and null values, case variants, dateTimes with
//! offsets and fractions, numbers, multi-valued attributes with and without a primary
//! value) in the order of the engine over the in-memory reference store (RFC 7644
//! §3.4.2.3), ascending and descending, paged or not.

#![allow(clippy::expect_used)]

use proptest::prelude::*;
use scim_core::{
    block_on, Engine, MemoryStore, Method, Query, Request, RequestContext, Sort, Store,
};
use scim_filter::AttrType;
use scim_filter::{AttrPath, AttrSchema};
use scim_schema::{builtin, Attribute, Registry, Schema};
use serde_json::{json, Map, Value};

/// Used by the sort property (see the module docs).
pub const EXT: &str = "urn:example:params:scim:schemas:extension:sort:2.0:User";
/// Used by the sort property (see the module docs).
pub const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// The extension's attributes, each with its type and whether it is caseExact.
pub const ATTRS: &[(&str, AttrType, bool)] = &[
    ("s", AttrType::String, false),
    ("x", AttrType::String, true),
    ("t", AttrType::DateTime, false),
    ("n", AttrType::Integer, false),
    ("d", AttrType::Decimal, false),
    ("b", AttrType::Boolean, false),
];

/// Used by the sort property (see the module docs).
pub fn registry() -> Registry {
    let mut ext = Schema::new(EXT, "Sort");
    for (name, ty, exact) in ATTRS {
        ext = ext.with_attribute(Attribute::new(*name, *ty).case_exact(*exact));
    }
    ext = ext.with_attribute(
        Attribute::new("m", AttrType::Complex)
            .multi_valued(true)
            .sub_attributes(vec![
                Attribute::new("value", AttrType::String),
                Attribute::new("primary", AttrType::Boolean),
            ]),
    );
    Registry::builder()
        .schema(builtin::user())
        .schema(builtin::enterprise_user())
        .schema(ext)
        .resource_type(builtin::user_resource_type().with_extension(EXT, false))
        .build()
        .expect("registry")
}

/// Used by the sort property (see the module docs).
pub fn text() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "a", "A", "b", "B", "ab", "aB", "é", "É", "", "ß", "SS", "İ",
    ])
    .prop_map(|s| json!(s))
}

/// Used by the sort property (see the module docs).
pub fn date_time() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "2024-01-01T05:30:00Z",
        "2024-01-01T05:30:00.5Z",
        "2024-01-01T05:30:00.50Z",
        "2024-01-01T10:00:00+05:00",
        "2024-01-01T06:00:00Z",
        "2024-01-01T05:00:00Z",
        "2024-01-01T00:30:00.25-05:00",
        "2023-12-31T23:59:59.999999999Z",
    ])
    .prop_map(|s| json!(s))
}

/// Used by the sort property (see the module docs).
pub fn integer() -> impl Strategy<Value = Value> {
    const EXACT: i64 = 1 << 53;
    prop::sample::select(vec![
        -2,
        0,
        1,
        7,
        EXACT - 1,
        EXACT,
        EXACT + 1,
        EXACT + 2,
        -EXACT - 1,
        i64::MAX,
        i64::MIN,
    ])
    .prop_map(|i| json!(i))
}

/// Used by the sort property (see the module docs).
pub fn decimal() -> impl Strategy<Value = Value> {
    prop_oneof![
        integer(),
        prop::sample::select(vec![0.5f64, 1.0, 2.5, -0.5, 9_007_199_254_740_992.0, 1e300])
            .prop_map(|f| json!(f)),
        prop::sample::select(vec![u64::MAX, 1 << 63, (1 << 63) + 1]).prop_map(|u| json!(u)),
    ]
}

/// Absent (`None`), null, or a value.
pub fn slot(value: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![1 => Just(None), 1 => Just(Some(Value::Null)), 4 => value.prop_map(Some)]
}

/// Used by the sort property (see the module docs).
pub fn element() -> impl Strategy<Value = Value> {
    (text(), prop::option::of(any::<bool>())).prop_map(|(value, primary)| match primary {
        Some(p) => json!({ "value": value, "primary": p }),
        None => json!({ "value": value }),
    })
}

/// The extension object of one user (`None`: the user has none).
pub fn extension() -> impl Strategy<Value = Option<Map<String, Value>>> {
    let fields = (
        slot(text()),
        slot(text()),
        slot(date_time()),
        slot(integer()),
        slot(decimal()),
        slot(any::<bool>().prop_map(Value::Bool)),
        prop::option::of(prop::collection::vec(element(), 0..3)),
    )
        .prop_map(|(s, x, t, n, d, b, m)| {
            let mut o = Map::new();
            for ((name, _, _), v) in ATTRS.iter().zip([s, x, t, n, d, b]) {
                if let Some(v) = v {
                    o.insert((*name).to_owned(), v);
                }
            }
            if let Some(m) = m {
                o.insert("m".to_owned(), Value::Array(m));
            }
            o
        });
    prop::option::weighted(0.9, fields)
}

/// The value `attr` sorts by as written, in a form equal exactly when the engine's sort
/// keys are equal (numbers by value); `None` when absent or null.
pub fn expected_key(ext: Option<&Map<String, Value>>, attr: &str) -> Option<String> {
    let ext = ext?;
    let v = match attr {
        "m" | "m.value" => {
            let items = ext.get("m")?.as_array()?;
            let e = items
                .iter()
                .find(|e| e["primary"] == json!(true))
                .or_else(|| items.first())?;
            e.get("value")?
        }
        name => ext.get(name)?,
    };
    Some(match v {
        Value::Null => return None,
        Value::Number(n) => match n.as_i64() {
            Some(i) => format!("n{i}"),
            None => {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    format!("n{i}")
                } else {
                    format!("f{f:e}")
                }
            }
        },
        other => other.to_string(),
    })
}

/// The `userName`s of a sorted list, in order.
pub fn list(
    engine: &Engine<impl Store>,
    tenant: &str,
    sort_by: &str,
    descending: bool,
    page: Option<(usize, usize)>,
) -> Vec<String> {
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH).tenant(tenant);
    let order = if descending {
        "descending"
    } else {
        "ascending"
    };
    let mut req = Request::new(Method::Get, "/Users")
        .with_query("sortBy", sort_by)
        .with_query("sortOrder", order);
    if let Some((start, count)) = page {
        req = req
            .with_query("startIndex", start.to_string())
            .with_query("count", count.to_string());
    }
    let resp = block_on(engine.handle(&ctx, req));
    let body = resp.body_json();
    assert_eq!(resp.status, 200, "{sort_by}: {body}");
    body["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["userName"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Used by the sort property (see the module docs).
pub const SORT_ATTRS: &[&str] = &["s", "x", "t", "n", "d", "b", "m", "m.value"];

/// Creates `users` (by their extension objects) in `tenant` of both engines, then lists
/// them sorted by each of [`SORT_ATTRS`]: `store`'s order must be the in-memory engine's
/// (`memory`), absent and null values last ascending and first descending.
///
/// # Panics
/// When the orders differ.
pub fn sorts_agree<S: Store>(
    store: &Engine<S>,
    memory: &Engine<MemoryStore>,
    tenant: &str,
    users: &[Option<Map<String, Value>>],
    descending: bool,
    page: Option<(usize, usize)>,
) {
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH).tenant(tenant);
    let mut created: Vec<(String, Option<Map<String, Value>>)> = Vec::new();
    for (i, ext) in users.iter().enumerate() {
        let name = format!("u{i:02}");
        let mut u = json!({ "schemas": [CORE], "userName": name });
        if let Some(ext) = ext {
            u["schemas"] = json!([CORE, EXT]);
            u[EXT] = Value::Object(ext.clone());
        }
        let post = || Request::new(Method::Post, "/Users").with_json(&u);
        let a = block_on(store.handle(&ctx, post())).status;
        let b = block_on(memory.handle(&ctx, post())).status;
        assert_eq!(a, b, "{}", u);
        if a == 201 {
            created.push((name, ext.clone()));
        }
    }
    for attr in SORT_ATTRS {
        let sort_by = format!("{EXT}:{attr}");
        let keys = |names: Vec<String>| -> Vec<Option<String>> {
            names
                .iter()
                .map(|n| {
                    let (_, ext) = created.iter().find(|(c, _)| c == n).expect("created");
                    expected_key(ext.as_ref(), attr)
                })
                .collect()
        };
        let got = keys(list(store, tenant, &sort_by, descending, page));
        let want = keys(list(memory, tenant, &sort_by, descending, page));
        assert_eq!(
            &got, &want,
            "{} descending {} page {:?}",
            sort_by, descending, page
        );
        // Absent and null values: last ascending, first descending.
        if page.is_none() {
            let first_value = want.iter().position(Option::is_some);
            let last_value = want.iter().rposition(Option::is_some);
            let absent = want.iter().filter(|k| k.is_none()).count();
            if absent > 0 && first_value.is_some() {
                if descending {
                    assert_eq!(first_value, Some(absent));
                } else {
                    assert_eq!(last_value, Some(want.len() - absent - 1));
                }
            }
        }
    }
}

/// Whether `store` sorts by each of [`SORT_ATTRS`] in SQL (`sorted: true`), as the engine
/// asks (with the schema's characteristics of the attribute), the same both ways.
///
/// # Panics
/// When a query fails, or a direction is sorted and the other not.
pub fn sorted_in_store(store: &impl Store) -> Vec<(&'static str, bool)> {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    SORT_ATTRS
        .iter()
        .map(|attr| {
            let path = AttrPath::parse(&format!("{EXT}:{attr}")).expect("path");
            let info = users.attribute(&path);
            assert!(info.is_some(), "{attr}");
            let sorted = |descending| {
                let query = Query {
                    filter: None,
                    sort: Some(Sort {
                        path: &path,
                        descending,
                        attribute: info.as_ref(),
                    }),
                    start_index: 1,
                    count: 10,
                    attributes: None,
                };
                block_on(store.query("t", "User", query))
                    .expect("query")
                    .sorted
            };
            let ascending = sorted(false);
            assert_eq!(ascending, sorted(true), "{attr}");
            (*attr, ascending)
        })
        .collect()
}
