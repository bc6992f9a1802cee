//! `Patcher::split` against `Patcher::apply`: for any sequence of member operations, applying
//! the split's net change to the members by key gives the members the whole-resource apply
//! gives (after the engine's one-member-per-value rule).

use proptest::prelude::*;
use scim_patch::{PatchOptions, PatchRequest, Patcher};
use serde_json::{json, Value};

const IDS: [&str; 5] = ["a", "B", "b", "c", "d"];

fn member(i: usize, display: bool) -> Value {
    if display {
        json!({"value": IDS[i], "display": format!("m{i}")})
    } else {
        json!({"value": IDS[i]})
    }
}

fn op() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec((0..IDS.len(), any::<bool>()), 0..4).prop_map(|ms| {
            json!({"op": "add", "path": "members",
                   "value": ms.into_iter().map(|(i, d)| member(i, d)).collect::<Vec<_>>()})
        }),
        prop::collection::vec((0..IDS.len(), any::<bool>()), 0..3).prop_map(|ms| {
            json!({"op": "replace", "path": "members",
                   "value": ms.into_iter().map(|(i, d)| member(i, d)).collect::<Vec<_>>()})
        }),
        (0..IDS.len()).prop_map(|i| {
            json!({"op": "remove", "path": format!("members[value eq \"{}\"]", IDS[i])})
        }),
        (0..IDS.len(), 0..IDS.len()).prop_map(|(i, j)| {
            json!({"op": "remove",
                   "path": format!("members[value eq \"{}\" or value eq \"{}\"]", IDS[i], IDS[j])})
        }),
        prop::collection::vec(0..IDS.len(), 1..3).prop_map(|is| {
            json!({"op": "remove", "path": "members",
                   "value": is.into_iter().map(|i| json!({"value": IDS[i]})).collect::<Vec<_>>()})
        }),
        Just(json!({"op": "remove", "path": "members"})),
        Just(json!({"op": "replace", "path": "displayName", "value": "renamed"})),
    ]
}

/// One member per value (case-insensitively), the first kept: what the engine stores.
fn dedupe(members: &[Value]) -> Vec<Value> {
    let mut seen = Vec::new();
    members
        .iter()
        .filter(|m| {
            let key = m["value"].as_str().unwrap_or_default().to_lowercase();
            let fresh = !seen.contains(&key);
            seen.push(key);
            fresh
        })
        .cloned()
        .collect()
}

proptest! {
    #[test]
    fn split_then_by_key_equals_whole_apply(
        start in prop::collection::vec((0..IDS.len(), any::<bool>()), 0..4),
        ops in prop::collection::vec(op(), 1..5),
    ) {
        let registry = scim_schema::Registry::standard();
        let options = PatchOptions::entra_id();
        let patcher = Patcher::new(registry.resource_type("Group").unwrap(), options);
        let members = dedupe(&start.into_iter().map(|(i, d)| member(i, d)).collect::<Vec<_>>());
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "displayName": "g", "members": members});
        let request = PatchRequest::from_json(
            &json!({"schemas": [scim_patch::PATCH_OP], "Operations": ops}), &options).unwrap();

        let mut whole = group.clone();
        let whole_result = patcher.apply(&mut whole, &request);
        let split = patcher.split(&request, "members").unwrap().unwrap();

        // The members by key: clear, remove, add-if-absent.
        let mut by_key: Vec<Value> = if split.clear { Vec::new() } else { members };
        let removed: Vec<String> = split.removed.iter().map(|v| v.to_lowercase()).collect();
        by_key.retain(|m| !removed.contains(&m["value"].as_str().unwrap().to_lowercase()));
        for a in &split.added {
            let key = a["value"].as_str().unwrap().to_lowercase();
            if !by_key.iter().any(|m| m["value"].as_str().unwrap().to_lowercase() == key) {
                by_key.push(a.clone());
            }
        }
        let mut head = group.clone();
        head.as_object_mut().unwrap().remove("members");
        let head_result = patcher.apply(&mut head, &split.rest);

        prop_assert_eq!(whole_result.is_ok(), head_result.is_ok());
        if whole_result.is_ok() {
            let whole_members = dedupe(whole.get("members").and_then(Value::as_array).map_or(&[][..], Vec::as_slice));
            prop_assert_eq!(&whole_members, &by_key);
            whole.as_object_mut().unwrap().remove("members");
            prop_assert_eq!(whole, head);
        }
    }
}

/// 10,000 members added, every other one removed again (in another case), some added back
/// twice: the net change, exactly, in order. (Each change scanned all the earlier ones
/// before: quadratic in the request.)
#[test]
fn split_of_many_members_is_the_net_change() {
    const N: usize = 10_000;
    let registry = scim_schema::Registry::standard();
    // Entra ID's profile: `remove` with a list of values.
    let patcher = Patcher::new(
        registry.resource_type("Group").unwrap(),
        PatchOptions::entra_id(),
    );
    let m = |v: String| json!({"value": v});
    let request = PatchRequest::from_json(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "add", "path": "members", "value": (0..N).map(|i| m(format!("u{i}"))).collect::<Vec<_>>()},
                {"op": "remove", "path": "members",
                    "value": (0..N).step_by(2).map(|i| m(format!("U{i}"))).collect::<Vec<_>>()},
                {"op": "remove", "path": "members[value eq \"u0\"]"},
                {"op": "add", "path": "members", "value": [m("U2".into()), m("u2".into()), m("u1".into())]},
            ]}),
        patcher.options(),
    )
    .unwrap();
    let split = patcher.split(&request, "members").unwrap().unwrap();
    assert!(!split.clear);
    let removed: Vec<String> = (0..N).step_by(2).map(|i| format!("U{i}")).collect();
    assert_eq!(split.removed, removed);
    let mut added: Vec<Value> = (1..N).step_by(2).map(|i| m(format!("u{i}"))).collect();
    added.push(m("U2".into()));
    assert_eq!(split.added, added);
}
