//! Every error type of the lower crates reaches the wire with the `scimType` string it had
//! when each crate reported it as text: the typed `ScimType` changed no byte of a response.

use scim_core::{ScimError, ScimType};
use scim_filter::{AttrPath, CompiledFilter, Filter, PatchPath};
use scim_patch::{PatchOptions, PatchRequest, Patcher};
use scim_schema::{IssueKind, Projection, Registry, ValidationOptions};
use serde_json::{json, Value};

/// The `scimType` member of the error body `e` becomes.
fn wire(e: impl Into<ScimError>) -> Value {
    e.into().to_json()["scimType"].clone()
}

#[test]
fn parse_and_compile_errors() {
    assert_eq!(
        wire(Filter::parse("userName eq").unwrap_err()),
        "invalidFilter"
    );
    assert_eq!(
        wire(PatchPath::parse("emails[type eq").unwrap_err()),
        "invalidPath"
    );
    assert_eq!(wire(AttrPath::parse("name.").unwrap_err()), "invalidPath");
    let filter = Filter::parse("active gt true").unwrap();
    let e = CompiledFilter::compile_schemaless(&filter).unwrap_err();
    assert_eq!(wire(e), "invalidFilter");
}

#[test]
fn validation_errors_and_issue_kinds() {
    let was = [
        (IssueKind::Required, "invalidValue"),
        (
            IssueKind::WrongType {
                expected: "a boolean",
                found: "a string",
            },
            "invalidValue",
        ),
        (
            IssueKind::InvalidValue {
                reason: "not a dateTime".into(),
            },
            "invalidValue",
        ),
        (IssueKind::MultiplePrimary, "invalidValue"),
        (IssueKind::UnknownAttribute, "invalidSyntax"),
        (IssueKind::Duplicate, "invalidSyntax"),
        (
            IssueKind::Schemas {
                reason: "missing".into(),
            },
            "invalidSyntax",
        ),
        (IssueKind::NotAnObject, "invalidSyntax"),
        (IssueKind::Immutable, "mutability"),
        (IssueKind::ReadOnly, "mutability"),
    ];
    for (kind, before) in was {
        assert_eq!(kind.scim_type().as_str(), before, "{kind:?}");
    }
    let registry = Registry::standard();
    let users = registry.resource_type("User").unwrap();
    let missing_user_name = users
        .validate_create(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
            &ValidationOptions::default(),
        )
        .unwrap_err();
    assert_eq!(wire(missing_user_name), "invalidValue");
    let twice = scim_schema::check_distinct_names(&json!({"a": 1, "A": 2}), "").unwrap_err();
    assert_eq!(wire(twice), "invalidSyntax");
}

#[test]
fn projection_errors() {
    let registry = Registry::standard();
    let users = registry.resource_type("User").unwrap();
    let e = Projection::parse(&users, Some("name."), None).unwrap_err();
    assert_eq!(wire(e), "invalidPath");
}

#[test]
fn patch_errors_of_every_kind() {
    let registry = Registry::standard();
    let users = registry.resource_type("User").unwrap();
    let message = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let apply = |ops: Value| {
        let options = PatchOptions::default();
        let request = PatchRequest::from_json(&message(ops), &options)?;
        let mut user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223", "userName": "bjensen"});
        Patcher::new(users, options).apply(&mut user, &request)
    };
    let too_many = PatchRequest::from_json(
        &message(json!([{"op": "add", "path": "title", "value": "a"},
                        {"op": "add", "path": "title", "value": "b"}])),
        &PatchOptions::default().max_operations(1),
    )
    .unwrap_err();
    assert_eq!(wire(too_many), "invalidSyntax");
    let cases = [
        (json!([{"op": "delete", "path": "title"}]), "invalidSyntax"),
        (
            json!([{"op": "replace", "path": "nope", "value": 1}]),
            "invalidPath",
        ),
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "active", "value": "yes"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": "id", "value": "other"}]),
            "mutability",
        ),
    ];
    for (ops, before) in cases {
        let e = apply(ops.clone()).unwrap_err();
        assert_eq!(wire(e), before, "{ops}");
    }
}

#[test]
fn engine_types_spell_as_the_rfc() {
    for t in ScimType::ALL.into_iter().chain([ScimType::InvalidCursor]) {
        let body = ScimError::bad_request(t, "x").to_json();
        assert_eq!(body["scimType"], t.as_str());
        assert_eq!(t.as_str().parse(), Ok(t));
    }
}
