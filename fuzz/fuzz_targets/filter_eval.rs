//! Compiling and evaluating filters (RFC 7644 §3.4.2.2) against JSON resources.
//!
//! Input: `<filter text> NUL <JSON text>` (the part after the first 0x00 byte is optional;
//! a raw NUL can never be part of a valid filter, so the split loses nothing).
//!
//! For every filter that parses, schema-less and against a small typed User schema:
//! - compiling never panics, and `not (F)` compiles exactly when `F` does, with the same
//!   error;
//! - evaluating never panics, on fixed resources (a full SCIM User with emails,
//!   phoneNumbers, meta and the enterprise extension; odd shapes; non-objects), on the
//!   fuzzed JSON, and on the full User with the fuzzed JSON spliced into its attributes;
//! - `not (F)` matches an object exactly when `F` does not; nothing matches a non-object;
//!   `matches_map` agrees with `matches`;
//! - an `and`/`or` chain matches exactly when all/any of its operands, each compiled on
//!   its own, match (this checks the OR-of-`eq` set optimisation against plain tests);
//! - schema-less, flipping the case of the ASCII letters in a resource's string values
//!   changes nothing (strings compare case-insensitively without a schema);
//! - flipping the case of every attribute name and URN in the filter changes nothing (names
//!   are case-insensitive, RFC 7643 §2.1; a document with keys duplicated by case holds
//!   the values of all of them, whichever spelling the filter uses).
//!
//! Besides the fixed and fuzzed resources, "probe" resources are built from the filter's
//! own paths and literals, so that leaves are also evaluated on values that match.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use scim_filter::{
    AttrInfo, AttrPath, AttrSchema, AttrType, CompiledFilter, CustomType, Filter, UrnLocation,
};
use serde_json::{json, Map, Value};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fuzz_target!(|data: &[u8]| {
    let (filter_bytes, json_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(text) = std::str::from_utf8(filter_bytes) else {
        return;
    };
    let Ok(filter) = Filter::parse(text) else {
        return;
    };
    let fuzzed: Option<Value> = json_bytes.and_then(|b| serde_json::from_slice(b).ok());

    let mut resources: Vec<Value> = fixed_resources().to_vec();
    resources.extend(probes(&filter));
    if let Some(v) = fuzzed {
        resources.push(splice(&v));
        resources.push(json!({ "emails": [v.clone()], "value": v.clone() }));
        resources.push(v);
    }

    check(&filter, &resources, true, |f| {
        CompiledFilter::compile_schemaless(f)
    });
    check(&filter, &resources, false, |f| {
        CompiledFilter::compile(f, &UserSchema)
    });
});

/// `case_insensitive`: no attribute is caseExact (schema-less), so flipping the case of
/// every ASCII letter in the resource's string values must not change the outcome.
fn check(
    filter: &Filter,
    resources: &[Value],
    case_insensitive: bool,
    compile: impl Fn(&Filter) -> Result<CompiledFilter, scim_filter::CompileError>,
) {
    let compiled = compile(filter);
    let respelled = compile(&scim_filter::__private::respell(filter));
    assert_eq!(
        compiled.is_ok(),
        respelled.is_ok(),
        "`{filter}` and its respelling `{}` compile differently",
        scim_filter::__private::respell(filter)
    );
    let negated_filter = Filter::Not(Box::new(filter.clone()));
    let negated = compile(&negated_filter);
    let (compiled, negated) = match (compiled, negated) {
        (Ok(c), Ok(n)) => (c, n),
        (Err(a), Err(b)) => {
            assert_eq!(
                a, b,
                "`{filter}` and its negation fail to compile differently"
            );
            assert_eq!(a.scim_type(), "invalidFilter");
            assert_eq!(a.status(), 400);
            assert!(!a.to_string().is_empty());
            return;
        }
        (a, b) => panic!(
            "`{filter}` compiles: {}, its negation compiles: {}",
            a.is_ok(),
            b.is_ok()
        ),
    };

    // Operands of a top-level chain, compiled on their own.
    let operands: Option<(bool, Vec<CompiledFilter>)> = match filter {
        Filter::And(ops) => ops
            .iter()
            .map(&compile)
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .map(|v| (true, v)),
        Filter::Or(ops) => ops
            .iter()
            .map(&compile)
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .map(|v| (false, v)),
        _ => None,
    };

    for resource in resources {
        let m = compiled.matches(resource);
        let n = negated.matches(resource);
        match resource {
            Value::Object(map) => {
                assert_eq!(
                    n, !m,
                    "`not ({filter})` is not the negation of `{filter}` on {resource}"
                );
                if let Ok(r) = &respelled {
                    assert_eq!(
                        r.matches(resource),
                        m,
                        "`{filter}` gives {m} on {resource}, its respelling `{}` does not",
                        scim_filter::__private::respell(filter)
                    );
                }
                assert_eq!(
                    compiled.matches_map(map),
                    m,
                    "matches_map disagrees on {resource}"
                );
                if case_insensitive {
                    let flipped = flip_case(resource);
                    assert_eq!(
                        compiled.matches(&flipped),
                        m,
                        "schema-less `{filter}` gives {m} on {resource} but not on its case-flipped copy {flipped}"
                    );
                }
            }
            _ => assert!(
                !m && !n,
                "`{filter}` or its negation matched non-object {resource}"
            ),
        }
        if let Some((is_and, ops)) = &operands {
            let each = ops.iter().map(|c| c.matches(resource));
            let expected = if *is_and {
                each.fold(true, |a, b| a && b)
            } else {
                each.fold(false, |a, b| a || b)
            };
            assert_eq!(
                m, expected,
                "`{filter}` gives {m} on {resource}, but its operands evaluated one by one give {expected}"
            );
        }
    }
}

/// Resources built from the filter's own attribute paths and literals, so that its leaves
/// (and the set lookup of long `eq` OR-chains) are also tested on values that match: one
/// resource holding every leaf's value, and one per leaf for the first few leaves.
fn probes(filter: &Filter) -> Vec<Value> {
    let mut leaves = Vec::new();
    collect_leaves(filter, &mut leaves);
    let mut all = Map::new();
    let mut out = Vec::new();
    for (i, (path, value)) in leaves.iter().enumerate() {
        insert_at(&mut all, path, value.clone());
        if i < 6 {
            let mut one = Map::new();
            insert_at(&mut one, path, value.clone());
            out.push(Value::Object(one));
        }
    }
    out.push(Value::Object(all));
    out
}

/// (path, value) for each test in `filter`; a valuePath's inner tests become one object in
/// an array at the valuePath's attribute.
fn collect_leaves(filter: &Filter, out: &mut Vec<(AttrPath, Value)>) {
    match filter {
        Filter::Present(path) => out.push((path.clone(), json!("present"))),
        Filter::Compare { path, value, .. } => out.push((path.clone(), value.to_json())),
        Filter::ValuePath(vp) => {
            let mut inner = Vec::new();
            collect_leaves(&vp.filter, &mut inner);
            let mut element = Map::new();
            for (path, value) in inner {
                insert_at(&mut element, &path, value);
            }
            out.push((vp.attr.clone(), json!([Value::Object(element)])));
        }
        Filter::Not(inner) => collect_leaves(inner, out),
        Filter::And(ops) | Filter::Or(ops) => {
            for op in ops {
                collect_leaves(op, out);
            }
        }
        _ => {}
    }
}

fn insert_at(obj: &mut Map<String, Value>, path: &AttrPath, value: Value) {
    let target = match &path.urn {
        Some(urn) => {
            let ext = obj
                .entry(urn.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            match ext {
                Value::Object(m) => m,
                _ => return,
            }
        }
        None => obj,
    };
    match &path.sub_attr {
        None => {
            target.insert(path.name.clone(), value);
        }
        Some(sub) => {
            let parent = target
                .entry(path.name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !parent.is_object() {
                *parent = Value::Object(Map::new());
            }
            if let Value::Object(m) = parent {
                m.insert(sub.clone(), value);
            }
        }
    }
}

/// `v` with the case of every ASCII letter in its string values (not keys) flipped.
fn flip_case(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(
            s.chars()
                .map(|c| {
                    if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(flip_case).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), flip_case(v))).collect())
        }
        other => other.clone(),
    }
}

/// The full User with the fuzzed value in place of several of its attributes.
fn splice(v: &Value) -> Value {
    let mut user = full_user().clone();
    if let Value::Object(map) = &mut user {
        for key in [
            "emails",
            "phoneNumbers",
            "title",
            "name",
            "meta",
            "active",
            "userName",
            ENTERPRISE_USER,
        ] {
            map.insert(key.to_owned(), v.clone());
        }
    }
    user
}

fn full_user() -> &'static Value {
    static USER: OnceLock<Value> = OnceLock::new();
    USER.get_or_init(|| {
        json!({
            "schemas": [CORE_USER, ENTERPRISE_USER],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {
                "formatted": "Ms. Barbara J Jensen, III",
                "familyName": "Jensen",
                "givenName": "Barbara",
                "middleName": "Jane",
                "honorificPrefix": "Ms.",
                "honorificSuffix": "III"
            },
            "displayName": "Babs Jensen",
            "nickName": "Babs",
            "profileUrl": "https://login.example.com/bjensen",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "addresses": [
                {
                    "streetAddress": "100 Universal City Plaza",
                    "locality": "Hollywood",
                    "region": "CA",
                    "postalCode": "91608",
                    "country": "USA",
                    "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
                    "type": "work",
                    "primary": true
                }
            ],
            "phoneNumbers": [
                {"value": "555-555-5555", "type": "work"},
                {"value": "+1 (555) 555-4444", "type": "mobile"}
            ],
            "ims": [{"value": "someaimhandle", "type": "aim"}],
            "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
            "userType": "Employee",
            "title": "Tour Guide",
            "preferredLanguage": "en-US",
            "locale": "en-US",
            "timezone": "America/Los_Angeles",
            "active": true,
            "groups": [
                {"value": "e9e30dba-f08f-4109-8486-d5c6a331660a",
                 "$ref": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                 "display": "Tour Guides"}
            ],
            "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
            "loginCount": 42,
            "score": 3.5,
            ENTERPRISE_USER: {
                "employeeNumber": "701984",
                "costCenter": "4130",
                "organization": "Universal Studios",
                "division": "Theme Park",
                "department": "Tour Operations",
                "manager": {
                    "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                    "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                    "displayName": "John Smith"
                }
            },
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": "W/\"3694e05e9dff591\"",
                "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
            }
        })
    })
}

fn fixed_resources() -> &'static [Value] {
    static RESOURCES: OnceLock<Vec<Value>> = OnceLock::new();
    RESOURCES.get_or_init(|| {
        vec![
            full_user().clone(),
            json!({}),
            json!({"userName": "x", "emails": [], "title": null, "name": {}}),
            // Odd shapes: case-variant keys, a complex attribute given as an object, scalar and
            // null elements, nested arrays, big and fractional numbers, offsets, non-ASCII text.
            json!({
                "USERNAME": "K\u{212a}elvin İstanbul Straße",
                "Emails": {"value": "Solo@Example.COM", "type": "WORK", "primary": "true"},
                "phoneNumbers": [null, "555", 5, [1, 2], {"value": ["+1 555", null]}],
                "schemas": [CORE_USER, "urn:example:x"],
                "active": "true",
                "loginCount": 18446744073709551615u64,
                "score": -0.0,
                "big": 1e300,
                "meta": {"lastModified": "2011-05-13T06:42:34.5+02:00", "created": "2011-05-13t04:42:34z"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"employeeNumber": 701984},
                "value": "top-level value",
                "$ref": "https://example.com/x"
            }),
            json!({ENTERPRISE_USER: "not an object", "urn:example:x": {"a": {"b": true}}}),
            json!([full_user().clone()]),
            json!("bjensen"),
            Value::Null,
        ]
    })
}

/// A few User attributes with their RFC 7643 §4.1 characteristics, so typed compilation
/// (dateTime literals, caseExact, boolean/binary/complex operator checks, a custom type)
/// is exercised too.
struct UserSchema;

#[derive(Debug)]
struct Digits;

impl CustomType for Digits {
    fn name(&self) -> &str {
        "phone digits"
    }
    fn normalize(&self, value: &str) -> Option<String> {
        let digits: String = value
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        (!digits.is_empty()).then_some(digits)
    }
}

impl AttrSchema for UserSchema {
    fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
        let enterprise = match &path.urn {
            None => None,
            Some(u) if u.eq_ignore_ascii_case(CORE_USER) => Some(false),
            Some(u) if u.eq_ignore_ascii_case(ENTERPRISE_USER) => Some(true),
            Some(_) => return None,
        };
        let name = path.name.to_ascii_lowercase();
        let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
        let string = || AttrInfo::new(AttrType::String);
        let info = match (enterprise.unwrap_or(false), name.as_str(), sub.as_deref()) {
            (true, "employeenumber", None) => string().case_exact(true),
            (true, "manager", None) => AttrInfo::new(AttrType::Complex),
            (true, "manager", Some("value")) => string().case_exact(true),
            (false, "id", None) => string().case_exact(true),
            (false, "username" | "displayname" | "title" | "usertype", None) => string(),
            (false, "active", None) => AttrInfo::new(AttrType::Boolean),
            (false, "logincount", None) => AttrInfo::new(AttrType::Integer),
            (false, "score", None) => AttrInfo::new(AttrType::Decimal),
            (false, "profileurl", None) => AttrInfo::new(AttrType::Reference).case_exact(true),
            (false, "meta", None) => AttrInfo::new(AttrType::Complex),
            (false, "meta", Some("created" | "lastmodified")) => AttrInfo::new(AttrType::DateTime),
            (false, "meta", Some(_)) => string().case_exact(true),
            (false, "name", None) => AttrInfo::new(AttrType::Complex),
            (false, "name", Some(_)) => string(),
            (false, "emails" | "phonenumbers" | "x509certificates", None) => {
                AttrInfo::new(AttrType::Complex).multi_valued(true)
            }
            (false, "emails", Some("value" | "type" | "display")) => string(),
            (false, "emails" | "phonenumbers", Some("primary")) => AttrInfo::new(AttrType::Boolean),
            (false, "phonenumbers", Some("value")) => string().custom(Arc::new(Digits)),
            (false, "phonenumbers", Some("type")) => string(),
            (false, "x509certificates", Some("value")) => AttrInfo::new(AttrType::Binary),
            (false, "schemas", None) => AttrInfo::new(AttrType::Reference)
                .case_exact(true)
                .multi_valued(true),
            _ => return None,
        };
        Some(info)
    }

    fn urn_location(&self, urn: &str) -> Option<UrnLocation> {
        if urn.eq_ignore_ascii_case(CORE_USER) {
            Some(UrnLocation::Core)
        } else if urn.eq_ignore_ascii_case(ENTERPRISE_USER) {
            Some(UrnLocation::Extension)
        } else if urn
            .get(..22)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:ietf:params:scim:s"))
        {
            // Another SCIM schema (e.g. Group's): not one of this type's, names nothing.
            Some(UrnLocation::Foreign)
        } else {
            None
        }
    }
}
