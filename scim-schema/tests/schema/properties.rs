//! Property tests: projection never shows returned:never; validation never panics.

use proptest::prelude::*;
use scim_schema::{Leniency, Projection, UnknownAttributes, ValidationOptions};
use serde_json::{json, Value};

use super::{registry, rfc_example};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-zA-Z0-9 :.@+=/-]{0,16}".prop_map(Value::String),
        Just(json!("2016-02-23T15:35:22Z")),
        Just(json!("True")),
    ];
    leaf.prop_recursive(3, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "schemas",
            "id",
            "meta",
            "userName",
            "USERNAME",
            "password",
            "Password",
            "name",
            "givenName",
            "emails",
            "value",
            "primary",
            "type",
            "groups",
            "active",
            "x509Certificates",
            "displayName",
            "members",
            "display",
            "$ref",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "manager",
            "employeeNumber",
            "urn:ietf:params:scim:schemas:extension:gluu:2.0:User",
            "customAttr2",
            "customAttr3",
            "created",
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,6}",
    ]
}

fn attribute_list() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "password",
            "userName",
            "name.givenName",
            "emails",
            "emails.value",
            "id",
            "meta",
            "groups.display",
            "urn:ietf:params:scim:schemas:core:2.0:User:password",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
            "PASSWORD",
            "nope",
        ]),
        0..5,
    )
    .prop_map(|v| v.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn projection_never_shows_password(attrs in attribute_list(), excluded in attribute_list(), use_attrs in any::<bool>(), extra in json_value()) {
        let r = registry();
        let users = r.resource_type("User").unwrap();
        let mut user = rfc_example("8.2 full user");
        if let (Value::Object(u), Value::Object(e)) = (&mut user, extra) {
            for (k, v) in e {
                if !k.eq_ignore_ascii_case("password") {
                    u.insert(k, v);
                }
            }
        }
        let p = Projection::parse(&users, use_attrs.then_some(attrs.as_str()), Some(excluded.as_str())).unwrap();
        let shown = p.apply(&user);
        prop_assert!(shown.get("password").is_none() && shown.get("Password").is_none());
        prop_assert_eq!(shown.get("id"), user.get("id"));
    }

    #[test]
    fn validation_never_panics(v in json_value(), lenient in any::<bool>(), ignore in any::<bool>()) {
        let r = registry();
        let mut options = ValidationOptions::default();
        if lenient {
            options = options.leniency(Leniency::all());
        }
        if ignore {
            options = options.unknown_attributes(UnknownAttributes::Ignore);
        }
        for rt in r.resource_types() {
            let created = rt.validate_create(v.clone(), &options);
            let _ = rt.validate_replace(v.clone(), &v, &options);
            let _ = rt.check_resource(v.clone(), &options);
            if let Err(e) = &created {
                prop_assert!(!e.issues().is_empty());
                let t = e.scim_type();
                prop_assert!(t == "invalidValue" || t == "invalidSyntax" || t == "mutability");
            }
            // A validated resource validates again, unchanged (normalisation is idempotent).
            if let Ok(ok) = created {
                let again = rt.validate_create(ok.resource.clone(), &options);
                prop_assert_eq!(again.map(|a| a.resource), Ok(ok.resource));
            }
        }
    }
}
