//! Immutable sub-attributes (RFC 7643 §2.2, RFC 7644 §3.5.2): a PATCH may give one a value
//! where it has none, or the value it has, never a different one — through a value filter
//! (`members[value eq "u1"]`), a sub-attribute path (`members.value`), a merge into a complex
//! attribute, or a path-less value. Refused with 400 `mutability`, the resource unchanged.

use scim_patch::{PatchError, PatchOptions, PatchRequest, Patcher};
use scim_schema::{AttrType, Attribute, Mutability, Registry, ResourceType, Schema};
use serde_json::{json, Value};

const DEVICE: &str = "urn:example:params:scim:schemas:Device";

/// A single-valued complex attribute and a multi-valued one, each with an immutable
/// sub-attribute: the rule is not about `members`.
fn device_registry() -> Registry {
    let schema = Schema::new(DEVICE, "Device")
        .with_attribute(
            Attribute::new("serial", AttrType::Complex).sub_attributes(vec![
                Attribute::new("vendor", AttrType::String).mutability(Mutability::Immutable),
                Attribute::new("model", AttrType::String),
            ]),
        )
        .with_attribute(
            Attribute::new("ports", AttrType::Complex)
                .multi_valued(true)
                .sub_attributes(vec![
                    Attribute::new("id", AttrType::String).mutability(Mutability::Immutable),
                    Attribute::new("label", AttrType::String),
                ]),
        );
    Registry::builder()
        .schema(schema)
        .resource_type(ResourceType::new("Device", "/Devices", DEVICE))
        .build()
        .unwrap()
}

fn apply(
    registry: &Registry,
    rt: &str,
    options: PatchOptions,
    resource: &mut Value,
    ops: &Value,
) -> Result<bool, PatchError> {
    let rt = registry.resource_type(rt).unwrap();
    let message =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let request = PatchRequest::from_json(&message, &options)?;
    Patcher::new(rt, options)
        .apply(resource, &request)
        .map(|o| o.changed)
}

fn group() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g",
        "displayName": "Guides",
        "members": [{"value": "u1", "type": "User"}, {"value": "u2"}]})
}

fn device() -> Value {
    json!({"schemas": [DEVICE], "id": "d",
        "serial": {"vendor": "acme", "model": "m1"},
        "ports": [{"id": "p1", "label": "a"}, {"label": "b"}]})
}

/// Each request is refused with `mutability` and leaves the resource as it was.
fn refused(registry: &Registry, rt: &str, options: PatchOptions, resource: &Value, ops: Value) {
    let mut copy = resource.clone();
    let err = apply(registry, rt, options, &mut copy, &ops)
        .err()
        .unwrap_or_else(|| panic!("accepted: {ops} → {copy}"));
    assert_eq!(err.scim_type(), "mutability", "{ops}: {err}");
    assert!(err.to_string().contains("immutable"), "{ops}: {err}");
    assert_eq!(
        &copy, resource,
        "{ops}: a refused PATCH changed the resource"
    );
}

fn accepted(
    registry: &Registry,
    rt: &str,
    options: PatchOptions,
    resource: &Value,
    ops: Value,
) -> Value {
    let mut copy = resource.clone();
    apply(registry, rt, options, &mut copy, &ops).unwrap_or_else(|e| panic!("{ops}: {e}"));
    copy
}

#[test]
fn a_filtered_replace_merges_but_never_changes_an_immutable_member_value() {
    let r = Registry::standard();
    let d = PatchOptions::default();
    for ops in [
        // The audit's case: the form with `.value` was refused, this one was not.
        json!([{"op": "replace", "path": "members[value eq \"u1\"]", "value": {"value": "u8"}}]),
        json!([{"op": "add", "path": "members[value eq \"u1\"]", "value": {"value": "u8"}}]),
        json!([{"op": "replace", "path": "members[value eq \"u1\"]", "value": {"type": "Group"}}]),
        json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u8"}]),
        json!([{"op": "replace", "path": "members[value eq \"u1\"].type", "value": "Group"}]),
        // Every member's value at once.
        json!([{"op": "replace", "path": "members.value", "value": "u9"}]),
        json!([{"op": "add", "path": "members.type", "value": "Group"}]),
        json!([{"op": "replace", "path": "members.value", "value": null}]),
        json!([{"op": "remove", "path": "members.value"}]),
        // A later operation's refusal undoes an earlier accepted one.
        json!([{"op": "replace", "path": "displayName", "value": "x"},
               {"op": "replace", "path": "members[value eq \"u2\"]", "value": {"value": "u1"}}]),
    ] {
        refused(&r, "Group", d, &group(), ops);
    }
    // Path-less, the Entra ID way (`members.value` as a key).
    refused(
        &r,
        "Group",
        PatchOptions::entra_id(),
        &group(),
        json!([{"op": "replace", "value": {"members.value": "u9"}}]),
    );

    // Merging other sub-attributes, or the value it has, is right.
    let g = accepted(
        &r,
        "Group",
        d,
        &group(),
        json!([{"op": "replace", "path": "members[value eq \"u1\"]",
                "value": {"value": "u1", "type": "User", "display": "ignored"}}]),
    );
    assert_eq!(g, group());
    let g = accepted(
        &r,
        "Group",
        d,
        &group(),
        json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u1"}]),
    );
    assert_eq!(g, group());
    // An immutable sub-attribute without a value may be given one.
    let g = accepted(
        &r,
        "Group",
        d,
        &group(),
        json!([{"op": "add", "path": "members[value eq \"u2\"].type", "value": "User"}]),
    );
    assert_eq!(g["members"][1], json!({"value": "u2", "type": "User"}));
    let g = accepted(
        &r,
        "Group",
        d,
        &group(),
        json!([{"op": "replace", "path": "members[value eq \"u2\"]", "value": {"type": "User"}}]),
    );
    assert_eq!(g["members"][1], json!({"value": "u2", "type": "User"}));
    // Replacing or extending the whole attribute is not a change of an existing value.
    let g = accepted(
        &r,
        "Group",
        d,
        &group(),
        json!([{"op": "replace", "path": "members", "value": [{"value": "u8"}]}]),
    );
    assert_eq!(g["members"], json!([{"value": "u8"}]));
    let g = accepted(
        &r,
        "Group",
        d,
        &group(),
        json!([{"op": "add", "path": "members", "value": [{"value": "u8"}]}]),
    );
    assert_eq!(g["members"][2], json!({"value": "u8"}));
}

#[test]
fn immutable_sub_attributes_of_any_attribute_keep_their_values() {
    let r = device_registry();
    let d = PatchOptions::default();
    for ops in [
        json!([{"op": "replace", "path": "serial", "value": {"vendor": "other"}}]),
        json!([{"op": "add", "path": "serial", "value": {"vendor": "other", "model": "m2"}}]),
        json!([{"op": "replace", "value": {"serial": {"vendor": "other"}}}]),
        json!([{"op": "add", "value": {"serial": {"vendor": "other"}}}]),
        json!([{"op": "replace", "path": "serial.vendor", "value": "other"}]),
        json!([{"op": "replace", "path": "serial", "value": {"vendor": null}}]),
        json!([{"op": "replace", "path": "ports[label eq \"a\"]", "value": {"id": "p9"}}]),
        json!([{"op": "add", "path": "ports[label eq \"a\"]", "value": {"id": "p9"}}]),
        json!([{"op": "replace", "path": "ports[id eq \"p1\"].id", "value": "p9"}]),
        json!([{"op": "replace", "path": "ports.id", "value": "p9"}]),
    ] {
        refused(&r, "Device", d, &device(), ops);
    }
    let dev = accepted(
        &r,
        "Device",
        d,
        &device(),
        json!([{"op": "replace", "path": "serial", "value": {"vendor": "acme", "model": "m2"}},
               {"op": "replace", "path": "ports[label eq \"a\"]", "value": {"id": "p1", "label": "c"}},
               {"op": "add", "path": "ports[label eq \"b\"].id", "value": "p2"}]),
    );
    assert_eq!(dev["serial"], json!({"vendor": "acme", "model": "m2"}));
    assert_eq!(
        dev["ports"],
        json!([{"id": "p1", "label": "c"}, {"id": "p2", "label": "b"}])
    );
    // A complex attribute without the immutable sub-attribute may be given it.
    let mut bare = device();
    bare["serial"] = json!({"model": "m1"});
    let dev = accepted(
        &r,
        "Device",
        d,
        &bare,
        json!([{"op": "add", "value": {"serial": {"vendor": "acme"}}}]),
    );
    assert_eq!(dev["serial"], json!({"vendor": "acme", "model": "m1"}));
}
