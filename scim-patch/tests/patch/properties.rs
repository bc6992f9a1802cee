//! Property tests: a failed PATCH leaves the resource byte-identical; after a successful one
//! at most one value per multi-valued attribute is primary.

use proptest::prelude::*;
use scim_patch::{PatchOptions, PatchRequest, Patcher, PrimaryRule};
use scim_schema::Registry;
use serde_json::{json, Value};

fn user() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "1", "userName": "bjensen", "name": {"givenName": "Barbara"},
        "emails": [{"value": "a@x.org", "type": "work", "primary": true}, {"value": "b@x.org", "type": "home"}],
        "phoneNumbers": [{"value": "555-0101", "type": "work"}, {"value": "555-0202", "type": "mobile", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tours"}})
}

fn path() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::sample::select(vec![
            "emails",
            "emails.value",
            "emails.primary",
            "emails[type eq \"work\"]",
            "emails[type eq \"work\"].value",
            "emails[primary eq true].primary",
            "emails[value co \"x\"]",
            "phoneNumbers",
            "phoneNumbers[value ew \"01\"]",
            "phoneNumbers[type eq \"mobile\"].primary",
            "name",
            "name.givenName",
            "userName",
            "id",
            "groups",
            "title",
            "active",
            "addresses",
            "addresses[type eq \"home\"].locality",
            "nope",
            "name.nope",
            "emails[",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        ])
        .prop_map(str::to_owned),
    )
}

fn value() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!(null),
        json!(true),
        json!("False"),
        json!("text"),
        json!(3),
        json!({"value": "c@x.org", "primary": true}),
        json!([{"value": "d@x.org", "primary": true, "type": "other"}]),
        json!([{"value": "e@x.org", "primary": true}, {"value": "f@x.org", "primary": true}]),
        json!({"givenName": "Babs"}),
        json!({"department": "R&D"}),
        json!({"value": "mgr"}),
        json!([]),
        json!({"emails": [{"value": "g@x.org", "primary": true}], "title": "Boss"}),
        json!({"id": "2"}),
        json!([{"value": "555-0303", "primary": true}]),
    ])
}

fn op() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["add", "remove", "replace", "Replace"]),
        path(),
        prop::option::of(value()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = json!({"op": op});
            if let Some(p) = path {
                o["path"] = json!(p);
            }
            if let Some(v) = value {
                o["value"] = v;
            }
            o
        })
}

/// At most one primary value per multi-valued attribute (top level and in extensions; the
/// schema-less applier treats arrays nested deeper as plain data).
fn primaries_ok(v: &Value) -> bool {
    let single = |x: &Value| match x {
        Value::Array(items) => {
            items
                .iter()
                .filter(|i| i.get("primary") == Some(&Value::Bool(true)))
                .count()
                <= 1
        }
        _ => true,
    };
    match v {
        Value::Object(m) => m.iter().all(|(k, x)| {
            single(x)
                && (!k.starts_with("urn:") || x.as_object().is_none_or(|e| e.values().all(single)))
        }),
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn atomic_and_single_primary(ops in prop::collection::vec(op(), 1..6), lenient in any::<bool>(), keep in any::<bool>()) {
        let registry = Registry::standard();
        let users = registry.resource_type("User").unwrap();
        let mut options = if lenient { PatchOptions::lenient() } else { PatchOptions::default() };
        if keep {
            options = options.primary_rule(PrimaryRule::KeepExisting);
        }
        let message = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let Ok(request) = PatchRequest::from_json(&message, &options) else { return Ok(()) };
        for patcher in [Patcher::new(users, options), Patcher::schemaless(options)] {
            let before = user();
            let before_text = serde_json::to_string(&before).unwrap();
            let mut resource = before.clone();
            match patcher.apply(&mut resource, &request) {
                Err(_) => prop_assert_eq!(serde_json::to_string(&resource).unwrap(), before_text),
                Ok(outcome) => {
                    prop_assert!(primaries_ok(&resource), "two primaries: {}", resource);
                    if !outcome.changed {
                        prop_assert_eq!(&resource, &before);
                    }
                    prop_assert_eq!(outcome.changed, !outcome.delta.changes.is_empty());
                }
            }
        }
    }
}
