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
