//! Filters compiled against the registry use the real characteristics.

use scim_filter::{CompiledFilter, Filter};
use serde_json::json;

use super::{registry, rfc_example};

fn matches(rt: &str, filter: &str, resource: &serde_json::Value) -> bool {
    let r = registry();
    let rt = r.resource_type(rt).unwrap();
    let f = Filter::parse(filter).unwrap();
    CompiledFilter::compile(&f, &rt).unwrap().matches(resource)
}

#[test]
fn case_exact_from_schema() {
    let user = rfc_example("8.3 enterprise user");
    assert!(
        matches("User", r#"userName eq "BJENSEN@example.com""#, &user),
        "userName is caseExact false"
    );
    assert!(
        !matches(
            "User",
            r#"id eq "2819C223-7F76-453A-919D-413861904646""#,
            &user
        ),
        "id is caseExact"
    );
    assert!(!matches("User", r#"externalId eq "701984 ""#, &user));
    assert!(matches(
        "User",
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        &user
    ));
}

#[test]
fn gluu_custom_attribute_filter() {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:gluu:2.0:User"],
        "userName": "x",
        "urn:ietf:params:scim:schemas:extension:gluu:2.0:User": {"customAttr3": 3000, "customAttr2": ["2016-02-23T15:35:22Z"]}
    });
    assert!(matches(
        "User",
        "urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr3 gt 2000",
        &user
    ));
    assert!(!matches(
        "User",
        "urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr3 gt 3000",
        &user
    ));
    assert!(matches(
        "User",
        r#"urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr2 gt "2016-02-23T16:35:22+02:00""#,
        &user
    ));
    // customAttr3 would not be found at the top level.
    assert!(!matches("User", "customAttr3 gt 2000", &user));
}

#[test]
fn type_errors_from_schema() {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    for bad in [
        r#"active gt "x""#,
        r#"meta.created gt "yesterday""#,
        r#"x509Certificates.value co "MII""#,
    ] {
        let f = Filter::parse(bad).unwrap();
        let err = CompiledFilter::compile(&f, &users).unwrap_err();
        assert_eq!(err.scim_type(), "invalidFilter", "{bad}");
    }
}

#[test]
fn fido_device_search() {
    let device = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:FidoDevice"], "id": "d",
        "deviceData": "{\"platform\":\"ios\", \"os_name\":\"iOS\"}"});
    assert!(matches("FidoDevice", r#"deviceData co "ios""#, &device));
}

/// RFC 7644 §3.4.2.2: a complex attribute compared directly is compared through its `value`
/// sub-attribute, for every operator (`emails co …`, `members sw …`), with the type of
/// `value`; `pr` still asks whether the attribute has a value.
#[test]
fn complex_attributes_compare_their_value() {
    let user = json!({"userName": "bjensen", "userType": "Employee",
        "emails": [{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org"}]});
    for (filter, expected) in [
        (r#"emails eq "BJENSEN@example.com""#, true),
        (r#"emails ne "bjensen@example.com""#, true),
        (r#"emails co "example.com""#, true),
        (r#"emails co "example.org""#, false),
        (r#"emails sw "babs""#, true),
        (r#"emails ew "@jensen.org""#, true),
        (r#"emails gt "c""#, false),
        (r#"emails lt "c""#, true),
        (r#"emails ge "bjensen@example.com""#, true),
        (r#"emails le "a""#, false),
        ("emails pr", true),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            true,
        ),
    ] {
        assert_eq!(matches("User", filter, &user), expected, "{filter}");
    }
    assert!(!matches(
        "User",
        "emails pr",
        &json!({"emails": [{"value": ""}]})
    ));
    let group =
        json!({"displayName": "Admins", "members": [{"value": "2819c223", "type": "User"}]});
    assert!(matches("Group", r#"members sw "2819""#, &group));
    assert!(matches("Group", r#"members co "9c2""#, &group));
    assert!(!matches("Group", r#"members gt "3""#, &group));
    // The type is `value`'s: x509Certificates.value is binary.
    let r = registry();
    let users = r.resource_type("User").unwrap();
    for bad in [r#"x509Certificates co "MII""#, r#"x509Certificates gt "A""#] {
        let err = CompiledFilter::compile(&Filter::parse(bad).unwrap(), &users).unwrap_err();
        assert_eq!(err.scim_type(), "invalidFilter", "{bad}");
    }
}

/// RFC 7644 §3.10: an attribute qualified by a schema the resource type does not have names
/// nothing — `urn:…:Group:userName` on a User is absent, not the User's `userName`.
#[test]
fn a_foreign_schema_urn_names_nothing() {
    let alice =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice"});
    assert!(!matches(
        "User",
        r#"urn:ietf:params:scim:schemas:core:2.0:Group:userName eq "alice""#,
        &alice
    ));
    assert!(!matches(
        "User",
        "urn:ietf:params:scim:schemas:core:2.0:Group:displayName pr",
        &json!({"displayName": "A"})
    ));
    assert!(matches(
        "User",
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice""#,
        &alice
    ));
    assert!(!matches(
        "Group",
        r#"urn:ietf:params:scim:schemas:core:2.0:User:displayName eq "A""#,
        &json!({"displayName": "A"})
    ));
}

/// `ne` on a multi-valued attribute: some value differs (RFC 7644 §3.4.2.2 any-match).
#[test]
fn ne_on_multi_valued_attributes_wants_a_value_that_differs() {
    let user =
        json!({"emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}]});
    assert!(matches("User", r#"emails.type ne "work""#, &user));
    assert!(!matches("User", r#"not (emails.type eq "work")"#, &user));
    assert!(!matches(
        "User",
        r#"emails.type ne "work""#,
        &json!({"userName": "x"})
    ));
    assert!(matches(
        "User",
        r#"not (emails.type eq "work")"#,
        &json!({"userName": "x"})
    ));
}
