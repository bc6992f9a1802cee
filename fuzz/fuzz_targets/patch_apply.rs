//! Arbitrary PATCH requests on a user and a group, strict and lenient, schema-aware and
//! schema-less: a failed PATCH leaves the resource byte-identical; after a successful one at
//! most one value per multi-valued attribute is primary, and `changed` tells the truth. For the
//! group, `Patcher::split` (members kept out of line) agrees with the whole-resource apply.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_patch::{PatchOptions, PatchRequest, Patcher, PrimaryRule};
use scim_schema::Registry;
use serde_json::{json, Value};

fn targets() -> [(&'static str, Value); 2] {
    [
        (
            "User",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "1", "userName": "bjensen", "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@x.org", "type": "work", "primary": true}, {"value": "b@x.org", "type": "home"}],
            "phoneNumbers": [{"value": "555-0101", "type": "work"}, {"value": "555-0202", "type": "mobile", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tours", "manager": {"value": "m"}}}),
        ),
        (
            "Group",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "Admins",
            "members": [{"value": "u1", "type": "User"}, {"value": "u2"}, {"value": "u3", "display": "Three"}]}),
        ),
    ]
}

fn single_primary(v: &Value) -> bool {
    let ok = |x: &Value| match x {
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
            ok(x) && (!k.starts_with("urn:") || x.as_object().is_none_or(|e| e.values().all(ok)))
        }),
        _ => true,
    }
}

/// One member per value (case-insensitively), the first kept.
fn dedupe(members: &[Value]) -> Vec<Value> {
    let mut seen = Vec::new();
    members
        .iter()
        .filter(|m| {
            let key = m
                .get("value")
                .and_then(Value::as_str)
                .map(str::to_lowercase);
            let fresh = key.is_none() || !seen.contains(&key);
            seen.push(key);
            fresh
        })
        .cloned()
        .collect()
}

fn members(v: &Value) -> Vec<Value> {
    v.get("members")
        .and_then(Value::as_array)
        .map(|m| dedupe(m))
        .unwrap_or_default()
}

/// The split applied by key to `before`'s members, and its rest to the head, against the
/// whole request applied to the whole group.
fn split_agrees(patcher: &Patcher<'_>, before: &Value, request: &PatchRequest) {
    let mut whole = before.clone();
    let whole_result = patcher.apply(&mut whole, request);
    let split = match patcher.split(request, "members") {
        Err(e) => {
            assert!(whole_result.is_err(), "split refused ({e}) what apply took");
            return;
        }
        Ok(None) => return,
        Ok(Some(s)) => s,
    };
    let key = |m: &Value| {
        m.get("value")
            .and_then(Value::as_str)
            .map(str::to_lowercase)
    };
    let mut by_key = if split.clear {
        Vec::new()
    } else {
        members(before)
    };
    let removed: Vec<String> = split.removed.iter().map(|r| r.to_lowercase()).collect();
    by_key.retain(|m| key(m).is_none_or(|k| !removed.contains(&k)));
    for a in &split.added {
        if !by_key.iter().any(|m| key(m) == key(a)) {
            by_key.push(a.clone());
        }
    }
    let mut head = before.clone();
    if let Value::Object(m) = &mut head {
        m.remove("members");
    }
    let head_result = patcher.apply(&mut head, &split.rest);
    match (whole_result, head_result) {
        (Ok(_), Ok(_)) => {
            assert_eq!(members(&whole), by_key, "members differ");
            if let Value::Object(m) = &mut whole {
                m.remove("members");
            }
            assert_eq!(whole, head, "the rest differs");
        }
        (Err(_), Err(_)) => {}
        (w, h) => panic!("whole {w:?} but split rest {h:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, json)) = data.split_first() else {
        return;
    };
    let Ok(message) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    // Accept a bare operations array too, so the fuzzer reaches the applier quickly.
    let message = match message {
        Value::Array(ops) => {
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
        }
        other => other,
    };
    let mut options = if flags & 1 != 0 {
        PatchOptions::lenient()
    } else {
        PatchOptions::default()
    };
    if flags & 2 != 0 {
        options = options.primary_rule(PrimaryRule::KeepExisting);
    }
    let Ok(request) = PatchRequest::from_json(&message, &options) else {
        return;
    };
    let registry = Registry::standard();
    for (name, before) in targets() {
        let rt = registry.resource_type(name).expect("standard type");
        if name == "Group" {
            split_agrees(&Patcher::new(rt, options), &before, &request);
        }
        for patcher in [Patcher::new(rt, options), Patcher::schemaless(options)] {
            let before_text = serde_json::to_string(&before).expect("serialise");
            let mut resource = before.clone();
            match patcher.apply(&mut resource, &request) {
                Err(e) => {
                    assert_eq!(
                        serde_json::to_string(&resource).expect("serialise"),
                        before_text,
                        "{e}"
                    );
                    assert!(matches!(
                        e.scim_type().as_str(),
                        "invalidSyntax"
                            | "invalidPath"
                            | "noTarget"
                            | "invalidValue"
                            | "mutability"
                    ));
                }
                Ok(outcome) => {
                    assert!(single_primary(&resource), "two primaries: {resource}");
                    if !outcome.changed {
                        assert_eq!(resource, before);
                    }
                    assert_eq!(outcome.changed, !outcome.delta.changes.is_empty());
                }
            }
        }
    }
});
