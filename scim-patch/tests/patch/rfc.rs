//! RFC 7644 §3.5.2 examples, the Gluu guide's PATCH example, the IdP profiles, mutability,
//! atomicity and the delta.

use scim_patch::{ChangeKind, NormalizationKind, PatchOptions, PatchRequest, Patcher, PrimaryRule};
use scim_schema::Registry;
use serde_json::{json, Value};

fn registry() -> Registry {
    Registry::standard()
}

fn patch(
    rt: &str,
    options: PatchOptions,
    resource: &mut Value,
    ops: Value,
) -> Result<scim_patch::PatchOutcome, scim_patch::PatchError> {
    let r = registry();
    let rt = r.resource_type(rt).unwrap();
    let message =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let request = PatchRequest::from_json(&message, &options)?;
    Patcher::new(rt, options).apply(resource, &request)
}

fn ok(rt: &str, resource: &mut Value, ops: Value) -> scim_patch::PatchOutcome {
    patch(rt, PatchOptions::default(), resource, ops).unwrap_or_else(|e| panic!("{e}"))
}

fn err(rt: &str, resource: &Value, ops: Value) -> scim_patch::PatchError {
    let mut copy = resource.clone();
    let e = patch(rt, PatchOptions::default(), &mut copy, ops).expect_err("should fail");
    assert_eq!(&copy, resource, "a failed PATCH changed the resource");
    e
}

fn group() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "acbf3ae7-8463-4692-b4fd-9b4da3f908ce",
        "displayName": "Tour Guides",
        "members": [{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
                    {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}]})
}

fn user() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646", "userName": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "manager": {"value": "26118915"}}})
}

#[test]
fn rfc_add_member_and_no_path_add() {
    let mut g = group();
    let out = ok(
        "Group",
        &mut g,
        json!([{"op": "add", "path": "members", "value": [
        {"display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904647", "value": "2819c223-7f76-453a-919d-413861904647"}]}]),
    );
    assert_eq!(g["members"].as_array().unwrap().len(), 3);
    // `display` is readOnly: what the client sent is ignored.
    assert_eq!(
        g["members"][2],
        json!({"$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904647", "value": "2819c223-7f76-453a-919d-413861904647"})
    );
    let change = out.delta.get("members").unwrap();
    assert_eq!(change.added.len(), 1);
    assert!(change.removed.is_empty());
    // Adding the same member again changes nothing.
    let again = ok(
        "Group",
        &mut g,
        json!([{"op": "add", "path": "members", "value": [{"$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904647", "value": "2819c223-7f76-453a-919d-413861904647"}]}]),
    );
    assert!(!again.changed);
    assert_eq!(g["members"].as_array().unwrap().len(), 3);

    let mut u = user();
    ok(
        "User",
        &mut u,
        json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}, {"value": "b@new.org", "type": "other"}], "nickName": "Babs"}}]),
    );
    assert_eq!(u["nickName"], "Babs");
    assert_eq!(
        u["emails"].as_array().unwrap().len(),
        3,
        "exact duplicate skipped"
    );
}

#[test]
fn rfc_remove() {
    let mut g = group();
    let out = ok(
        "Group",
        &mut g,
        json!([{"op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}]),
    );
    assert_eq!(
        g["members"],
        json!([{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}])
    );
    assert_eq!(out.delta.get("members").unwrap().removed.len(), 1);
    // Removing the last member leaves the attribute unassigned.
    let out = ok(
        "Group",
        &mut g,
        json!([{"op": "remove", "path": "members[value eq \"902c246b-6245-4190-8e05-00816be7344a\"]"}]),
    );
    assert!(g.get("members").is_none());
    assert_eq!(out.delta.get("members").unwrap().kind, ChangeKind::Removed);
    let mut g = group();
    ok(
        "Group",
        &mut g,
        json!([{"op": "remove", "path": "members"}]),
    );
    assert!(g.get("members").is_none());
    // Remove then add: replace all members.
    let mut g = group();
    ok(
        "Group",
        &mut g,
        json!([{"op": "remove", "path": "members"}, {"op": "add", "path": "members", "value": [{"value": "x1"}]}]),
    );
    assert_eq!(g["members"], json!([{"value": "x1"}]));
    let mut u = user();
    ok(
        "User",
        &mut u,
        json!([{"op": "remove", "path": "x509Certificates[value eq \"MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw\"]"},
        {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]),
    );
    assert!(u.get("x509Certificates").is_none());
    assert_eq!(
        u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        json!({"employeeNumber": "701984"})
    );
    let e = err("User", &user(), json!([{"op": "remove"}]));
    assert_eq!(e.scim_type(), "noTarget");
}

#[test]
fn rfc_replace() {
    let mut g = group();
    ok(
        "Group",
        &mut g,
        json!([{"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]),
    );
    assert_eq!(g["members"], json!([{"value": "a"}, {"value": "b"}]));
    let mut u = user();
    ok(
        "User",
        &mut u,
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {"type": "work", "streetAddress": "911 Universal City Plaza", "primary": true}}]),
    );
    assert_eq!(
        u["addresses"][0]["streetAddress"],
        "911 Universal City Plaza"
    );
    assert_eq!(u["addresses"][0]["locality"], "Hollywood");
    ok(
        "User",
        &mut u,
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
    );
    assert_eq!(u["addresses"][0]["streetAddress"], "1010 Broadway Ave");
    // No-path replace: a multi-valued attribute has all its values replaced.
    ok(
        "User",
        &mut u,
        json!([{"op": "replace", "value": {"emails": [{"value": "only@x.org", "type": "work"}], "nickName": "Babs"}}]),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "only@x.org", "type": "work"}])
    );
    // A filter that matches nothing: noTarget.
    let e = err(
        "User",
        &user(),
        json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x@y"}]),
    );
    assert_eq!(e.scim_type(), "noTarget");
    // emails[type eq "work"].value replaces just that sub-attribute.
    let mut u = user();
    ok(
        "User",
        &mut u,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]),
    );
    assert_eq!(
        u["emails"][0],
        json!({"value": "new@example.com", "type": "work", "primary": true})
    );
    assert_eq!(u["emails"][1]["value"], "babs@jensen.org");
}

#[test]
fn extension_urn_paths_are_not_split() {
    let mut u = user();
    ok(
        "User",
        &mut u,
        json!([
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "42"},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"costCenter": "CC-1"}}]),
    );
    let ext = &u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(ext["department"], "R&D");
    assert_eq!(ext["manager"]["value"], "42");
    assert_eq!(ext["costCenter"], "CC-1");
    assert_eq!(ext["employeeNumber"], "701984");
    assert!(u
        .get("urn:ietf:params:scim:schemas:extension:enterprise:2")
        .is_none());
    // A user without the extension gets the extension object.
    let mut plain = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "x"});
    ok(
        "User",
        &mut plain,
        json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "7"}]),
    );
    assert_eq!(
        plain["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "7"
    );
}

#[test]
fn mutability_and_required() {
    let u = user();
    for (ops, scim_type) in [
        (
            json!([{"op": "replace", "path": "id", "value": "other"}]),
            "mutability",
        ),
        (
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            "mutability",
        ),
        (json!([{"op": "remove", "path": "meta"}]), "mutability"),
        (
            json!([{"op": "remove", "path": "userName"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "yes"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": "nope", "value": 1}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "name.nope", "value": 1}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq", "value": 1}]),
            "invalidPath",
        ),
        (json!([{"op": "delete", "path": "title"}]), "invalidSyntax"),
    ] {
        let e = err("User", &u, ops.clone());
        assert_eq!(e.scim_type(), scim_type, "{ops}: {e}");
    }
    // Immutable: settable once.
    let g = group();
    let e = err(
        "Group",
        &g,
        json!([{"op": "replace", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"].value", "value": "other"}]),
    );
    assert_eq!(e.scim_type(), "mutability");
}

#[test]
fn atomic_on_a_late_failure() {
    let before = user();
    let e = err(
        "User",
        &before,
        json!([
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "add", "path": "emails", "value": [{"value": "n@x.org", "primary": true}]},
        {"op": "remove", "path": "emails[type eq \"home\"]"},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "value": "CC"},
        {"op": "replace", "path": "active", "value": "not a boolean"}]),
    );
    assert_eq!(e.operation(), Some(4));
    assert_eq!(e.scim_type(), "invalidValue");
}

#[test]
fn gluu_guide_patch_example() {
    let after_put = || {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "joe", "userName": "ajsmith",
        "name": {"familyName": "Smith", "givenName": "Joe"}, "displayName": "Joe Smith",
        "emails": [{"value": "jsmith@example.com", "type": "work", "primary": true}]})
    };
    let ops = json!([
        {"op": "replace", "value": {"name": {"givenName": "Joey"}}},
        {"op": "replace", "path": "emails[type eq \"work\" or primary eq false].value", "value": "jsmith@example.com"},
        {"op": "add", "value": {"name": {"middleName": "Jhon"}}},
        {"op": "add", "value": {"emails": [{"primary": true, "value": "my@own.mail"}],
            "phoneNumbers": [{"type": "home", "value": "5 123 8901"}, {"value": "5 123 8902"}]}},
        {"op": "remove", "path": "name.middleName"},
        {"op": "remove", "path": "phoneNumbers[value ew \"01\"].type"}]);
    // The RFC outcome: the value this request made primary wins.
    let mut u = after_put();
    patch("User", PatchOptions::default(), &mut u, ops.clone()).unwrap();
    assert_eq!(
        u["name"],
        json!({"familyName": "Smith", "givenName": "Joey"})
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "jsmith@example.com", "type": "work", "primary": false}, {"value": "my@own.mail", "primary": true}])
    );
    assert_eq!(
        u["phoneNumbers"],
        json!([{"value": "5 123 8901"}, {"value": "5 123 8902"}])
    );
    // Gluu's outcome, with the option that keeps the existing primary.
    let mut u = after_put();
    patch(
        "User",
        PatchOptions::default().primary_rule(PrimaryRule::KeepExisting),
        &mut u,
        ops,
    )
    .unwrap();
    assert_eq!(
        u["emails"],
        json!([{"value": "jsmith@example.com", "type": "work", "primary": true}, {"value": "my@own.mail", "primary": false}])
    );
}

#[test]
fn entra_id_profile() {
    let mut u = user();
    let out = patch("User", PatchOptions::entra_id(), &mut u, json!([
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "manager-id"},
        {"op": "Replace", "path": "displayName", "value": ["One"]},
        {"op": "Add", "value": {"name.givenName": "Babs", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tours"}}])).unwrap();
    assert_eq!(u["active"], false);
    assert_eq!(
        u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
        json!({"value": "manager-id"})
    );
    assert_eq!(u["displayName"], "One");
    assert_eq!(u["name"]["givenName"], "Babs");
    assert_eq!(
        u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Tours"
    );
    let kinds: Vec<&NormalizationKind> = out.normalizations.iter().map(|n| &n.kind).collect();
    assert!(kinds.iter().any(|k| matches!(k, NormalizationKind::OpCase)));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, NormalizationKind::PathKey(_))));
    assert!(
        kinds
            .iter()
            .filter(|k| matches!(k, NormalizationKind::Value(_)))
            .count()
            >= 3,
        "{kinds:?}"
    );
    // add to emails[type eq "work"].value without a work email creates one.
    let mut u = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "x",
        "emails": [{"value": "h@x.org", "type": "home"}]});
    patch(
        "User",
        PatchOptions::entra_id(),
        &mut u,
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@x.org"}]),
    )
    .unwrap();
    assert_eq!(u["emails"][1], json!({"type": "work", "value": "w@x.org"}));
    // The strict default refuses all of these.
    for ops in [
        json!([{"op": "Replace", "path": "active", "value": false}]),
        json!([{"op": "replace", "path": "active", "value": "False"}]),
        json!([{"op": "add", "path": "emails[type eq \"other\"].value", "value": "w@x.org"}]),
        json!([{"op": "add", "value": {"name.givenName": "Babs"}}]),
        json!([{"op": "remove", "path": "emails", "value": [{"value": "h@x.org"}]}]),
    ] {
        assert!(
            patch("User", PatchOptions::default(), &mut u.clone(), ops.clone()).is_err(),
            "{ops}"
        );
    }
}

#[test]
fn entra_removes_just_the_listed_members() {
    let mut g = group();
    let out = patch("Group", PatchOptions::entra_id(), &mut g, json!([
        {"op": "Remove", "path": "members", "value": [{"value": "902c246b-6245-4190-8e05-00816be7344a"}, {"value": "not-a-member"}]}])).unwrap();
    assert_eq!(
        g["members"],
        json!([{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"}])
    );
    assert_eq!(out.delta.get("members").unwrap().removed.len(), 1);
    assert!(out
        .normalizations
        .iter()
        .any(|n| n.kind == NormalizationKind::RemoveWithValue));
}

#[test]
fn okta_profile() {
    let mut u = user();
    let out = patch("User", PatchOptions::okta(), &mut u, json!([
        {"op": "replace", "value": {"id": "2819c223-7f76-453a-919d-413861904646", "active": false}}])).unwrap();
    assert_eq!(u["active"], false);
    assert_eq!(u["id"], "2819c223-7f76-453a-919d-413861904646");
    assert!(out
        .normalizations
        .iter()
        .any(|n| n.kind == NormalizationKind::IgnoredId));
    let e = err(
        "User",
        &user(),
        json!([{"op": "replace", "value": {"id": "x", "active": false}}]),
    );
    assert_eq!(e.scim_type(), "mutability");
}

#[test]
fn unchanged_when_nothing_changes() {
    let mut u = user();
    let out = ok(
        "User",
        &mut u,
        json!([{"op": "replace", "path": "userName", "value": "bjensen"}]),
    );
    assert!(!out.changed);
    let out = ok(
        "User",
        &mut u,
        json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
    );
    assert!(!out.changed);
    assert_eq!(u, user());
}

#[test]
fn limits_on_operations() {
    let ops: Vec<Value> = (0..5)
        .map(|i| json!({"op": "add", "path": "title", "value": format!("t{i}")}))
        .collect();
    let message =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let e =
        PatchRequest::from_json(&message, &PatchOptions::default().max_operations(4)).unwrap_err();
    assert_eq!(e.scim_type(), "invalidSyntax");
    for bad in [
        json!({"Operations": []}),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
        json!([1]),
    ] {
        assert_eq!(
            PatchRequest::from_json(&bad, &PatchOptions::default())
                .unwrap_err()
                .scim_type(),
            "invalidSyntax",
            "{bad}"
        );
    }
}

#[test]
fn entra_loose_extension_paths() {
    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    // Unqualified `manager` (Entra ID's docs), with a one-element array for the
    // single-valued attribute.
    let mut u = user();
    let ops = json!([{"op": "add", "path": "manager",
        "value": [{"$ref": "http://.../scim/Users/26118915", "value": "26118915"}]}]);
    let e = err("User", &u, ops.clone());
    assert_eq!(e.scim_type(), "invalidPath");
    let out = patch("User", PatchOptions::entra_id(), &mut u, ops).unwrap();
    assert_eq!(u[ENT]["manager"]["value"], "26118915");
    assert!(out
        .normalizations
        .iter()
        .any(|n| n.kind == NormalizationKind::QualifiedPath(format!("{ENT}:manager"))));
    // `.` before the attribute, and a bare id string (Microsoft's inbound collection).
    let mut u = user();
    let ops = json!([{"op": "replace", "path": format!("{ENT}.manager"), "value": "42"}]);
    assert_eq!(err("User", &u, ops.clone()).scim_type(), "invalidPath");
    patch("User", PatchOptions::entra_id(), &mut u, ops).unwrap();
    assert_eq!(u[ENT]["manager"]["value"], "42");
    // Still refused: names no extension defines, and Okta's profile.
    assert!(patch(
        "User",
        PatchOptions::entra_id(),
        &mut user(),
        json!([
        {"op": "add", "path": "favouriteColour", "value": "blue"}])
    )
    .is_err());
    assert!(patch(
        "User",
        PatchOptions::okta(),
        &mut user(),
        json!([
        {"op": "add", "path": "manager", "value": {"value": "1"}}])
    )
    .is_err());
}

/// Found by the `patch_apply` fuzz target: keys in a no-path value were sliced at byte 4,
/// which panicked inside a multi-byte character or on a short dotted key.
#[test]
fn no_path_keys_with_multibyte_or_short_names_do_not_panic() {
    for key in ["a😀b", "😀urn:x", "a.b", "é.x"] {
        for lenient in [false, true] {
            let options = if lenient {
                PatchOptions::lenient()
            } else {
                PatchOptions::default()
            };
            let mut u = user();
            let result = patch(
                "User",
                options,
                &mut u,
                json!([{"op": "add", "value": {key: "v"}}]),
            );
            assert!(
                result.is_err(),
                "{key}: unknown attribute should be refused"
            );
            assert_eq!(u, user());
        }
    }
}
