//! `schemas` follows the extensions' data (RFC 7643 §3): a PATCH that gives an extension its
//! first attribute lists the extension's URN, one that removes its last attribute drops the
//! empty extension object and the URN. The result is then a valid PUT body (it failed with
//! 400 `invalidSyntax` when the URN was missing).

use scim_patch::{PatchError, PatchOptions, PatchRequest, Patcher};
use scim_schema::{AttrType, Attribute, Registry, ResourceType, Schema, ValidationOptions};
use serde_json::{json, Value};

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn patch(
    registry: &Registry,
    options: PatchOptions,
    schemaless: bool,
    resource: &mut Value,
    ops: &Value,
) -> Result<bool, PatchError> {
    let rt = registry.resource_type("User").unwrap();
    let message =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let request = PatchRequest::from_json(&message, &options)?;
    let patcher = if schemaless {
        Patcher::schemaless(options)
    } else {
        Patcher::new(rt, options)
    };
    patcher.apply(resource, &request).map(|o| o.changed)
}

fn core_only() -> Value {
    json!({"schemas": [CORE], "id": "1", "userName": "bjensen"})
}

fn with_enterprise(attrs: Value) -> Value {
    json!({"schemas": [CORE, ENT], "id": "1", "userName": "bjensen", ENT: attrs})
}

/// What a PUT of `resource` (as the current resource) says: the RFC's own check.
fn valid_put(registry: &Registry, resource: &Value) -> Result<(), String> {
    let rt = registry.resource_type("User").unwrap();
    rt.validate_replace(resource.clone(), resource, &ValidationOptions::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn an_extension_that_gains_data_is_listed() {
    let r = Registry::standard();
    let cases = [
        (
            PatchOptions::default(),
            json!([{"op": "add", "path": format!("{ENT}:employeeNumber"), "value": "701984"}]),
        ),
        (
            PatchOptions::default(),
            json!([{"op": "replace", "path": format!("{ENT}:manager.value"), "value": "m1"}]),
        ),
        (
            PatchOptions::default(),
            json!([{"op": "add", "value": {ENT: {"department": "Tours"}}}]),
        ),
        (
            PatchOptions::default(),
            json!([{"op": "replace", "path": ENT, "value": {"costCenter": "4130"}}]),
        ),
        // The URN spelt in another case; a path-less URN-qualified key (Entra ID).
        (
            PatchOptions::default(),
            json!([{"op": "add", "path": format!("{}:division", ENT.to_lowercase()), "value": "d"}]),
        ),
        (
            PatchOptions::entra_id(),
            json!([{"op": "add", "value": {format!("{ENT}:organization"): "Org"}}]),
        ),
        (
            PatchOptions::entra_id(),
            json!([{"op": "add", "path": "employeeNumber", "value": "7"}]),
        ),
    ];
    for (options, ops) in cases {
        let mut u = core_only();
        patch(&r, options, false, &mut u, &ops).unwrap_or_else(|e| panic!("{ops}: {e}"));
        assert_eq!(u["schemas"], json!([CORE, ENT]), "{ops}: {u}");
        valid_put(&r, &u).unwrap_or_else(|e| panic!("{ops}: PUT of the result: {e}"));
        // Listed once, however often the data grows.
        let again = json!([{"op": "add", "path": format!("{ENT}:department"), "value": "x"}]);
        patch(&r, options, false, &mut u, &again).unwrap();
        assert_eq!(u["schemas"], json!([CORE, ENT]), "{ops}: {u}");
    }
}

#[test]
fn an_extension_left_without_data_is_dropped() {
    let r = Registry::standard();
    for ops in [
        json!([{"op": "remove", "path": format!("{ENT}:employeeNumber")}]),
        json!([{"op": "replace", "path": format!("{ENT}:employeeNumber"), "value": null}]),
        json!([{"op": "replace", "value": {ENT: {"employeeNumber": null}}}]),
        json!([{"op": "add", "path": format!("{ENT}:department"), "value": "x"},
               {"op": "remove", "path": format!("{ENT}:department")},
               {"op": "remove", "path": format!("{ENT}:employeeNumber")}]),
    ] {
        let mut u = with_enterprise(json!({"employeeNumber": "1"}));
        patch(&r, PatchOptions::default(), false, &mut u, &ops)
            .unwrap_or_else(|e| panic!("{ops}: {e}"));
        assert_eq!(u, core_only(), "{ops}");
        valid_put(&r, &u).unwrap_or_else(|e| panic!("{ops}: {e}"));
    }
    // One attribute of two removed: the extension stays listed.
    let mut u = with_enterprise(json!({"employeeNumber": "1", "department": "d"}));
    let ops = json!([{"op": "remove", "path": format!("{ENT}:department")}]);
    patch(&r, PatchOptions::default(), false, &mut u, &ops).unwrap();
    assert_eq!(u, with_enterprise(json!({"employeeNumber": "1"})));
}

/// Without a schema, the same rule for `urn:` keys outside the core schemas.
#[test]
fn schemaless_patches_follow_the_same_rule() {
    let r = Registry::standard();
    let mut u = core_only();
    let add = json!([{"op": "add", "path": format!("{ENT}:employeeNumber"), "value": "1"}]);
    patch(&r, PatchOptions::default(), true, &mut u, &add).unwrap();
    assert_eq!(u, with_enterprise(json!({"employeeNumber": "1"})));
    let remove = json!([{"op": "remove", "path": format!("{ENT}:employeeNumber")}]);
    patch(&r, PatchOptions::default(), true, &mut u, &remove).unwrap();
    assert_eq!(u, core_only());
}

/// A request that fails leaves `schemas` as it was; one that changes nothing, or changes
/// something else, leaves a listing without data alone.
#[test]
fn schemas_change_only_with_the_data() {
    let r = Registry::standard();
    let mut u = core_only();
    let ops = json!([{"op": "add", "path": format!("{ENT}:employeeNumber"), "value": "1"},
                     {"op": "replace", "path": "active", "value": "not a boolean"}]);
    assert!(patch(&r, PatchOptions::default(), false, &mut u, &ops).is_err());
    assert_eq!(u, core_only());

    let listed_empty = json!({"schemas": [CORE, ENT], "id": "1", "userName": "bjensen"});
    let mut u = listed_empty.clone();
    let ops = json!([{"op": "replace", "path": "title", "value": "Boss"}]);
    patch(&r, PatchOptions::default(), false, &mut u, &ops).unwrap();
    assert_eq!(u["schemas"], json!([CORE, ENT]));
    let mut u = listed_empty.clone();
    let ops = json!([{"op": "remove", "path": format!("{ENT}:employeeNumber")}]);
    assert!(!patch(&r, PatchOptions::default(), false, &mut u, &ops).unwrap());
    assert_eq!(u, listed_empty);
}

/// A required extension cannot lose its last attribute, as a required attribute cannot be
/// removed (400 `invalidValue`).
#[test]
fn a_required_extension_keeps_an_attribute() {
    let badge = "urn:example:params:scim:schemas:extension:Badge";
    let r = Registry::standard_builder()
        .schema(
            Schema::new(badge, "Badge")
                .with_attribute(Attribute::new("number", AttrType::String))
                .with_attribute(Attribute::new("color", AttrType::String)),
        )
        .resource_type(ResourceType::new("Badged", "/Badged", CORE).with_extension(badge, true))
        .build()
        .unwrap();
    let rt = r.resource_type("Badged").unwrap();
    let original =
        json!({"schemas": [CORE, badge], "id": "1", "userName": "b", badge: {"number": "7"}});
    let mut u = original.clone();
    let message = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("{badge}:number")}]});
    let request = PatchRequest::from_json(&message, &PatchOptions::default()).unwrap();
    let err = Patcher::new(rt, PatchOptions::default())
        .apply(&mut u, &request)
        .unwrap_err();
    assert_eq!(err.scim_type(), "invalidValue", "{err}");
    assert_eq!(u, original);
}
