//! Validation: the RFC examples, and each characteristic.

use scim_schema::{CoercionKind, IssueKind, Leniency, UnknownAttributes, ValidationOptions};
use serde_json::{json, Value};

use super::{registry, rfc_example, strict};

fn user(body: Value) -> Value {
    let mut v =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"});
    if let (Value::Object(base), Value::Object(extra)) = (&mut v, body) {
        base.extend(extra);
    }
    v
}

fn create_err(body: Value) -> Vec<(String, IssueKind)> {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    match users.validate_create(body, &strict()) {
        Ok(v) => panic!("accepted: {}", v.resource),
        Err(e) => e
            .issues()
            .iter()
            .map(|i| (i.path.clone(), i.kind.clone()))
            .collect(),
    }
}

fn create_ok(body: Value, options: &ValidationOptions) -> scim_schema::Validated {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    users
        .validate_create(body, options)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn rfc_7643_examples_validate() {
    let r = registry();
    for (name, rt) in [
        ("8.1 minimal user", "User"),
        ("8.2 full user", "User"),
        ("8.3 enterprise user", "User"),
        ("8.4 group", "Group"),
    ] {
        let example = rfc_example(name);
        let rt = r.resource_type(rt).unwrap();
        let stored = rt
            .check_resource(example.clone(), &strict())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            stored.resource, example,
            "{name}: a valid stored resource is unchanged"
        );
        let created = rt
            .validate_create(example, &strict())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Input: id, meta and readOnly attributes are ignored.
        assert!(
            created.resource.get("id").is_none() && created.resource.get("meta").is_none(),
            "{name}"
        );
        assert!(created.resource.get("groups").is_none(), "{name}");
    }
}

#[test]
fn required_attributes() {
    let issues = create_err(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}));
    assert_eq!(issues, [("userName".to_owned(), IssueKind::Required)]);
    let issues = create_err(user(json!({"userName": null})));
    assert_eq!(issues[0].1, IssueKind::Required);
    let r = registry();
    let groups = r.resource_type("Group").unwrap();
    let err = groups
        .validate_create(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}),
            &strict(),
        )
        .unwrap_err();
    assert_eq!(err.issues()[0].path, "displayName");
}

#[test]
fn every_type_is_checked() {
    let cases = [
        (json!({"active": "true"}), "active"),
        (json!({"title": 3}), "title"),
        (json!({"name": "Barbara"}), "name"),
        (json!({"name": {"givenName": false}}), "name.givenName"),
        (json!({"emails": {"value": "a@b"}}), "emails"),
        (json!({"emails": [{"value": 1}]}), "emails[0].value"),
        (
            json!({"emails": [{"value": "a@b", "primary": "yes"}]}),
            "emails[0].primary",
        ),
        (
            json!({"x509Certificates": [{"value": "not base64!"}]}),
            "x509Certificates[0].value",
        ),
        (json!({"profileUrl": "has spaces in it"}), "profileUrl"),
        (json!({"displayName": ["a"]}), "displayName"),
        (
            json!({"urn:ietf:params:scim:schemas:extension:gluu:2.0:User": {"customAttr3": "3000"}}),
            "urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr3",
        ),
        (
            json!({"urn:ietf:params:scim:schemas:extension:gluu:2.0:User": {"customAttr2": ["yesterday"]}}),
            "urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr2[0]",
        ),
        (
            json!({"urn:ietf:params:scim:schemas:extension:gluu:2.0:User": {"customAttr2": "2016-02-23T15:35:22Z"}}),
            "urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr2",
        ),
    ];
    for (extra, path) in cases {
        let mut body = user(extra.clone());
        if extra
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("urn:"))
        {
            body["schemas"].as_array_mut().unwrap().push(json!(
                "urn:ietf:params:scim:schemas:extension:gluu:2.0:User"
            ));
        }
        let issues = create_err(body);
        assert_eq!(issues.len(), 1, "{extra}: {issues:?}");
        assert_eq!(issues[0].0, path, "{extra}");
        assert_eq!(issues[0].1.scim_type(), "invalidValue", "{extra}");
    }
}

#[test]
fn integers_decimals_and_datetimes() {
    let r = scim_schema::Registry::builder()
        .schema(
            scim_schema::Schema::new("urn:example:Thing", "Thing")
                .with_attribute(scim_schema::Attribute::new(
                    "count",
                    scim_schema::AttrType::Integer,
                ))
                .with_attribute(scim_schema::Attribute::new(
                    "ratio",
                    scim_schema::AttrType::Decimal,
                ))
                .with_attribute(scim_schema::Attribute::new(
                    "when",
                    scim_schema::AttrType::DateTime,
                )),
        )
        .resource_type(scim_schema::ResourceType::new(
            "Thing",
            "/Things",
            "urn:example:Thing",
        ))
        .build()
        .unwrap();
    let things = r.resource_type("Thing").unwrap();
    let check = |extra: Value| {
        let mut body = json!({"schemas": ["urn:example:Thing"]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        things.validate_create(body, &strict()).is_ok()
    };
    assert!(check(json!({"count": 3})));
    assert!(!check(json!({"count": 3.5})));
    assert!(!check(json!({"count": 3.0})));
    assert!(check(json!({"ratio": 3})));
    assert!(check(json!({"ratio": 0.25})));
    assert!(!check(json!({"ratio": "0.25"})));
    assert!(check(json!({"when": "2016-02-23T15:35:22Z"})));
    assert!(check(json!({"when": "2016-02-23T15:35:22.5+02:00"})));
    assert!(!check(json!({"when": "2016-02-23"})));
    assert!(!check(json!({"when": "2016-02-23T15:35:22"})));
}

#[test]
fn datetimes_are_xsd_not_every_rfc_3339_form() {
    // RFC 3339 §5.6 allows a space or lowercase `t`/`z`; xsd:dateTime (RFC 7643 §2.3.5)
    // does not. The attribute is returned:never, so its value is not echoed.
    let r = scim_schema::Registry::builder()
        .schema(
            scim_schema::Schema::new("urn:example:Thing", "Thing").with_attribute(
                scim_schema::Attribute::new("when", scim_schema::AttrType::DateTime)
                    .returned(scim_schema::Returned::Never),
            ),
        )
        .resource_type(scim_schema::ResourceType::new(
            "Thing",
            "/Things",
            "urn:example:Thing",
        ))
        .build()
        .unwrap();
    let things = r.resource_type("Thing").unwrap();
    let body = |when: &str| json!({"schemas": ["urn:example:Thing"], "when": when});
    for lenient in [false, true] {
        let options = if lenient {
            ValidationOptions::default().leniency(Leniency::all())
        } else {
            strict()
        };
        assert!(things
            .validate_create(body("2020-01-01T00:00:00Z"), &options)
            .is_ok());
        for when in [
            "2020-01-01 00:00:00Z",
            "2020-01-01t00:00:00Z",
            "2020-01-01T00:00:00z",
        ] {
            let err = things.validate_create(body(when), &options).unwrap_err();
            assert_eq!(err.scim_type(), "invalidValue", "{when}");
            assert_eq!(err.issues()[0].path, "when", "{when}");
            assert!(
                matches!(err.issues()[0].kind, IssueKind::InvalidValue { .. }),
                "{when}"
            );
            let text = format!("{err} {err:?}");
            assert!(!text.contains("2020-01-01"), "{text}");
        }
    }
    // And in a PATCH value.
    let users = registry();
    let users = users.resource_type("User").unwrap();
    let path = "urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr2"
        .parse()
        .unwrap();
    assert!(users
        .validate_value(&path, json!("2016-02-23 15:35:22Z"), &strict())
        .is_err());
}

#[test]
fn required_strings_refuse_the_empty_string() {
    // RFC 7643 §2.5: an empty string is unassigned, and a required attribute needs a value.
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let issues = create_err(user(json!({"userName": ""})));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].0, "userName");
    assert!(matches!(issues[0].1, IssueKind::InvalidValue { .. }));
    assert_eq!(issues[0].1.scim_type(), "invalidValue");
    let lenient = ValidationOptions::default().leniency(Leniency::all());
    assert!(users
        .validate_create(user(json!({"userName": ""})), &lenient)
        .is_err());
    // Replace.
    let current = user(json!({"id": "1"}));
    let err = users
        .validate_replace(user(json!({"userName": ""})), &current, &strict())
        .unwrap_err();
    assert_eq!(err.issues()[0].path, "userName");
    assert_eq!(err.scim_type(), "invalidValue");
    // PATCH: the operation's value, and the patched resource.
    let err = users
        .validate_value(&"userName".parse().unwrap(), json!(""), &strict())
        .unwrap_err();
    assert_eq!(err.scim_type(), "invalidValue");
    let err = users
        .check_resource(user(json!({"id": "1", "userName": ""})), &strict())
        .unwrap_err();
    assert_eq!(err.issues()[0].path, "userName");
    // Optional strings may be empty; required ones may hold whitespace.
    assert!(users
        .validate_create(user(json!({"title": "", "nickName": ""})), &strict())
        .is_ok());
    assert!(users
        .validate_create(user(json!({"userName": " "})), &strict())
        .is_ok());
    let groups = r.resource_type("Group").unwrap();
    let err = groups
        .validate_create(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": ""}),
            &strict(),
        )
        .unwrap_err();
    assert_eq!(err.issues()[0].path, "displayName");
}

#[test]
fn unknown_attributes_rejected_or_ignored() {
    let issues = create_err(user(json!({"favouriteColour": "blue"})));
    assert_eq!(
        issues,
        [("favouriteColour".to_owned(), IssueKind::UnknownAttribute)]
    );
    assert_eq!(IssueKind::UnknownAttribute.scim_type(), "invalidSyntax");
    let issues = create_err(user(json!({"name": {"nickname": "x"}})));
    assert_eq!(issues[0].0, "name.nickname");
    let options = ValidationOptions::default().unknown_attributes(UnknownAttributes::Ignore);
    let ok = create_ok(user(json!({"favouriteColour": "blue"})), &options);
    assert!(ok.resource.get("favouriteColour").is_none());
    assert_eq!(ok.coercions[0].kind, CoercionKind::DroppedUnknown);
}

#[test]
fn unknown_schema_uris_and_null_unknown_attributes_lenient() {
    // Entra ID's tutorial: a misspelt enterprise URN, and unqualified `department: null`.
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"
        ],
        "userName": "jyoung",
        "department": null,
        "manager": null
    });
    // Strict: both refused.
    let issues = create_err(body.clone());
    assert!(issues
        .iter()
        .any(|(p, k)| p == "schemas" && matches!(k, IssueKind::Schemas { .. })));
    assert!(issues
        .iter()
        .any(|(p, k)| p == "department" && *k == IssueKind::UnknownAttribute));
    // Lenient: the URI and the nulls are dropped.
    let options = ValidationOptions::default().leniency(Leniency::all());
    let ok = create_ok(body, &options);
    assert_eq!(
        ok.resource["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    assert!(ok.resource.get("department").is_none());
    assert!(ok
        .coercions
        .iter()
        .any(|c| c.path == "schemas" && c.kind == CoercionKind::DroppedSchemaUri));
    // A non-null unknown attribute is still refused under leniency.
    let r = registry();
    let users = r.resource_type("User").unwrap();
    assert!(users
        .validate_create(user(json!({"department": "R&D"})), &options)
        .is_err());
}

#[test]
fn names_are_case_insensitive_and_normalised() {
    let ok = create_ok(
        json!({"SCHEMAS": ["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"], "UserName": "x", "NAME": {"GIVENNAME": "B"}}),
        &strict(),
    );
    assert_eq!(
        ok.resource,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x", "name": {"givenName": "B"}})
    );
    let issues = create_err(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x", "USERNAME": "y"}),
    );
    assert_eq!(issues[0].1, IssueKind::Duplicate);
}

/// One object naming an attribute twice in two spellings is refused at any depth, with the
/// same issue whether a document is validated or a PATCH value checked on its own.
#[test]
fn names_repeated_by_case_are_refused_at_any_depth() {
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    for (extra, path) in [
        (json!({"USERNAME": "y"}), "username".to_owned()),
        (
            json!({"name": {"givenName": "a", "GIVENNAME": "b"}}),
            "name.givenname".to_owned(),
        ),
        (
            json!({"emails": [{"value": "a@x", "Value": "b@x"}]}),
            "emails[0].value".to_owned(),
        ),
        (
            json!({ent: {"employeeNumber": "1", "EMPLOYEENUMBER": "2"}}),
            format!("{ent}:employeenumber").to_ascii_lowercase(),
        ),
    ] {
        let mut body = user(extra.clone());
        if extra.get(ent).is_some() {
            body["schemas"].as_array_mut().unwrap().push(json!(ent));
        }
        let issues = create_err(body.clone());
        assert_eq!(issues[0].1, IssueKind::Duplicate, "{body}: {issues:?}");
        assert_eq!(issues.len(), 1, "{body}: {issues:?}");
        let document = &issues[0].0;
        // The same rule and wording for a value checked alone.
        let alone = scim_schema::check_distinct_names(&body, "").unwrap_err();
        assert_eq!(alone.scim_type(), "invalidSyntax");
        assert_eq!(alone.issues()[0].kind, IssueKind::Duplicate);
        assert_eq!(
            alone.issues()[0].path.to_ascii_lowercase(),
            path,
            "{body}: {alone}"
        );
        assert_eq!(document.to_ascii_lowercase(), path, "{body}: {issues:?}");
    }
    // Unknown attributes dropped by policy still may not repeat one another.
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let ignore = ValidationOptions::default().unknown_attributes(UnknownAttributes::Ignore);
    let err = users
        .validate_create(user(json!({"foo": 1, "FOO": 2})), &ignore)
        .unwrap_err();
    assert_eq!(err.scim_type(), "invalidSyntax");
}

#[test]
fn schemas_rules() {
    let no_schemas = create_err(json!({"userName": "x"}));
    assert!(matches!(no_schemas[0].1, IssueKind::Schemas { .. }));
    let wrong_core = create_err(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "x"}),
    );
    assert!(
        wrong_core
            .iter()
            .all(|i| matches!(i.1, IssueKind::Schemas { .. })),
        "{wrong_core:?}"
    );
    // An extension present but not listed.
    let unlisted = create_err(user(
        json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1"}}),
    ));
    assert!(
        matches!(&unlisted[0].1, IssueKind::Schemas { reason } if reason.contains("enterprise"))
    );
    // A required extension must be present.
    let r = scim_schema::Registry::builder()
        .schema(scim_schema::builtin::user())
        .schema(scim_schema::builtin::enterprise_user())
        .resource_type(
            scim_schema::ResourceType::new("User", "/Users", scim_schema::urn::USER)
                .with_extension(scim_schema::urn::ENTERPRISE_USER, true),
        )
        .build()
        .unwrap();
    let err = r
        .resource_type("User")
        .unwrap()
        .validate_create(user(json!({})), &strict())
        .unwrap_err();
    assert_eq!(err.issues()[0].path, scim_schema::urn::ENTERPRISE_USER);
    assert_eq!(err.issues()[0].kind, IssueKind::Required);
}

#[test]
fn read_only_input_is_ignored() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "x", "id": "mine", "meta": {"created": "x"}, "groups": [{"value": "g"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m", "displayName": "Boss"}}
    });
    let ok = create_ok(body, &strict());
    assert!(ok.resource.get("id").is_none());
    assert!(ok.resource.get("meta").is_none());
    assert!(ok.resource.get("groups").is_none());
    assert_eq!(
        ok.resource["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
        json!({"value": "m"})
    );
}

#[test]
fn immutable_attributes_settable_once() {
    let r = scim_schema::Registry::builder()
        .schema(
            scim_schema::Schema::new("urn:example:Badge", "Badge")
                .with_attribute(
                    scim_schema::Attribute::new("serial", scim_schema::AttrType::String)
                        .mutability(scim_schema::Mutability::Immutable),
                )
                .with_attribute(scim_schema::Attribute::new(
                    "label",
                    scim_schema::AttrType::String,
                )),
        )
        .resource_type(scim_schema::ResourceType::new(
            "Badge",
            "/Badges",
            "urn:example:Badge",
        ))
        .build()
        .unwrap();
    let badges = r.resource_type("Badge").unwrap();
    let unset = json!({"schemas": ["urn:example:Badge"], "id": "1", "label": "a"});
    let set = json!({"schemas": ["urn:example:Badge"], "id": "1", "serial": "S1", "label": "a"});
    let put = |serial: Option<&str>| {
        let mut b = json!({"schemas": ["urn:example:Badge"], "label": "b"});
        if let Some(s) = serial {
            b["serial"] = json!(s);
        }
        b
    };
    // Unset before: may be set.
    assert!(badges
        .validate_replace(put(Some("S9")), &unset, &strict())
        .is_ok());
    // Set before: same value fine, omitted keeps it, a different one is refused.
    assert!(badges
        .validate_replace(put(Some("S1")), &set, &strict())
        .is_ok());
    let kept = badges.validate_replace(put(None), &set, &strict()).unwrap();
    assert_eq!(kept.resource["serial"], "S1");
    let err = badges
        .validate_replace(put(Some("S2")), &set, &strict())
        .unwrap_err();
    assert_eq!(err.scim_type(), "mutability");
    assert_eq!(err.issues()[0].path, "serial");
}

#[test]
fn canonical_values_only_when_enforced() {
    let body = user(json!({"emails": [{"value": "a@b", "type": "pigeon"}]}));
    assert!(create_ok(body.clone(), &strict()).coercions.is_empty());
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let err = users
        .validate_create(
            body.clone(),
            &ValidationOptions::default().enforce_canonical_values(true),
        )
        .unwrap_err();
    assert_eq!(err.issues()[0].path, "emails[0].type");
    let ok = user(json!({"emails": [{"value": "a@b", "type": "WORK"}]}));
    assert!(users
        .validate_create(
            ok,
            &ValidationOptions::default().enforce_canonical_values(true)
        )
        .is_ok());
}

#[test]
fn at_most_one_primary() {
    let issues = create_err(user(json!({"emails": [
        {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]})));
    assert_eq!(issues, [("emails".to_owned(), IssueKind::MultiplePrimary)]);
    create_ok(
        user(
            json!({"emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": false}]}),
        ),
        &strict(),
    );
}

#[test]
fn write_only_values_never_echoed() {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    for bad in [
        json!({"password": 123456789}),
        json!({"password": ["s3cr3tP4ss"]}),
    ] {
        let err = users
            .validate_create(user(bad.clone()), &strict())
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("123456789") && !text.contains("s3cr3tP4ss"),
            "{text}"
        );
    }
    // And no other value is echoed either.
    let err = users
        .validate_create(user(json!({"title": ["Tour Guide X7"]})), &strict())
        .unwrap_err();
    assert!(!format!("{err:?}").contains("Tour Guide X7"));
}

#[test]
fn leniency_options_each_reported() {
    let lenient = ValidationOptions::default().leniency(Leniency::all());
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "urn:ietf:params:scim:schemas:extension:gluu:2.0:User"],
        "userName": "x",
        "active": "False",
        "emails": {"value": "a@b", "primary": "True"},
        "displayName": ["Solo"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "26118915"},
        "urn:ietf:params:scim:schemas:extension:gluu:2.0:User": {"customAttr3": "3000"}
    });
    let strict_err = create_err(body.clone());
    assert_eq!(strict_err.len(), 5, "{strict_err:?}");
    let ok = create_ok(body, &lenient);
    assert_eq!(ok.resource["active"], json!(false));
    assert_eq!(
        ok.resource["emails"],
        json!([{"value": "a@b", "primary": true}])
    );
    assert_eq!(ok.resource["displayName"], json!("Solo"));
    assert_eq!(
        ok.resource["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
        json!({"value": "26118915"})
    );
    assert_eq!(
        ok.resource["urn:ietf:params:scim:schemas:extension:gluu:2.0:User"]["customAttr3"],
        json!(3000.0)
    );
    let mut kinds: Vec<(String, CoercionKind)> = ok
        .coercions
        .iter()
        .map(|c| (c.path.clone(), c.kind))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kinds,
        [
            ("active".to_owned(), CoercionKind::StringToBoolean),
            ("displayName".to_owned(), CoercionKind::UnwrappedArray),
            ("emails".to_owned(), CoercionKind::WrappedInArray),
            (
                "emails[0].primary".to_owned(),
                CoercionKind::StringToBoolean
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".to_owned(),
                CoercionKind::StringToComplexValue
            ),
            (
                "urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr3".to_owned(),
                CoercionKind::StringToNumber
            ),
        ]
    );
}

#[test]
fn patch_values() {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let path = |s: &str| s.parse().unwrap();
    // One element of a multi-valued attribute, or several.
    assert!(users
        .validate_value(&path("emails"), json!({"value": "a@b"}), &strict())
        .is_ok());
    assert!(users
        .validate_value(&path("emails"), json!([{"value": "a@b"}]), &strict())
        .is_ok());
    assert!(users
        .validate_value(&path("emails.value"), json!("a@b"), &strict())
        .is_ok());
    assert!(users
        .validate_value(&path("name.givenName"), json!(1), &strict())
        .is_err());
    let err = users
        .validate_value(&path("groups"), json!([{"value": "g"}]), &strict())
        .unwrap_err();
    assert_eq!(err.scim_type(), "mutability");
    let err = users
        .validate_value(&path("nope"), json!(1), &strict())
        .unwrap_err();
    assert_eq!(err.issues()[0].kind, IssueKind::UnknownAttribute);
    let ext = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    assert!(users
        .validate_value(&ext, json!({"department": "Tours"}), &strict())
        .is_ok());
    let manager = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager");
    let lenient = ValidationOptions::default().leniency(Leniency::all());
    let v = users
        .validate_value(&manager, json!("123"), &lenient)
        .unwrap();
    assert_eq!(v.resource, json!({"value": "123"}));
}

#[test]
fn custom_attribute_types_validate() {
    use std::sync::Arc;
    #[derive(Debug)]
    struct E164;
    impl scim_filter::CustomType for E164 {
        fn name(&self) -> &str {
            "E.164 phone number"
        }
        fn normalize(&self, v: &str) -> Option<String> {
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            (digits.len() >= 8
                && v.chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c)))
            .then(|| format!("+{digits}"))
        }
    }
    let r = scim_schema::Registry::standard_builder()
        .custom_type("e164", Arc::new(E164))
        .bind_custom_type(scim_schema::urn::USER, "phoneNumbers.value", "e164")
        .build()
        .unwrap();
    let users = r.resource_type("User").unwrap();
    let ok = user(json!({"phoneNumbers": [{"value": "+15550100001", "type": "work"}]}));
    assert!(users.validate_create(ok.clone(), &strict()).is_ok());
    let bad = user(json!({"phoneNumbers": [{"value": "call me maybe", "type": "work"}]}));
    let err = users.validate_create(bad, &strict()).unwrap_err();
    assert!(err.to_string().contains("E.164"), "{err}");
    // And filters use it.
    let f = scim_filter::Filter::parse(r#"phoneNumbers.value eq "+1 (555) 010-0001""#).unwrap();
    let c = scim_filter::CompiledFilter::compile(&f, &users).unwrap();
    assert!(c.matches(&ok));
}

#[test]
fn gluu_custom_attributes_and_fido() {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:gluu:2.0:User"],
        "userName": "x",
        "urn:ietf:params:scim:schemas:extension:gluu:2.0:User": {
            "customAttr1": "String single-valued",
            "customAttr2": ["2016-02-23T15:35:22Z"],
            "customAttr3": 3000
        }
    });
    assert!(users.validate_create(body, &strict()).is_ok());
    let fido = r.resource_type("FidoDevice").unwrap();
    assert_eq!(fido.definition().endpoint, "/FidoDevices");
    let current = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:FidoDevice"], "id": "d1",
        "userId": "u1", "deviceData": "{\"platform\":\"ios\"}", "displayName": "Old"});
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:FidoDevice"],
        "userId": "someone-else", "deviceData": "x", "displayName": "New", "description": "Mine"});
    let v = fido.validate_replace(put, &current, &strict()).unwrap();
    assert_eq!(v.resource["userId"], "u1", "readOnly kept");
    assert_eq!(v.resource["deviceData"], "{\"platform\":\"ios\"}");
    assert_eq!(v.resource["displayName"], "New");
    assert_eq!(v.resource["description"], "Mine");
}

#[test]
fn not_an_object() {
    let r = registry();
    let users = r.resource_type("User").unwrap();
    let err = users.validate_create(json!([1]), &strict()).unwrap_err();
    assert_eq!(err.scim_type(), "invalidSyntax");
}
