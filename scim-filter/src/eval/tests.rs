//! Evaluation semantics, one RFC rule per test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{json, Value};

use crate::{
    AttrInfo, AttrPath, AttrSchema, AttrType, CompareOp, CompileErrorKind, CompiledFilter,
    Condition, CustomType, Filter, Instant, Location, NumberLiteral, ResolvedAttr, ResolvedNode,
    UrnLocation,
};

fn matches(filter: &str, resource: &Value) -> bool {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let c = CompiledFilter::compile_schemaless(&f).unwrap_or_else(|e| panic!("{filter}: {e}"));
    c.matches(resource)
}

fn compile_error(filter: &str) -> CompileErrorKind {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    match CompiledFilter::compile_schemaless(&f) {
        Err(e) => e.kind().clone(),
        Ok(_) => panic!("{filter} compiled"),
    }
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "title": "Tour Guide",
        "active": true,
        "loginCount": 42,
        "score": 4.5,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [],
        "nickName": null,
        "x509Certificates": [{"value": "MIIDQzCC"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        },
        "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34-07:00"}
    })
}

#[test]
fn attribute_names_are_case_insensitive() {
    let u = user();
    assert!(matches(r#"USERNAME eq "bjensen@example.com""#, &u));
    assert!(matches(r#"Name.FamilyName eq "jensen""#, &u));
    assert!(matches(r#"EMAILS[TYPE eq "work"]"#, &u));
}

#[test]
fn strings_default_to_case_insensitive() {
    let u = user();
    assert!(matches(r#"title eq "TOUR GUIDE""#, &u));
    assert!(matches(r#"title co "OUR g""#, &u));
    assert!(matches(r#"title sw "tour""#, &u));
    assert!(matches(r#"title ew "GUIDE""#, &u));
    assert!(!matches(r#"title ew "tour""#, &u));
    assert!(matches(r#"title gt "TOUR""#, &u));
    assert!(matches(r#"title lt "u""#, &u));
    assert!(matches(r#"title ge "tour guide""#, &u));
    assert!(matches(r#"title le "tour guide""#, &u));
}

#[test]
fn case_exact_from_the_schema() {
    struct Exact;
    impl AttrSchema for Exact {
        fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
            Some(AttrInfo::new(AttrType::String).case_exact(path.name == "id"))
        }
    }
    let u = user();
    let f = Filter::parse(r#"id eq "2819C223-7F76-453A-919D-413861904646""#)
        .unwrap_or_else(|e| panic!("{e}"));
    let c = CompiledFilter::compile(&f, &Exact).unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.matches(&u));
    assert!(matches(
        r#"id eq "2819C223-7F76-453A-919D-413861904646""#,
        &u
    ));
}

#[test]
fn multi_valued_any_value_and_complex_value_default() {
    let u = user();
    assert!(matches(r#"emails.value eq "babs@jensen.org""#, &u));
    // Without a sub-attribute, a complex multi-valued attribute compares `value`.
    assert!(matches(r#"emails co "jensen.org""#, &u));
    assert!(matches(r#"emails.type eq "home""#, &u));
    assert!(!matches(r#"emails.type eq "other""#, &u));
    assert!(matches(
        r#"schemas eq "urn:ietf:params:scim:schemas:core:2.0:User""#,
        &u
    ));
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        &u
    ));
}

#[test]
fn present_is_false_for_null_empty_and_missing() {
    let u = user();
    assert!(matches("title pr", &u));
    assert!(matches("emails pr", &u));
    assert!(matches("emails.primary pr", &u));
    assert!(!matches("phoneNumbers pr", &u));
    assert!(!matches("nickName pr", &u));
    assert!(!matches("missing pr", &u));
    assert!(!matches("addresses.type pr", &u));
    assert!(!matches("x pr", &json!({"x": {}})));
    assert!(!matches("x pr", &json!({"x": [null]})));
    // `eq null` is the negation of `pr`.
    assert!(matches("nickName eq null", &u));
    assert!(matches("phoneNumbers eq null", &u));
    assert!(!matches("title eq null", &u));
    assert!(matches("title ne null", &u));
}

#[test]
fn present_needs_a_non_empty_value() {
    // RFC 7643 §2.5: "" is unassigned, so it is no value for `pr` (RFC 7644 §3.4.2.2).
    assert!(!matches("title pr", &json!({"title": ""})));
    assert!(matches("title eq null", &json!({"title": ""})));
    assert!(!matches("x pr", &json!({"x": [""]})));
    assert!(!matches("x pr", &json!({"x": {"a": ""}})));
    assert!(!matches("x pr", &json!({"x": [{"a": ""}, {}]})));
    assert!(!matches("x.a pr", &json!({"x": [{"a": ""}, {"a": null}]})));
    assert!(!matches("x[a pr]", &json!({"x": [{"a": ""}]})));
    // A multi-valued attribute has a value when any element has one.
    assert!(matches("x pr", &json!({"x": ["", "b"]})));
    assert!(matches("x.a pr", &json!({"x": [{"a": ""}, {"a": "b"}]})));
    assert!(matches("x pr", &json!({"x": [{"a": ""}, {"b": 0}]})));
    // Other falsy-looking scalars are values.
    assert!(matches("x pr", &json!({"x": 0})));
    assert!(matches("x pr", &json!({"x": false})));
    assert!(matches("x pr", &json!({"x": " "})));
}

#[test]
fn datetimes_compare_as_instants() {
    let u = user();
    // 04:42:34-07:00 is 11:42:34Z.
    assert!(matches(
        r#"meta.lastModified gt "2011-05-13T11:00:00Z""#,
        &u
    ));
    assert!(matches(
        r#"meta.lastModified eq "2011-05-13T11:42:34.000Z""#,
        &u
    ));
    assert!(!matches(
        r#"meta.lastModified lt "2011-05-13T05:00:00Z""#,
        &u
    ));
    assert!(matches(r#"meta.created ge "2010-01-23T04:56:22Z""#, &u));
    assert!(matches(
        r#"meta.created le "2010-01-23T05:56:22+01:00""#,
        &u
    ));
    // Substring operators look at the text.
    assert!(matches(r#"meta.created sw "2010-01""#, &u));
}

#[test]
fn literals_outside_xsd_datetime_compare_as_strings() {
    // RFC 3339 allows a space or lowercase `t`/`z`; xsd:dateTime (RFC 7643 §2.3.5) does
    // not, so these are text. As instants each equals lastModified (04:42:34-07:00).
    let u = user();
    for lit in [
        "2011-05-13 11:42:34Z",
        "2011-05-13t11:42:34Z",
        "2011-05-13T11:42:34z",
    ] {
        assert!(
            !matches(&format!(r#"meta.lastModified eq "{lit}""#), &u),
            "{lit}"
        );
    }
    // As text, `T` sorts after the space; as instants these are equal.
    assert!(matches(r#"meta.created gt "2010-01-23 04:56:22Z""#, &u));
    assert!(!matches(r#"meta.created le "2010-01-23 04:56:22Z""#, &u));
    // A stored value in the same form matches as text does.
    let odd = json!({"when": "2010-01-23 04:56:22z"});
    assert!(matches(r#"when eq "2010-01-23 04:56:22Z""#, &odd));
    assert!(!matches(r#"when eq "2010-01-23T04:56:22Z""#, &odd));
}

#[test]
fn datetime_attribute_needs_a_datetime_literal() {
    struct Dt;
    impl AttrSchema for Dt {
        fn attribute(&self, _: &AttrPath) -> Option<AttrInfo> {
            Some(AttrInfo::new(AttrType::DateTime))
        }
    }
    for lit in ["yesterday", "2010-01-23 04:56:22Z", "2010-01-23T04:56:22z"] {
        let text = format!(r#"meta.created gt "{lit}""#);
        let f = Filter::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        let e = CompiledFilter::compile(&f, &Dt)
            .err()
            .map(|e| e.kind().clone());
        assert!(
            matches!(e, Some(CompileErrorKind::InvalidLiteral { .. })),
            "{lit}: {e:?}"
        );
    }
}

#[test]
fn numbers_compare_by_value() {
    let u = user();
    assert!(matches("loginCount eq 42", &u));
    assert!(matches("loginCount eq 42.0", &u));
    assert!(matches("loginCount gt 41.5", &u));
    assert!(matches("score lt 5", &u));
    assert!(matches("score ge 4.5", &u));
    assert!(!matches(r#"loginCount eq "42""#, &u));
    assert!(!matches("title eq 42", &u));
}

#[test]
fn booleans_only_with_eq_and_ne() {
    let u = user();
    assert!(matches("active eq true", &u));
    assert!(matches("active ne false", &u));
    assert!(!matches("active eq false", &u));
    assert!(!matches(r#"active eq "true""#, &u));
    for op in ["gt", "lt", "ge", "le", "co", "sw", "ew"] {
        let kind = compile_error(&format!("active {op} true"));
        assert!(
            matches!(
                kind,
                CompileErrorKind::OperatorLiteral {
                    literal: "boolean",
                    ..
                }
            ),
            "{op}"
        );
    }
    assert!(matches!(
        compile_error("title gt null"),
        CompileErrorKind::OperatorLiteral {
            literal: "null",
            ..
        }
    ));
    assert!(matches!(
        compile_error("title co 3"),
        CompileErrorKind::OperatorLiteral {
            literal: "number",
            ..
        }
    ));
}

#[test]
fn boolean_and_binary_attributes_refuse_ordering_and_substring() {
    struct Typed;
    impl AttrSchema for Typed {
        fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
            match path.name.as_str() {
                "active" => Some(AttrInfo::new(AttrType::Boolean)),
                "x509Certificates" => Some(AttrInfo::new(AttrType::Binary)),
                _ => None,
            }
        }
    }
    for text in [
        r#"active gt "x""#,
        r#"x509Certificates co "MII""#,
        r#"x509Certificates gt "A""#,
    ] {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{e}"));
        let e = CompiledFilter::compile(&f, &Typed)
            .err()
            .map(|e| e.kind().clone());
        assert!(
            matches!(e, Some(CompileErrorKind::OperatorType { .. })),
            "{text}: {e:?}"
        );
    }
    let f = Filter::parse(r#"x509Certificates eq "MIIDQzCC""#).unwrap_or_else(|e| panic!("{e}"));
    assert!(CompiledFilter::compile(&f, &Typed).is_ok_and(|c| c.matches(&user())));
}

#[test]
fn value_path_needs_one_value_satisfying_everything() {
    let u = user();
    assert!(matches(
        r#"emails[type eq "work" and value co "example.com"]"#,
        &u
    ));
    // Conditions met by two different emails do not match a valuePath...
    assert!(!matches(
        r#"emails[type eq "home" and value co "example.com"]"#,
        &u
    ));
    // ...but they do with plain paths (RFC 7644 §3.4.2.2: each expression stands alone).
    assert!(matches(
        r#"emails.type eq "home" and emails.value co "example.com""#,
        &u
    ));
    assert!(matches(r#"emails[type eq "work" and primary eq true]"#, &u));
    assert!(!matches(
        r#"emails[type eq "home" and primary eq true]"#,
        &u
    ));
    assert!(matches(r#"emails[not (type eq "work")]"#, &u));
    assert!(!matches(r#"phoneNumbers[type pr]"#, &u));
}

#[test]
fn not_of_missing_is_true() {
    let u = user();
    assert!(matches(r#"not (nickName eq "x")"#, &u));
    assert!(matches(r#"not (missing eq "x")"#, &u));
    assert!(matches("not (missing pr)", &u));
}

/// RFC 7644 §3.4.2.2: a multi-valued attribute matches when any value does — for `ne` too:
/// `ne` holds when some value (a string, number or boolean) is "not identical" to the
/// literal, i.e. fails `eq`. An attribute without a value has no such value, so `ne` is
/// false on it (as `gt`, `co`… are); `not (… eq …)` is the negation of `eq`, true there.
#[test]
fn ne_holds_when_some_value_differs() {
    let u = user();
    // Emails of type "work" and "home": each `ne` finds the other one.
    assert!(matches(r#"emails.type ne "work""#, &u));
    assert!(matches(r#"emails.type ne "home""#, &u));
    assert!(!matches(r#"not (emails.type eq "work")"#, &u));
    assert!(!matches(
        r#"emails.type ne "WORK""#,
        &json!({"emails": [{"type": "work"}]})
    ));
    // Absent, null or without the sub-attribute: no value, so nothing differs.
    assert!(!matches(r#"nickName ne "x""#, &u));
    assert!(!matches(r#"missing ne "x""#, &u));
    assert!(!matches(r#"phoneNumbers.type ne "x""#, &u));
    assert!(!matches(r#"emails.display ne "x""#, &u));
    assert!(!matches("missing ne 1", &u));
    assert!(!matches("missing ne true", &u));
    // Single-valued: the value differs.
    assert!(matches(r#"title ne "x""#, &u));
    assert!(!matches(r#"title ne "tour guide""#, &u));
    assert!(matches("loginCount ne 41", &u));
    assert!(!matches("loginCount ne 42.0", &u));
    assert!(matches("active ne false", &u));
    assert!(!matches("active ne true", &u));
    // A value of another type is not identical to the literal (as scimmy answers too).
    assert!(matches(r#"loginCount ne "42""#, &u));
    assert!(matches("title ne 3", &u));
    assert!(matches("title ne true", &u));
    // Objects, arrays and nulls are not values `ne` compares.
    assert!(!matches(
        r#"name ne "x""#,
        &json!({"name": {"givenName": "x"}})
    ));
    assert!(!matches(r#"tags ne "x""#, &json!({"tags": [null, [], {}]})));
    // `ne null` is "has a value", the negation of `eq null`.
    assert!(matches("title ne null", &u));
    assert!(!matches("nickName ne null", &u));
    // A value filter's `ne` and the attribute's `ne` agree on one value each.
    assert!(matches(r#"emails[type ne "work"]"#, &u));
    // dateTimes compare as instants.
    assert!(!matches(
        r#"meta.created ne "2010-01-23T05:56:22+01:00""#,
        &u
    ));
    assert!(matches(r#"meta.created ne "2010-01-23T04:56:23Z""#, &u));
}

/// A schema for the complex-attribute rules: `emails` complex with a string `value`,
/// `x509Certificates` complex with a binary `value`, `name` complex without `value`.
struct Complexes;
impl AttrSchema for Complexes {
    fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
        let name = path.name.to_ascii_lowercase();
        let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
        match (name.as_str(), sub.as_deref()) {
            ("emails" | "x509certificates" | "name", None) => {
                Some(AttrInfo::new(AttrType::Complex).multi_valued(name != "name"))
            }
            ("emails", Some("value" | "type")) => {
                Some(AttrInfo::new(AttrType::String).multi_valued(true))
            }
            ("x509certificates", Some("value")) => {
                Some(AttrInfo::new(AttrType::Binary).multi_valued(true))
            }
            ("name", Some("givenname" | "familyname")) => Some(AttrInfo::new(AttrType::String)),
            _ => None,
        }
    }
}

fn matches_with(schema: &dyn AttrSchema, filter: &str, resource: &Value) -> bool {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    CompiledFilter::compile(&f, schema)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(resource)
}

/// RFC 7644 §3.4.2.2: a complex attribute compared without a sub-attribute is compared
/// through its `value`, for every operator, with the type of `value` (its example
/// `emails co "example.com" or emails.value co "example.org"`).
#[test]
fn complex_attributes_compare_their_value_for_every_operator() {
    let u = user();
    for (op, lit, expected) in [
        ("eq", "bjensen@example.com", true),
        ("ne", "bjensen@example.com", true),
        ("co", "example.com", true),
        ("co", "example.net", false),
        ("sw", "BABS@", true),
        ("ew", "@jensen.org", true),
        ("gt", "bjensen@example.com", false),
        ("ge", "bjensen@example.com", true),
        ("lt", "babs@jensen.org", false),
        ("le", "babs@jensen.org", true),
    ] {
        for schema in [&Complexes as &dyn AttrSchema, &crate::Schemaless] {
            let whole = format!(r#"emails {op} "{lit}""#);
            let value = format!(r#"emails.value {op} "{lit}""#);
            assert_eq!(matches_with(schema, &whole, &u), expected, "{whole}");
            assert_eq!(matches_with(schema, &value, &u), expected, "{value}");
        }
    }
    // The RFC's own example.
    let rfc =
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#;
    let mut employee = u.clone();
    employee["userType"] = json!("Employee");
    assert!(matches_with(&Complexes, rfc, &employee));
    assert!(!matches_with(&Complexes, rfc, &u));
    // `pr` and `eq null` stay on the attribute: it has a value, some sub-attribute's.
    let no_value = json!({"emails": [{"type": "work"}]});
    assert!(matches_with(&Complexes, "emails pr", &no_value));
    assert!(!matches_with(&Complexes, "emails eq null", &no_value));
    assert!(!matches_with(&Complexes, r#"emails ne "x""#, &no_value));
    // The type is the value's: a binary `value` refuses substring and ordering operators,
    // whether the filter names it or not.
    for text in [
        r#"x509Certificates co "MII""#,
        r#"x509Certificates.value co "MII""#,
        r#"x509Certificates gt "A""#,
    ] {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{e}"));
        let e = CompiledFilter::compile(&f, &Complexes)
            .err()
            .map(|e| e.kind().clone());
        assert!(
            matches!(e, Some(CompileErrorKind::OperatorType { .. })),
            "{text}: {e:?}"
        );
    }
    // An OR chain of `eq` on a complex attribute (grouped into one set lookup) compares
    // `value` as its operands do (fuzz finding `or-chain-on-a-complex-attribute`).
    let odd = json!({"Name": "c", "emails": "a@x"});
    for chain in [
        r#"name eq "a" or name eq "b" or Name eq "c" or name eq "d" or title pr"#,
        r#"name eq "c" or title pr"#,
        r#"emails eq "a@x" or emails eq "b@x" or emails eq "c@x" or emails eq "d@x""#,
    ] {
        assert!(!matches_with(&Complexes, chain, &odd), "{chain}");
    }
    let mut listed = u.clone();
    listed["title"] = Value::Null;
    assert!(matches_with(
        &Complexes,
        r#"emails eq "x@y" or emails eq "z@y" or emails eq "q@y" or EMAILS eq "BABS@jensen.org""#,
        &listed
    ));
    // A complex attribute without `value` has nothing to compare.
    assert!(!matches_with(&Complexes, r#"name co "jensen""#, &u));
    assert!(!matches_with(&Complexes, r#"name ne "jensen""#, &u));
}

#[test]
fn extension_urns_are_never_split_on_the_dot() {
    let u = user();
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        &u
    ));
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName sw "john""#,
        &u
    ));
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#,
        &u
    ));
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "barbara""#,
        &u
    ));
    assert!(!matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName pr"#,
        &u
    ));
}

#[test]
fn urn_location_from_the_schema() {
    struct Ext;
    impl AttrSchema for Ext {
        fn attribute(&self, _: &AttrPath) -> Option<AttrInfo> {
            None
        }
        fn urn_location(&self, urn: &str) -> Option<UrnLocation> {
            Some(if urn.contains(":extension:") {
                UrnLocation::Extension
            } else {
                UrnLocation::Core
            })
        }
    }
    let f = Filter::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName pr")
        .unwrap_or_else(|e| panic!("{e}"));
    let c = CompiledFilter::compile(&f, &Ext).unwrap_or_else(|e| panic!("{e}"));
    // An extension without the attribute does not fall back to the core attributes.
    assert!(!c.matches(
        &json!({"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {}})
    ));
    assert!(!c.matches(&json!({"userName": "x"})));
}

/// A URN the schema says is not one of the resource type's (`Foreign`) names nothing: the
/// attribute is absent, whatever the document holds at the top level or under that key.
#[test]
fn foreign_urns_name_nothing() {
    struct UserOnly;
    impl AttrSchema for UserOnly {
        fn attribute(&self, _: &AttrPath) -> Option<AttrInfo> {
            None
        }
        fn urn_location(&self, urn: &str) -> Option<UrnLocation> {
            Some(
                if urn.eq_ignore_ascii_case("urn:ietf:params:scim:schemas:core:2.0:User") {
                    UrnLocation::Core
                } else {
                    UrnLocation::Foreign
                },
            )
        }
    }
    let group = "urn:ietf:params:scim:schemas:core:2.0:Group";
    let alice = json!({"userName": "alice", group: {"userName": "alice"}});
    for (text, expected) in [
        (format!(r#"{group}:userName eq "alice""#), false),
        (format!("{group}:userName pr"), false),
        (format!(r#"{group}:userName ne "bob""#), false),
        (format!("{group}:userName eq null"), true),
        (format!(r#"not ({group}:userName eq "alice")"#), true),
        (format!(r#"{group}:emails[value eq "x"]"#), false),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice""#.to_owned(),
            true,
        ),
    ] {
        assert_eq!(matches_with(&UserOnly, &text, &alice), expected, "{text}");
    }
}

#[test]
fn long_or_chains_become_a_set() {
    let names: Vec<String> = (0..50).map(|i| format!("user{i}@example.com")).collect();
    let text = names
        .iter()
        .map(|n| format!("userName eq \"{}\"", n.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" or ");
    let f = Filter::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let c = CompiledFilter::compile_schemaless(&f).unwrap_or_else(|e| panic!("{e}"));
    let ResolvedNode::Leaf(attr, Condition::TextIn(set)) = c.resolved() else {
        panic!("not merged: {c:?}")
    };
    assert_eq!(attr.name(), "username");
    assert!(!set.case_exact());
    assert_eq!(set.literals().len(), 50);
    assert!(set.literals().contains(&"user7@example.com"));
    assert!(c.matches(&json!({"userName": "user17@example.com"})));
    assert!(c.matches(&json!({"userName": "USER49@Example.COM"})));
    assert!(!c.matches(&json!({"userName": "user50@example.com"})));
    assert!(c.matches(&json!({"userName": ["x", "user3@example.com"]})));
    // Non-ASCII values take the Unicode path.
    let f = Filter::parse(r#"a eq "É" or a eq "b" or a eq "c" or a eq "d""#)
        .unwrap_or_else(|e| panic!("{e}"));
    let c = CompiledFilter::compile_schemaless(&f).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.matches(&json!({"a": "é"})));
}

#[test]
fn custom_types_normalise_both_sides() {
    #[derive(Debug)]
    struct E164;
    impl CustomType for E164 {
        fn name(&self) -> &str {
            "E.164 phone number"
        }
        fn normalize(&self, value: &str) -> Option<String> {
            let digits: String = value.chars().filter(char::is_ascii_digit).collect();
            (!digits.is_empty()).then(|| format!("+{digits}"))
        }
    }
    struct Phones;
    impl AttrSchema for Phones {
        fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
            (path.name == "phoneNumbers" && path.sub_attr.as_deref() == Some("value"))
                .then(|| AttrInfo::new(AttrType::String).custom(Arc::new(E164)))
        }
    }
    let u = json!({"phoneNumbers": [{"value": "+15550100001", "type": "work"}]});
    let f = Filter::parse(r#"phoneNumbers.value eq "+1 (555) 010-0001""#)
        .unwrap_or_else(|e| panic!("{e}"));
    let c = CompiledFilter::compile(&f, &Phones).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.matches(&u));
    let f = Filter::parse(r#"phoneNumbers[value eq "1-555-010-0001" and type eq "work"]"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let c = CompiledFilter::compile(&f, &Phones).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.matches(&u));
    let f = Filter::parse(r#"phoneNumbers.value eq "call me""#).unwrap_or_else(|e| panic!("{e}"));
    assert!(CompiledFilter::compile(&f, &Phones).is_err());
}

#[test]
fn non_objects_never_match() {
    let f = Filter::parse("not (a pr)").unwrap_or_else(|e| panic!("{e}"));
    let c = CompiledFilter::compile_schemaless(&f).unwrap_or_else(|e| panic!("{e}"));
    for v in [json!(null), json!(1), json!("a"), json!([])] {
        assert!(!c.matches(&v));
    }
    assert!(c.matches(&json!({})));
}

/// Fuzz finding `filter_eval-or-vs-operands` (shared/fuzz-findings): on a document whose keys
/// differ only by case, an OR chain grouped `userName` and `usernaMe` into one set lookup
/// under the first spelling, so the chain answered false while an operand answered true.
#[test]
fn or_chains_answer_as_their_operands_on_keys_duplicated_by_case() {
    let doc = json!({"userName": "a", "usernaMe": ""});
    let chain = r#"userName eq "" or userName gt "a" or usernaMe eq """#;
    let operands = [
        r#"userName eq """#,
        r#"userName gt "a""#,
        r#"usernaMe eq """#,
    ];
    assert_eq!(
        matches(chain, &doc),
        operands.iter().any(|f| matches(f, &doc)),
    );
    // Long chains become set lookups: the same holds there.
    let long = (0..6)
        .map(|i| format!(r#"userName eq "x{i}""#))
        .chain([r#"usernaMe eq """#.to_owned()])
        .collect::<Vec<_>>()
        .join(" or ");
    assert!(matches(&long, &doc));
}

/// One rule for keys duplicated by case: every key naming the attribute holds its values, and
/// a test matches when any of them does. The answer does not depend on how the filter spells
/// the name, in an OR chain (grouped by attribute) or alone.
#[test]
fn keys_duplicated_by_case_are_all_the_attributes_values() {
    let doc = json!({"userName": "a", "usernaMe": ""});
    for spelling in ["userName", "usernaMe", "USERNAME", "username"] {
        assert!(matches(&format!(r#"{spelling} eq """#), &doc), "{spelling}");
        assert!(
            matches(&format!(r#"{spelling} eq "A""#), &doc),
            "{spelling}"
        );
        assert!(
            !matches(&format!(r#"{spelling} gt "a""#), &doc),
            "{spelling}"
        );
        assert!(matches(&format!("{spelling} pr"), &doc), "{spelling}");
        assert!(
            !matches(&format!(r#"not ({spelling} eq "")"#), &doc),
            "{spelling}"
        );
        assert!(
            matches(&format!(r#"{spelling} ne "a""#), &doc),
            "{spelling}"
        );
        let chain = format!(r#"{spelling} eq "x" or userName gt "a" or {spelling} eq """#);
        assert!(matches(&chain, &doc), "{chain}");
    }
    // Sub-attributes and extensions alike.
    let doc = json!({"emails": [{"value": "a@x", "VALUE": "b@y"}], "Emails": [{"type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "X"},
        "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"department": "Y"}});
    assert!(matches(r#"emails.value eq "b@y""#, &doc));
    assert!(matches(r#"emails.type eq "home""#, &doc));
    assert!(matches(r#"emails[value eq "a@x"]"#, &doc));
    assert!(matches(r#"EMAILS[type eq "home"]"#, &doc));
    for dept in ["X", "Y"] {
        assert!(matches(
            &format!(
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "{dept}""#
            ),
            &doc
        ));
    }
}

/// The enterprise extension's `manager` (complex, with a caseExact `value`) and `emails` of
/// [`Complexes`], with the User and enterprise URNs known and every other URN foreign.
struct Enterprise;
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
impl AttrSchema for Enterprise {
    fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
        let name = path.name.to_ascii_lowercase();
        match (name.as_str(), path.sub_attr.as_deref()) {
            ("manager", None) => Some(AttrInfo::new(AttrType::Complex)),
            ("manager", Some(s)) if s.eq_ignore_ascii_case("value") => {
                Some(AttrInfo::new(AttrType::String).case_exact(true))
            }
            ("meta", Some(s)) if s.eq_ignore_ascii_case("created") => {
                Some(AttrInfo::new(AttrType::DateTime))
            }
            _ => Complexes.attribute(path),
        }
    }
    fn urn_location(&self, urn: &str) -> Option<UrnLocation> {
        Some(if urn.eq_ignore_ascii_case(ENTERPRISE) {
            UrnLocation::Extension
        } else if urn.eq_ignore_ascii_case("urn:ietf:params:scim:schemas:core:2.0:User") {
            UrnLocation::Core
        } else {
            UrnLocation::Foreign
        })
    }
}

/// The single leaf of `filter` compiled against `schema`.
fn leaf(schema: &dyn AttrSchema, filter: &str) -> (ResolvedAttr, Condition) {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let c = CompiledFilter::compile(&f, schema).unwrap_or_else(|e| panic!("{filter}: {e}"));
    match c.resolved() {
        ResolvedNode::Leaf(attr, cond) => (attr.clone(), cond.clone()),
        other => panic!("{filter}: not a leaf: {other:?}"),
    }
}

#[test]
fn resolved_leaves_carry_location_attribute_and_typed_literal() {
    // An extension attribute's sub-attribute, with its characteristics.
    let (attr, cond) = leaf(
        &Enterprise,
        &format!(r#"{ENTERPRISE}:manager.value eq "Ab""#),
    );
    assert_eq!(
        attr.location(),
        &Location::Extension(ENTERPRISE.to_ascii_lowercase().into())
    );
    assert_eq!((attr.name(), attr.sub_attr()), ("manager", Some("value")));
    assert_eq!(attr.attr_type(), Some(AttrType::String));
    assert!(attr.case_exact());
    assert_eq!(attr.multi_valued(), Some(false));
    assert_eq!(attr.is_complex(), Some(false));
    let Condition::Text(t) = cond else {
        panic!("{cond:?}")
    };
    assert_eq!(
        (t.op(), t.literal(), t.case_exact()),
        (CompareOp::Eq, "Ab", true)
    );
    assert_eq!(t.instant(), None);

    // The complex attribute compared directly: its `value`, the same leaf.
    let (direct, _) = leaf(&Enterprise, &format!(r#"{ENTERPRISE}:manager eq "Ab""#));
    assert!(direct.same_place(&attr) && direct.case_exact());
    // `pr` stays on the attribute.
    let (whole, cond) = leaf(&Enterprise, &format!("{ENTERPRISE}:manager pr"));
    assert_eq!((whole.sub_attr(), whole.is_complex()), (None, Some(true)));
    assert!(matches!(cond, Condition::Present));

    // `emails co "x"` is `emails.value co "x"`, multi-valued, case-insensitive.
    let (attr, cond) = leaf(&Enterprise, r#"emails co "X""#);
    assert_eq!(attr.location(), &Location::Core);
    assert_eq!((attr.name(), attr.sub_attr()), ("emails", Some("value")));
    assert_eq!(attr.multi_valued(), Some(true));
    assert!(!attr.case_exact());
    assert!(matches!(&cond, Condition::Text(t) if t.op() == CompareOp::Co && t.literal() == "x"));

    // The core schema's URN is the top level; another schema's names nothing.
    let (attr, _) = leaf(
        &Enterprise,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
    );
    assert_eq!(
        (attr.location(), attr.name()),
        (&Location::Core, "username")
    );
    let (attr, _) = leaf(
        &Enterprise,
        r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "a""#,
    );
    assert_eq!(attr.location(), &Location::Foreign);
    // Without a schema, an unknown URN: the extension when the resource has it, else core.
    let (attr, _) = leaf(&crate::Schemaless, r#"urn:x:Ext:badge eq "a""#);
    assert_eq!(
        attr.location(),
        &Location::ExtensionOrCore("urn:x:ext".into())
    );
    assert_eq!(attr.info().map(|i| i.attr_type), None);

    // Literals in their typed form.
    let (_, cond) = leaf(
        &Enterprise,
        r#"meta.created gt "2020-01-01T01:00:00+01:00""#,
    );
    let Condition::Text(t) = cond else {
        panic!("{cond:?}")
    };
    assert_eq!(t.instant(), Instant::parse("2020-01-01T00:00:00Z"));
    let (_, cond) = leaf(&Enterprise, "loginCount le 12");
    assert!(
        matches!(cond, Condition::Number(n) if n.op() == CompareOp::Le && n.literal() == NumberLiteral::Int(12))
    );
    let (_, cond) = leaf(&Enterprise, "title ne null");
    assert!(matches!(cond, Condition::Present));
    let (_, cond) = leaf(&Enterprise, "title eq null");
    assert!(matches!(cond, Condition::Absent));
    let (_, cond) = leaf(&Enterprise, "active ne true");
    assert!(matches!(cond, Condition::Ne(inner) if matches!(*inner, Condition::Bool(true))));
}

#[test]
fn value_path_leaves_are_in_the_element() {
    let f = Filter::parse(r#"emails[type eq "work" and value co "@x"]"#).unwrap();
    let c = CompiledFilter::compile(&f, &Enterprise).unwrap();
    let ResolvedNode::ValuePath(attr, inner) = c.resolved() else {
        panic!("{c:?}")
    };
    assert_eq!((attr.location(), attr.name()), (&Location::Core, "emails"));
    assert_eq!(attr.is_complex(), Some(true));
    let ResolvedNode::And(ops) = &**inner else {
        panic!("{inner:?}")
    };
    for op in ops.iter() {
        let ResolvedNode::Leaf(a, _) = op else {
            panic!("{op:?}")
        };
        // Relative to the element, with the characteristics of `emails.<sub>`.
        assert_eq!((a.location(), a.sub_attr()), (&Location::Element, None));
        assert_eq!(a.attr_type(), Some(AttrType::String));
    }
}
