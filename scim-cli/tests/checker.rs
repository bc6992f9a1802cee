//! What third-party SCIM conformance checkers do, done here first: read the discovery
//! endpoints, create a resource of every type with every writable attribute filled, request
//! each attribute as a projection, PATCH add/replace/remove each attribute, and validate
//! every response against the published schemas.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_core::{block_on, Method, Request, RequestContext};
use scim_schema::{AttrType, Attribute, Mutability, Returned, Schema};
use serde_json::{json, Value};

fn sample(attr: &Attribute, n: usize) -> Value {
    if attr.name == "members" {
        // Members must be existing resources (RFC 7643 §4.2).
        return json!([{"value": MEMBER.with(|m| m.borrow().clone()), "type": "User"}]);
    }
    let one = |a: &Attribute| -> Value {
        match a.attr_type {
            AttrType::String => match a.canonical_values.first() {
                Some(c) => json!(c),
                None => json!(format!("{}-{n}", a.name)),
            },
            AttrType::Boolean => json!(n % 2 == 0),
            AttrType::Decimal => json!(1.5 + n as f64),
            AttrType::Integer => json!(n as i64 + 1),
            AttrType::DateTime => json!("2024-01-02T03:04:05Z"),
            AttrType::Binary => json!("TUlJRE9EQ0NBcUNnQXdJQkFnSUpBS0JT"),
            AttrType::Reference => json!(format!("https://example.com/ref/{}-{n}", a.name)),
            _ => Value::Null,
        }
    };
    let value = if attr.attr_type == AttrType::Complex {
        let mut o = serde_json::Map::new();
        for sub in attr.sub_attributes.iter().filter(|s| writable(s)) {
            if sub.name == "primary" {
                o.insert(sub.name.clone(), json!(true));
            } else if sub.attr_type == AttrType::Reference && sub.name == "$ref" {
                continue; // references to other resources are not invented
            } else {
                o.insert(sub.name.clone(), one(sub));
            }
        }
        Value::Object(o)
    } else {
        one(attr)
    };
    if attr.multi_valued {
        json!([value])
    } else {
        value
    }
}

thread_local! {
    static MEMBER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn writable(a: &Attribute) -> bool {
    !matches!(a.mutability, Mutability::ReadOnly)
}

fn call(engine: &scim_core::Engine<scim_cli::store::HostStore>, req: Request) -> (u16, Value) {
    let resp = block_on(engine.handle(&RequestContext::new(chrono::Utc::now()), req));
    (resp.status, resp.body_json())
}

/// Every response resource must validate as a stored resource of its type, and show no
/// `returned: never` attribute.
/// A projected response may lack required attributes; everything it shows must still fit.
fn check(registry: &scim_schema::Registry, rt_name: &str, resource: &Value) {
    check_as(registry, rt_name, resource, false)
}

fn check_as(registry: &scim_schema::Registry, rt_name: &str, resource: &Value, projected: bool) {
    let rt = registry.resource_type(rt_name).unwrap();
    if let Err(e) = rt.check_resource(resource.clone(), &scim_schema::ValidationOptions::default())
    {
        let real: Vec<_> = e
            .issues()
            .iter()
            .filter(|i| !(projected && i.kind == scim_schema::IssueKind::Required))
            .collect();
        assert!(
            real.is_empty(),
            "{rt_name} response does not validate against its schema: {real:?}\n{resource}"
        );
    }
    for schema in std::iter::once(rt.core_schema()).chain(rt.extensions().map(|(s, _)| s)) {
        for a in schema
            .attributes
            .iter()
            .filter(|a| a.returned == Returned::Never)
        {
            assert!(
                resource.get(&a.name).is_none(),
                "{rt_name}: {} returned",
                a.name
            );
        }
    }
}

#[test]
fn every_type_every_attribute() {
    let engine = scim_cli::serve::engine(
        "http://localhost/scim/v2",
        &scim_cli::serve::ServeOptions::new(),
    )
    .unwrap();
    let registry = engine.registry().clone();
    let (status, member) = call(
        &engine,
        Request::new(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "member"})),
    );
    assert_eq!(status, 201);
    MEMBER.with(|m| *m.borrow_mut() = member["id"].as_str().unwrap().to_owned());
    // Discovery: every resource type and its schemas are published.
    let (status, types) = call(&engine, Request::new(Method::Get, "/ResourceTypes"));
    assert_eq!(status, 200);
    for rt_doc in types["Resources"].as_array().unwrap() {
        let name = rt_doc["name"].as_str().unwrap();
        let endpoint = rt_doc["endpoint"].as_str().unwrap();
        let core_urn = rt_doc["schema"].as_str().unwrap();
        let (status, schema_doc) = call(
            &engine,
            Request::new(Method::Get, format!("/Schemas/{core_urn}")),
        );
        assert_eq!(status, 200, "{core_urn}");
        let schema: Schema = serde_json::from_value(schema_doc).unwrap();
        let mut body = json!({"schemas": [core_urn]});
        let rt = registry.resource_type(name).unwrap();
        for a in schema.attributes.iter().filter(|a| writable(a)) {
            body[&a.name] = sample(a, 1);
        }
        for (ext, _) in rt.extensions() {
            let mut o = serde_json::Map::new();
            for a in ext
                .attributes
                .iter()
                .filter(|a| writable(a) && a.attr_type != AttrType::Complex)
            {
                o.insert(a.name.clone(), sample(a, 1));
            }
            body["schemas"].as_array_mut().unwrap().push(json!(ext.id));
            body[&ext.id] = Value::Object(o);
        }
        let (status, created) = call(
            &engine,
            Request::new(Method::Post, endpoint).with_json(&body),
        );
        assert_eq!(status, 201, "{name}: {created}\n{body}");
        check(&registry, name, &created);
        let id = created["id"].as_str().unwrap().to_owned();
        let path = format!("{endpoint}/{id}");
        // Every attribute alone as a projection, and excluded.
        for a in &schema.attributes {
            for (param, value) in [("attributes", &a.name), ("excludedAttributes", &a.name)] {
                let (status, shown) = call(
                    &engine,
                    Request::new(Method::Get, &path).with_query(param, value.as_str()),
                );
                assert_eq!(status, 200, "{name} {param}={value}");
                check_as(&registry, name, &shown, true);
                assert!(shown.get("id").is_some());
                if param == "excludedAttributes" && a.returned != Returned::Always {
                    assert!(
                        shown.get(&a.name).is_none(),
                        "{name}: excluded {} shown",
                        a.name
                    );
                }
            }
        }
        // PATCH replace, add and remove of each writable attribute.
        for a in schema.attributes.iter().filter(|a| writable(a)) {
            let patch = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
            let (status, replaced) = call(
                &engine,
                Request::new(Method::Patch, &path).with_json(&patch(
                    json!([{"op": "replace", "path": a.name, "value": sample(a, 2)}]),
                )),
            );
            assert_eq!(status, 200, "{name} replace {}: {replaced}", a.name);
            check(&registry, name, &replaced);
            let (status, added) = call(
                &engine,
                Request::new(Method::Patch, &path).with_json(&patch(
                    json!([{"op": "add", "path": a.name, "value": sample(a, 3)}]),
                )),
            );
            assert_eq!(status, 200, "{name} add {}: {added}", a.name);
            check(&registry, name, &added);
            if !a.required {
                let (status, removed) = call(
                    &engine,
                    Request::new(Method::Patch, &path)
                        .with_json(&patch(json!([{"op": "remove", "path": a.name}]))),
                );
                assert_eq!(status, 200, "{name} remove {}: {removed}", a.name);
                check(&registry, name, &removed);
                if a.returned != Returned::Never {
                    assert!(
                        removed.get(&a.name).is_none(),
                        "{name}: {} still there after remove",
                        a.name
                    );
                }
            } else {
                let (status, err) = call(
                    &engine,
                    Request::new(Method::Patch, &path)
                        .with_json(&patch(json!([{"op": "remove", "path": a.name}]))),
                );
                assert_eq!(
                    (status, err["scimType"].as_str()),
                    (400, Some("invalidValue")),
                    "{name} remove required {}",
                    a.name
                );
            }
        }
        // Readonly attributes refuse changes.
        for a in schema
            .attributes
            .iter()
            .filter(|a| a.mutability == Mutability::ReadOnly)
        {
            let (status, err) = call(
                &engine,
                Request::new(Method::Patch, &path).with_json(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": a.name, "value": sample(a, 4)}]})),
            );
            assert_eq!(
                (status, err["scimType"].as_str()),
                (400, Some("mutability")),
                "{name} readOnly {}",
                a.name
            );
        }
        let (status, _) = call(&engine, Request::new(Method::Delete, &path));
        assert_eq!(status, 204);
    }
}
