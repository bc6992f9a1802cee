//! Projection: attributes / excludedAttributes with the returned characteristic.

use scim_filter::AttrPath;
use scim_schema::Projection;
use serde_json::json;

use super::{registry, rfc_example};

fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn default_hides_never_and_request() {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let user = rfc_example("8.2 full user");
    let shown = Projection::default_for(&users).apply(&user);
    assert!(shown.get("password").is_none());
    assert_eq!(shown["userName"], user["userName"]);
    assert_eq!(shown["meta"], user["meta"]);
    assert_eq!(shown["groups"], user["groups"]);
}

#[test]
fn attributes_selects_plus_always() {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let user = rfc_example("8.3 enterprise user");
    let p = Projection::parse(&users, Some("userName, name.familyName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,password"), None).unwrap();
    let shown = p.apply(&user);
    assert_eq!(
        keys(&shown),
        [
            "id",
            "name",
            "schemas",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "userName"
        ]
    );
    assert_eq!(shown["name"], json!({"familyName": "Jensen"}));
    assert_eq!(
        shown["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        json!({"department": "Tour Operations"})
    );
    // Core URN prefix and a whole extension by URN.
    let p = Projection::parse(&users, Some("urn:ietf:params:scim:schemas:core:2.0:User:userName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"), None).unwrap();
    let shown = p.apply(&user);
    assert_eq!(shown["userName"], user["userName"]);
    assert_eq!(
        shown["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    );
    assert!(shown.get("emails").is_none());
}

#[test]
fn excluded_attributes_removes_but_not_always() {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let user = rfc_example("8.3 enterprise user");
    let p = Projection::parse(&users, None, Some("emails,id,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")).unwrap();
    let shown = p.apply(&user);
    assert!(shown.get("emails").is_none());
    assert_eq!(
        shown["id"], user["id"],
        "returned: always cannot be excluded"
    );
    assert!(shown["name"].get("givenName").is_none());
    assert_eq!(shown["name"]["familyName"], "Jensen");
    let ext = &shown["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert!(ext.get("manager").is_none());
    assert_eq!(ext["employeeNumber"], "701984");
    let p = Projection::parse(
        &users,
        None,
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
    )
    .unwrap();
    assert!(p
        .apply(&user)
        .get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        .is_none());
}

#[test]
fn members_display_can_be_skipped() {
    let r = registry();
    let groups = r.resource_type("Group").unwrap();
    let group = rfc_example("8.4 group");
    let display: AttrPath = "members.display".parse().unwrap();
    assert!(Projection::default_for(&groups).includes(&display));
    for p in [
        Projection::parse(&groups, None, Some("members.display")).unwrap(),
        Projection::parse(&groups, Some("members.value"), None).unwrap(),
        Projection::parse(&groups, Some("displayName"), None).unwrap(),
        Projection::parse(&groups, None, Some("members")).unwrap(),
    ] {
        assert!(!p.includes(&display), "{p:?}");
        let shown = p.apply(&group);
        if let Some(members) = shown.get("members") {
            assert!(members
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m.get("display").is_none()));
        }
    }
    let p = Projection::parse(&groups, Some("members.value"), None).unwrap();
    assert_eq!(
        p.apply(&group)["members"],
        json!([{"value": "2819c223-7f76-453a-919d-413861904646"}, {"value": "902c246b-6245-4190-8e05-00816be7344a"}])
    );
}

#[test]
fn bad_entries_are_invalid_path() {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let err = Projection::parse(&users, Some("emails[type eq \"work\"]"), None).unwrap_err();
    assert_eq!(err.scim_type(), "invalidPath");
    assert!(Projection::parse(&users, Some("name."), None).is_err());
}

#[test]
fn nothing_projects_to_an_empty_value() {
    // RFC 7644 §3.9 asks for the listed sub-attributes; an element or object without any
    // of them has nothing to show, and `{}` / `[]` would be unassigned values (RFC 7643 §2.5).
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "1", "userName": "bjensen",
        "name": {"familyName": "Jensen"},
        "emails": [{"value": "a@x"}, {"value": "b@x", "display": "B"}]
    });
    let shown = Projection::parse(&users, Some("emails.display"), None)
        .unwrap()
        .apply(&user);
    assert_eq!(
        shown,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1",
            "emails": [{"display": "B"}]})
    );
    // No element has one: the attribute goes; `returned: always` ones stay.
    let shown = Projection::parse(&users, Some("emails.type,name.givenName"), None)
        .unwrap()
        .apply(&user);
    assert_eq!(keys(&shown), ["id", "schemas"]);
    // Excluding every sub-attribute present leaves nothing either.
    let shown = Projection::parse(&users, None, Some("name.familyName,emails.value"))
        .unwrap()
        .apply(&user);
    assert!(shown.get("name").is_none(), "{shown}");
    assert_eq!(shown["emails"], json!([{"display": "B"}]));
}

#[test]
fn sub_attributes_hidden_by_returned_are_removed_from_every_element() {
    use scim_schema::{AttrType, Attribute, Registry, ResourceType, Returned, Schema};
    const URN: &str = "urn:example:params:scim:schemas:Device";
    let keys_attr = Attribute::new("keys", AttrType::Complex)
        .multi_valued(true)
        .sub_attributes(vec![
            Attribute::new("value", AttrType::String),
            Attribute::new("secret", AttrType::String).returned(Returned::Never),
            Attribute::new("note", AttrType::String).returned(Returned::Request),
        ]);
    let plain = Attribute::new("tags", AttrType::Complex)
        .multi_valued(true)
        .sub_attributes(vec![Attribute::new("value", AttrType::String)]);
    let r = Registry::builder()
        .schema(
            Schema::new(URN, "Device")
                .with_attribute(keys_attr)
                .with_attribute(plain),
        )
        .resource_type(ResourceType::new("Device", "/Devices", URN))
        .build()
        .unwrap();
    let devices = r.resource_type("Device").unwrap();
    let device = json!({"schemas": [URN], "id": "1",
        "keys": [{"value": "a", "secret": "s", "note": "n"}, {"secret": "only"}],
        "tags": [{"value": "t", "extra": 1}, {}]});
    let shown = Projection::default_for(&devices).apply(&device);
    // An element left with nothing goes; an attribute with nothing to hide stays as it is.
    assert_eq!(shown["keys"], json!([{"value": "a"}]));
    assert_eq!(shown["tags"], device["tags"]);
    let shown = Projection::parse(&devices, Some("keys.note,tags"), None)
        .unwrap()
        .apply(&device);
    assert_eq!(shown["keys"], json!([{"note": "n"}]));
    assert_eq!(shown["tags"], device["tags"]);
    let shown = Projection::parse(&devices, Some("keys"), None)
        .unwrap()
        .apply(&device);
    assert_eq!(shown["keys"], json!([{"value": "a"}]));
    let shown = Projection::parse(&devices, None, Some("tags.value"))
        .unwrap()
        .apply(&device);
    assert_eq!(shown["tags"], json!([{"extra": 1}, {}]));
}
