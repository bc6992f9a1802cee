//! Documents stay canonical: no PATCH leaves two keys that differ only in case (a store
//! that searches with case-insensitive names cannot tell which one a filter means). A name
//! spelt otherwise than the resource spells it writes to the resource's key; a value that
//! spells one name twice is refused (`invalidSyntax`), as validation refuses such a document.

use scim_patch::{PatchOptions, PatchRequest, Patcher};
use scim_schema::Registry;
use serde_json::{json, Map, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn apply(resource: &mut Value, ops: Value, schemaless: bool) {
    let registry = Registry::standard();
    let rt = registry.resource_type("User").expect("User");
    let options = PatchOptions::default();
    let message =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let request = PatchRequest::from_json(&message, &options).unwrap_or_else(|e| panic!("{e}"));
    let patcher = if schemaless {
        Patcher::schemaless(options)
    } else {
        Patcher::new(rt, options)
    };
    patcher
        .apply(resource, &request)
        .unwrap_or_else(|e| panic!("{ops}: {e}", ops = message["Operations"]));
}

/// Every object in `v`, at any depth, has keys distinct ignoring case.
fn assert_canonical(v: &Value, context: &str) {
    match v {
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().map(|k| k.to_ascii_lowercase()).collect();
            let mut distinct = keys.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), keys.len(), "{context}: {v}");
            o.values().for_each(|v| assert_canonical(v, context));
        }
        Value::Array(items) => items.iter().for_each(|v| assert_canonical(v, context)),
        _ => {}
    }
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@x", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "1"}
    })
}

#[test]
fn patches_spelt_in_another_case_merge_into_the_key() {
    let upper_ext = ENTERPRISE.to_uppercase();
    let cases = [
        // A value without path that spells an attribute, a sub-attribute or an extension
        // otherwise.
        json!([{"op": "add", "value": {"USERNAME": "b"}}]),
        json!([{"op": "replace", "value": {"name": {"GIVENNAME": "B"}}}]),
        json!([{"op": "add", "value": {"NAME": {"givenname": "B", "FamilyName": "J"}}}]),
        json!([{"op": "replace", "value": {upper_ext.clone(): {"EMPLOYEENUMBER": "2"}}}]),
        json!([{"op": "add", "value": {upper_ext.clone(): {"department": "x"}}}]),
        // A path spelt otherwise.
        json!([{"op": "replace", "path": "NAME.GIVENNAME", "value": "B"}]),
        json!([{"op": "add", "path": "name.FAMILYNAME", "value": "J"}]),
        json!([{"op": "replace", "path": "EMAILS.TYPE", "value": "home"}]),
        json!([{"op": "replace", "path": format!("{upper_ext}:employeeNumber"), "value": "3"}]),
        json!([{"op": "add", "path": "Name", "value": {"GivenName": "B"}}]),
    ];
    for ops in cases {
        for schemaless in [false, true] {
            let mut u = user();
            apply(&mut u, ops.clone(), schemaless);
            assert_canonical(&u, &format!("{ops} (schemaless: {schemaless})"));
        }
    }
}

/// With the schema, a sub-attribute written in another case takes the schema's spelling,
/// and the value is the one written.
#[test]
fn the_schema_spelling_wins() {
    let mut u = user();
    apply(
        &mut u,
        json!([{"op": "replace", "value": {"name": {"GIVENNAME": "B", "MIDDLENAME": "M"}}}]),
        false,
    );
    let mut name = Map::new();
    name.insert("givenName".into(), json!("B"));
    name.insert("familyName".into(), json!("Jensen"));
    name.insert("middleName".into(), json!("M"));
    let got = u["name"].as_object().cloned().unwrap_or_default();
    assert_eq!(
        got.into_iter()
            .collect::<std::collections::BTreeMap<_, _>>(),
        name.into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
    );
    apply(
        &mut u,
        json!([{"op": "replace", "path": "name.FAMILYNAME", "value": "J"}]),
        false,
    );
    assert_eq!(u["name"]["familyName"], json!("J"));
    assert!(u["name"].get("FAMILYNAME").is_none(), "{u}");
}

/// A PATCH value whose object, at any depth, has two keys that differ only in case names one
/// attribute twice: refused with 400 `invalidSyntax` and the wording validation uses for a
/// POST body, before anything is applied — in every profile, so for an applier with or
/// without schema (these were merged, one spelling silently winning).
#[test]
fn values_that_spell_a_name_twice_are_refused() {
    let ent = ENTERPRISE;
    let cases = [
        json!([{"op": "add", "value": {"name.givenName": "a", "NAME.GIVENNAME": "b"}}]),
        json!([{"op": "add", "value": {"userName": "a", "USERNAME": "b"}}]),
        json!([{"op": "replace", "value": {"name": {"givenName": "a", "GIVENNAME": "b"}}}]),
        json!([{"op": "add", "path": "name", "value": {"givenName": "a", "GivenName": "b"}}]),
        json!([{"op": "add", "path": "emails", "value": [{"value": "c@x", "VALUE": "d@x"}]}]),
        json!([{"op": "replace", "path": "emails[type eq \"work\"]",
                "value": {"display": "a", "Display": "b"}}]),
        json!([{"op": "replace", "value": {ent: {"employeeNumber": "2", "EMPLOYEENUMBER": "3"}}}]),
        json!([{"op": "add", "value": {ent: {"manager": {"value": "m1", "vALUE": "m2"}}}}]),
        json!([{"op": "add", "value": {ent: {"department": "x"}, ent.to_uppercase(): {"department": "y"}}}]),
        // The second operation is the bad one: its index is reported.
        json!([{"op": "replace", "path": "title", "value": "t"},
               {"op": "add", "value": {"emails": [{"type": "home", "value": "e@x", "TYPE": "work"}]}}]),
    ];
    for ops in cases {
        for options in [
            PatchOptions::default(),
            PatchOptions::entra_id(),
            PatchOptions::lenient(),
        ] {
            let message = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": ops});
            let err = PatchRequest::from_json(&message, &options)
                .err()
                .unwrap_or_else(|| panic!("accepted: {ops}"));
            assert_eq!(err.scim_type(), "invalidSyntax", "{ops}: {err}");
            assert_eq!(err.status(), 400);
            assert!(
                err.to_string().contains("appears more than once"),
                "{ops}: {err}"
            );
            let last = ops.as_array().map_or(0, |o| o.len() - 1);
            assert_eq!(err.operation(), Some(last), "{ops}: {err}");
        }
    }
    // The same names in different objects, or differing in more than case, are fine.
    let mut u = user();
    apply(
        &mut u,
        json!([{"op": "add", "value": {"name": {"givenName": "a"}, "emails": [
            {"value": "c@x", "type": "work"}, {"value": "d@x", "type": "home"}]}}]),
        false,
    );
    assert_eq!(u["name"]["givenName"], "a");
}
