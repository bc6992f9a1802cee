//! `tests/data/patch.jsonl` as data-driven tests, with an expected-failure list.

use std::collections::HashMap;

use scim_patch::{PatchOptions, PatchRequest, Patcher, Profile};
use scim_schema::{AttrType, Attribute, Mutability, Registry, ResourceType, Returned, Schema};
use serde_json::{json, Value};

/// scimmy's test schema (corpus README).
fn scimmy_registry() -> Registry {
    let immutable = |a: Attribute| a.mutability(Mutability::Immutable);
    let schema = Schema::new("urn:ietf:params:scim:schemas:Test", "Test")
        .with_attribute(Attribute::new("userName", AttrType::String).required(true))
        .with_attribute(Attribute::new("displayName", AttrType::String))
        .with_attribute(Attribute::new("nickName", AttrType::String))
        .with_attribute(
            Attribute::new("password", AttrType::String)
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
        )
        .with_attribute(
            Attribute::new("name", AttrType::Complex).sub_attributes(vec![
                Attribute::new("formatted", AttrType::String),
                Attribute::new("honorificPrefix", AttrType::String),
            ]),
        )
        .with_attribute(
            Attribute::new("emails", AttrType::Complex)
                .multi_valued(true)
                .sub_attributes(vec![
                    Attribute::new("value", AttrType::String),
                    Attribute::new("type", AttrType::String),
                ]),
        )
        .with_attribute(Attribute::new("throws", AttrType::String))
        .with_attribute(Attribute::new("date", AttrType::DateTime))
        .with_attribute(
            Attribute::new("members", AttrType::Complex)
                .multi_valued(true)
                .sub_attributes(vec![
                    immutable(Attribute::new("value", AttrType::String)),
                    immutable(Attribute::new("display", AttrType::String)),
                    immutable(
                        Attribute::new("$ref", AttrType::Reference)
                            .reference_types(["User", "Group"]),
                    ),
                    immutable(Attribute::new("type", AttrType::String)),
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

/// Cases expected to fail, each with the reason.
const XFAIL: &[(&str, &str)] = &[
    (
        "scim-patch/replace-nested-array-element",
        "a value filter on a sub-attribute (`name.nestedArray[...]`) addresses a third level; RFC 7643 attributes have two (attribute, sub-attribute) and RFC 7644 §3.5.2 PATH allows a filter only on an attrPath, here we answer invalidPath",
    ),
    (
        "scim-patch/add-nested-array-element",
        "a value filter on a sub-attribute (`name.nestedArray[...]`) addresses a third level; RFC 7643 attributes have two (attribute, sub-attribute) and RFC 7644 §3.5.2 PATH allows a filter only on an attrPath, here we answer invalidPath",
    ),
    (
        "scim-patch/add-should-not-modify-anything-if-element-not-found",
        "a value filter on a sub-attribute (`name.nestedArray[...]`) addresses a third level; RFC 7643 attributes have two (attribute, sub-attribute) and RFC 7644 §3.5.2 PATH allows a filter only on an attrPath, here we answer invalidPath",
    ),
    (
        "scim-patch/add-empty-array-add-filter-type-field-2nd-level",
        "a value filter on a sub-attribute (`name.nestedArray[...]`) addresses a third level; RFC 7643 attributes have two (attribute, sub-attribute) and RFC 7644 §3.5.2 PATH allows a filter only on an attrPath, here we answer invalidPath",
    ),
    (
        "scim-patch/remove-nested-array-element",
        "a value filter on a sub-attribute (`name.nestedArray[...]`) addresses a third level; RFC 7643 attributes have two (attribute, sub-attribute) and RFC 7644 §3.5.2 PATH allows a filter only on an attrPath, here we answer invalidPath",
    ),
    (
        "scim-patch/remove-empty-array-should-be-unassigned",
        "a value filter on a sub-attribute (`name.nestedArray[...]`) addresses a third level; RFC 7643 attributes have two (attribute, sub-attribute) and RFC 7644 §3.5.2 PATH allows a filter only on an attrPath, here we answer invalidPath",
    ),
    (
        "scim-patch/add-impossible-to-add-a-non-object-value-to-an-object-key",
        "refused as the source does, but with invalidValue: RFC 7644 §3.12 gives invalidValue for a value incompatible with the attribute, invalidSyntax is for a malformed message",
    ),
    (
        "scim-patch/add-on-array-attribute-when-path-is-absent-value-is-array-should-append-all-valu",
        "scim-patch leaves three primary emails; RFC 7644 §3.5.2 single-primary rule: the value this request set primary wins, the others become false",
    ),
    (
        "scim-patch/add-on-array-attribute-when-path-is-absent-value-is-non-array-should-append-the",
        "scim-patch leaves two primary emails; RFC 7644 §3.5.2 single-primary rule",
    ),
    (
        "scim-patch/remove-with-unavailable-nested-fields",
        "a four-level path is outside the RFC 7644 §3.5.2 PATH grammar (attrPath has at most one subAttr): invalidPath",
    ),
    (
        "scim-patch/invalid-search-on-a-mono-valued-attribute",
        "refused as the source does, but with invalidPath: a value filter on a single-valued attribute is a path that cannot apply (RFC 7644 §3.12), not a malformed message",
    ),
    (
        "scim-patch/add-with-extension-schema-path",
        "scim-patch adds the enterprise attribute but leaves `schemas` without the extension's URN; RFC 7643 §3: `schemas` lists the schemas whose attributes the resource has (without it the resource fails its own PUT), so we list it",
    ),
    (
        "scimmy/patch-replace-2",
        "scimmy replaces the whole complex `name`; RFC 7644 §3.5.2.3: sub-attributes not in the value are left unchanged",
    ),
];

fn strip(v: &Value, keys: &[&str]) -> Value {
    let mut v = v.clone();
    if let Value::Object(m) = &mut v {
        for k in keys {
            m.remove(*k);
        }
    }
    v
}

fn run(case: &Value, scimmy: &Registry) -> Result<(), String> {
    let id = case["id"].as_str().unwrap_or("");
    let is_scimmy = case.get("schema").is_some();
    let conflict = case["rfc_conflict"].as_bool().unwrap_or(false);
    // scim-patch cases are schema-less and lenient (corpus README); scimmy's run strict,
    // with `remove` + value (which scimmy supports outside the RFC) enabled where used.
    let removes_with_value = case["operations"].as_array().is_some_and(|ops| {
        ops.iter()
            .any(|o| o["op"] == "remove" && o.get("value").is_some())
    });
    let options = if !is_scimmy {
        PatchOptions::lenient()
    } else if removes_with_value {
        let mut profile = Profile::default();
        profile.remove_with_value = true;
        PatchOptions::default().profile(profile)
    } else {
        PatchOptions::default()
    };
    let message = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": case["operations"]});
    let before = case["resource"].clone();
    let mut resource = before.clone();
    let result = PatchRequest::from_json(&message, &options).and_then(|req| {
        if is_scimmy {
            let rt = scimmy.resource_type("Test").unwrap();
            Patcher::new(rt, options).apply(&mut resource, &req)
        } else {
            Patcher::schemaless(options).apply(&mut resource, &req)
        }
    });
    match (&result, case.get("expected"), case.get("error")) {
        (Ok(_), Some(expected), _) => {
            if conflict {
                // The RFC asks for something else than the source did: an error, or
                // another result.
                if resource == *expected {
                    return Err(format!(
                        "{id}: rfc_conflict case gave the source's (non-RFC) result"
                    ));
                }
                return Ok(());
            }
            let (got, want) = if is_scimmy {
                (
                    strip(&resource, &["schemas", "meta"]),
                    strip(expected, &["schemas", "meta"]),
                )
            } else {
                (resource.clone(), expected.clone())
            };
            if got != want {
                return Err(format!("result differs:\n   got  {got}\n   want {want}"));
            }
        }
        (Err(e), Some(_), _) => {
            if !conflict {
                return Err(format!("refused: {} ({})", e, e.scim_type()));
            }
            if resource != before {
                return Err("refused but the resource changed".into());
            }
        }
        (Ok(_), None, Some(err)) => {
            return Err(format!("applied; expected {} error", err["scimType"]));
        }
        (Err(e), None, Some(err)) => {
            if resource != before {
                return Err("refused but the resource changed".into());
            }
            let want = err["scimType"].as_str().unwrap_or("");
            if e.scim_type() != want && !conflict {
                return Err(format!("scimType {} ({e}), expected {want}", e.scim_type()));
            }
        }
        _ => return Err("malformed case".into()),
    }
    Ok(())
}

#[test]
fn patch_corpus() {
    let text = include_str!("../data/patch.jsonl");
    let cases: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let xfail: HashMap<&str, &str> = XFAIL.iter().copied().collect();
    let scimmy = scimmy_registry();
    let mut problems = Vec::new();
    let (mut passed, mut xfailed) = (0, 0);
    for case in &cases {
        let id = case["id"].as_str().unwrap();
        match (run(case, &scimmy), xfail.get(id)) {
            (Ok(()), None) => passed += 1,
            (Err(_), Some(_)) => xfailed += 1,
            (Ok(()), Some(r)) => problems.push(format!("{id}: expected to fail ({r}) but passes")),
            (Err(why), None) => {
                problems.push(format!("{id}: {why}\n    ops: {}", case["operations"]))
            }
        }
    }
    eprintln!(
        "patch.jsonl: {} cases, {passed} pass, {xfailed} expected failures",
        cases.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
