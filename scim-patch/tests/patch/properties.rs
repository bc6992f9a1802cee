//! Property tests: a failed PATCH leaves the resource byte-identical; after a successful one
//! at most one value per multi-valued attribute is primary, and the resource is a valid PUT
//! body (its `schemas` list the extensions it has data for, no name is spelt twice).

use proptest::prelude::*;
use scim_patch::{PatchOptions, PatchRequest, Patcher, PrimaryRule};
use scim_schema::{Registry, ValidationOptions};
use serde_json::{json, Value};

fn user() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "1", "userName": "bjensen", "name": {"givenName": "Barbara"},
        "emails": [{"value": "a@x.org", "type": "work", "primary": true}, {"value": "b@x.org", "type": "home"}],
        "phoneNumbers": [{"value": "555-0101", "type": "work"}, {"value": "555-0202", "type": "mobile", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tours"}})
}

/// The user without the enterprise extension (neither data nor URN).
fn core_user() -> Value {
    let mut u = user();
    if let Value::Object(m) = &mut u {
        m.remove("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    }
    u["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    u
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
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
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
        json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}}),
        json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": null}}),
        json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division": "d"}),
        json!({"employeeNumber": "8", "department": "Tours"}),
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
    fn atomic_and_single_primary(ops in prop::collection::vec(op(), 1..6), lenient in any::<bool>(), keep in any::<bool>(), core_only in any::<bool>()) {
        let registry = Registry::standard();
        let users = registry.resource_type("User").unwrap();
        let mut options = if lenient { PatchOptions::lenient() } else { PatchOptions::default() };
        if keep {
            options = options.primary_rule(PrimaryRule::KeepExisting);
        }
        let message = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let Ok(request) = PatchRequest::from_json(&message, &options) else { return Ok(()) };
        for (schemaless, patcher) in [(false, Patcher::new(users, options)), (true, Patcher::schemaless(options))] {
            let before = if core_only { core_user() } else { user() };
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
                    if !schemaless {
                        let put = users.validate_replace(resource.clone(), &resource, &ValidationOptions::default());
                        prop_assert!(put.is_ok(), "not a valid PUT body: {}: {}", resource, put.err().map(|e| e.to_string()).unwrap_or_default());
                    }
                }
            }
        }
    }

    /// Focused on extensions: whatever a PATCH does to the enterprise data, starting with or
    /// without it, an accepted result is a valid PUT body.
    #[test]
    fn extension_results_are_valid_put_bodies(ops in prop::collection::vec(extension_op(), 1..5), core_only in any::<bool>()) {
        let registry = Registry::standard();
        let users = registry.resource_type("User").unwrap();
        let options = PatchOptions::entra_id();
        let message = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let Ok(request) = PatchRequest::from_json(&message, &options) else { return Ok(()) };
        let mut resource = if core_only { core_user() } else { user() };
        if Patcher::new(users, options).apply(&mut resource, &request).is_ok() {
            let put = users.validate_replace(resource.clone(), &resource, &ValidationOptions::default());
            prop_assert!(put.is_ok(), "not a valid PUT body: {}: {}", resource, put.err().map(|e| e.to_string()).unwrap_or_default());
        }
    }
}

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn extension_op() -> impl Strategy<Value = Value> {
    let paths = prop::sample::select(vec![
        Some(format!("{ENT}:employeeNumber")),
        Some(format!("{ENT}:department")),
        Some(format!("{ENT}:manager")),
        Some(format!("{ENT}:manager.value")),
        Some(ENT.to_owned()),
        Some("employeeNumber".to_owned()),
        None,
    ]);
    let values = prop::sample::select(vec![
        json!("x"),
        json!(null),
        json!({"value": "m1"}),
        json!({"employeeNumber": "7"}),
        json!({"department": null}),
        json!({ENT: {"employeeNumber": "8"}}),
        json!({ENT: {"department": null, "employeeNumber": null}}),
        json!({format!("{ENT}:division"): "d"}),
    ]);
    (
        prop::sample::select(vec!["add", "remove", "replace"]),
        paths,
        values,
    )
        .prop_map(|(op, path, value)| {
            let mut o = json!({"op": op});
            if let Some(p) = path {
                o["path"] = json!(p);
            }
            if op != "remove" {
                o["value"] = value;
            }
            o
        })
}
