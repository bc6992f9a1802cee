//! A null (or [] for a multi-valued) sub-attribute value unassigns it (RFC 7644 §3.5.2.3,
//! RFC 7643 §2.5), in every form of `add` and `replace`, under the rules of `remove`.

use scim_patch::{PatchError, PatchOptions, PatchOutcome, PatchRequest, Patcher};
use scim_schema::{AttrType, Attribute, Mutability, Registry, ResourceType, Schema};
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A complex attribute with a required, an immutable and a multi-valued sub-attribute.
fn badge_registry() -> Registry {
    let schema = Schema::new("urn:ietf:params:scim:schemas:Test", "Test")
        .with_attribute(Attribute::new("userName", AttrType::String).required(true))
        .with_attribute(
            Attribute::new("badge", AttrType::Complex).sub_attributes(vec![
                Attribute::new("number", AttrType::String).required(true),
                Attribute::new("issuer", AttrType::String).mutability(Mutability::Immutable),
                Attribute::new("note", AttrType::String),
                Attribute::new("tags", AttrType::String).multi_valued(true),
            ]),
        );
    Registry::builder()
        .schema(schema)
        .resource_type(ResourceType::new(
            "Test",
            "/Test",
            "urn:ietf:params:scim:schemas:Test",
        ))
        .build()
        .unwrap()
}

fn patch_with(
    registry: &Registry,
    rt: &str,
    resource: &mut Value,
    ops: Value,
) -> Result<PatchOutcome, PatchError> {
    let rt = registry.resource_type(rt).unwrap();
    let message =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let options = PatchOptions::default();
    let request = PatchRequest::from_json(&message, &options)?;
    Patcher::new(rt, options).apply(resource, &request)
}

fn ok(resource: &mut Value, ops: Value) -> PatchOutcome {
    patch_with(&Registry::standard(), "User", resource, ops).unwrap_or_else(|e| panic!("{e}"))
}

fn badge_err(resource: &Value, ops: Value) -> PatchError {
    let mut copy = resource.clone();
    let e = patch_with(&badge_registry(), "Test", &mut copy, ops).expect_err("should fail");
    assert_eq!(&copy, resource, "a failed PATCH changed the resource");
    e
}

fn user() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223", "userName": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane"},
        ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}}})
}

#[test]
fn null_sub_attribute_unassigns_it_in_every_form() {
    for (op, with_path) in [
        ("replace", true),
        ("replace", false),
        ("add", true),
        ("add", false),
    ] {
        let mut u = user();
        let ops = if with_path {
            json!([{"op": op, "path": "name", "value": {"middleName": null}}])
        } else {
            json!([{"op": op, "value": {"name": {"middleName": null}}}])
        };
        let out = ok(&mut u, ops);
        assert!(out.changed, "{op} path={with_path}");
        assert_eq!(
            u["name"],
            json!({"familyName": "Jensen", "givenName": "Barbara"}),
            "{op} path={with_path}"
        );
    }
}

#[test]
fn null_sub_attribute_spelt_another_way_and_beside_values() {
    let mut u = user();
    let out = ok(
        &mut u,
        json!([{"op": "replace", "path": "name", "value": {"MIDDLENAME": null, "givenName": "Babs"}}]),
    );
    assert!(out.changed);
    assert_eq!(
        u["name"],
        json!({"familyName": "Jensen", "givenName": "Babs"})
    );
}

#[test]
fn null_for_an_unassigned_sub_attribute_changes_nothing() {
    let mut u = user();
    let before = u.clone();
    let out = ok(
        &mut u,
        json!([{"op": "replace", "path": "name", "value": {"honorificPrefix": null}}]),
    );
    assert!(!out.changed);
    assert_eq!(u, before);
}

#[test]
fn clearing_every_sub_attribute_unassigns_the_attribute() {
    let mut u = user();
    let out = ok(
        &mut u,
        json!([{"op": "replace", "value": {ENTERPRISE: {"manager": {"value": null}}}}]),
    );
    assert!(out.changed);
    assert_eq!(u[ENTERPRISE], json!({"employeeNumber": "701984"}));
}

#[test]
fn empty_array_unassigns_a_multi_valued_sub_attribute() {
    let registry = badge_registry();
    let mut r = json!({"userName": "u", "badge": {"number": "1", "tags": ["a", "b"]}});
    let out = patch_with(
        &registry,
        "Test",
        &mut r,
        json!([{"op": "replace", "path": "badge", "value": {"number": "1", "tags": []}}]),
    )
    .unwrap();
    assert!(out.changed);
    assert_eq!(r["badge"], json!({"number": "1"}));
    // With a path to the sub-attribute: `replace` with [] unassigns, `add` of [] adds nothing.
    let mut r = json!({"userName": "u", "badge": {"number": "1", "tags": ["a"]}});
    let out = patch_with(
        &registry,
        "Test",
        &mut r,
        json!([{"op": "add", "path": "badge.tags", "value": []}]),
    )
    .unwrap();
    assert!(!out.changed);
    assert_eq!(r["badge"]["tags"], json!(["a"]));
    let out = patch_with(
        &registry,
        "Test",
        &mut r,
        json!([{"op": "replace", "path": "badge.tags", "value": []}]),
    )
    .unwrap();
    assert!(out.changed);
    assert_eq!(r["badge"], json!({"number": "1"}));
}

#[test]
fn clearing_a_required_or_immutable_sub_attribute_is_refused_like_remove() {
    let r = json!({"userName": "u", "badge": {"number": "1", "issuer": "HR", "note": "n"}});
    for ops in [
        json!([{"op": "replace", "path": "badge", "value": {"number": null}}]),
        json!([{"op": "add", "value": {"badge": {"note": null, "number": null}}}]),
        json!([{"op": "remove", "path": "badge.number"}]),
    ] {
        let e = badge_err(&r, ops.clone());
        assert_eq!(e.scim_type(), "invalidValue", "{ops}: {e}");
    }
    for ops in [
        json!([{"op": "replace", "path": "badge", "value": {"number": "1", "issuer": null}}]),
        json!([{"op": "remove", "path": "badge.issuer"}]),
    ] {
        let e = badge_err(&r, ops.clone());
        assert_eq!(e.scim_type(), "mutability", "{ops}: {e}");
    }
}

#[test]
fn a_later_failure_restores_a_cleared_sub_attribute() {
    let before = user();
    let mut copy = before.clone();
    let e = patch_with(
        &Registry::standard(),
        "User",
        &mut copy,
        json!([
            {"op": "replace", "path": "name", "value": {"middleName": null}},
            {"op": "replace", "value": {ENTERPRISE: {"manager": {"value": null}}}},
            {"op": "replace", "path": "active", "value": "not a boolean"}]),
    )
    .expect_err("should fail");
    assert_eq!(e.operation(), Some(2));
    assert_eq!(copy, before);
}

/// Through a value filter too: null unassigns what the path selects — the matched values
/// (`emails[type eq "work"]`), their sub-attribute (`…].display`), or a sub-attribute given
/// as null in the merged value — and never stores a null or an array as a value (the result
/// then failed its own PUT). An array for a path that selects values is refused.
#[test]
fn null_through_a_value_filter_unassigns_what_it_selects() {
    let with_emails = || {
        let mut u = user();
        u["emails"] = json!([{"value": "w@x", "type": "work", "display": "W"},
                             {"value": "h@x", "type": "home"}]);
        u
    };
    for op in ["replace", "add"] {
        let mut u = with_emails();
        let out = ok(
            &mut u,
            json!([{"op": op, "path": "emails[type eq \"work\"]", "value": null}]),
        );
        assert!(out.changed, "{op}");
        assert_eq!(
            u["emails"],
            json!([{"value": "h@x", "type": "home"}]),
            "{op}"
        );

        let mut u = with_emails();
        ok(
            &mut u,
            json!([{"op": op, "path": "emails[type eq \"work\"].display", "value": null}]),
        );
        assert_eq!(
            u["emails"][0],
            json!({"value": "w@x", "type": "work"}),
            "{op}"
        );

        let mut u = with_emails();
        ok(
            &mut u,
            json!([{"op": op, "path": "emails[type eq \"work\"]",
                    "value": {"display": null, "primary": true}}]),
        );
        assert_eq!(
            u["emails"][0],
            json!({"value": "w@x", "type": "work", "primary": true}),
            "{op}"
        );
    }
    // The last value unassigns the attribute.
    let mut u = with_emails();
    ok(
        &mut u,
        json!([{"op": "replace", "path": "emails[value ew \"@x\"]", "value": null}]),
    );
    assert!(u.get("emails").is_none(), "{u}");
    // An immutable sub-attribute with a value is refused as `remove` refuses it.
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g",
        "displayName": "G", "members": [{"value": "u1"}]});
    let mut copy = group.clone();
    let e = patch_with(
        &Registry::standard(),
        "Group",
        &mut copy,
        json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": null}]),
    )
    .expect_err("immutable");
    assert_eq!(e.scim_type(), "mutability", "{e}");
    assert_eq!(copy, group);
    // An array where the path selects values is refused.
    let before = with_emails();
    let mut u = before.clone();
    let e = patch_with(
        &Registry::standard(),
        "User",
        &mut u,
        json!([{"op": "add", "path": "emails[type eq \"work\"]", "value": []}]),
    )
    .expect_err("array");
    assert_eq!(e.scim_type(), "invalidValue", "{e}");
    assert_eq!(u, before);
}
