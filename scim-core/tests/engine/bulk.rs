//! `/Bulk` (RFC 7644 §3.7): the RFC's examples, `bulkId:` references in any order and in
//! paths, PUT/PATCH/DELETE, `failOnErrors`, circular and unknown references, the limits of
//! §3.7.4, versions, scopes, and passwords never leaving.

use scim_core::{Config, Engine, MemoryStore, Method, RequestContext, Scopes};
use serde_json::{json, Value};

use super::{ctx, engine, req, send, BASE};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn engine_with(config: Config) -> Engine<MemoryStore> {
    let registry = scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
        .build()
        .unwrap();
    Engine::new(registry, MemoryStore::new(), config)
}

fn bulk_body(operations: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": operations})
}

fn post_bulk_as(e: &Engine<MemoryStore>, c: &RequestContext, body: &Value) -> (u16, Value) {
    let (status, body, resp) = send(e, c, req(Method::Post, "/Bulk").with_json(body));
    assert_eq!(resp.header("Content-Type"), Some("application/scim+json"));
    (status, body)
}

/// POSTs a BulkRequest with `operations`; asserts 200 and a BulkResponse; returns its
/// `Operations`.
fn run(e: &Engine<MemoryStore>, operations: Value) -> Vec<Value> {
    run_body(e, &bulk_body(operations))
}

fn run_body(e: &Engine<MemoryStore>, body: &Value) -> Vec<Value> {
    let (status, response) = post_bulk_as(e, &ctx(), body);
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["schemas"], json!([BULK_RESPONSE]), "{response}");
    response["Operations"].as_array().unwrap().clone()
}

fn statuses(results: &[Value]) -> Vec<&str> {
    results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

/// The id at the end of an operation's `location`.
fn id_of(result: &Value) -> String {
    let location = result["location"].as_str().unwrap();
    location.rsplit('/').next().unwrap().to_owned()
}

fn create_user(e: &Engine<MemoryStore>, user_name: &str, extra: Value) -> String {
    let mut body = json!({"schemas": [USER], "userName": user_name});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    let (s, created, _) = send(e, &ctx(), req(Method::Post, "/Users").with_json(&body));
    assert_eq!(s, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn get(e: &Engine<MemoryStore>, path: &str) -> (u16, Value) {
    let (s, body, _) = send(e, &ctx(), req(Method::Get, path));
    (s, body)
}

fn total(e: &Engine<MemoryStore>, endpoint: &str) -> u64 {
    get(e, endpoint).1["totalResults"].as_u64().unwrap()
}

/// RFC 7644 §3.7.2, first example: a user, and a group that has it as a member.
#[test]
fn rfc_user_and_group_with_bulk_id() {
    let e = engine();
    let results = run(
        &e,
        json!([
            {"method": "POST", "path": "/Users", "bulkId": "qwerty",
             "data": {"schemas": [USER], "userName": "Alice"}},
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
             "data": {"schemas": [GROUP], "displayName": "Tour Guides",
                      "members": [{"type": "User", "value": "bulkId:qwerty"}]}}
        ]),
    );
    assert_eq!(statuses(&results), ["201", "201"]);
    let alice = id_of(&results[0]);
    assert_eq!(results[0]["method"], "POST");
    assert_eq!(results[0]["bulkId"], "qwerty");
    assert_eq!(results[0]["location"], format!("{BASE}/Users/{alice}"));
    assert_eq!(results[0]["version"], "W/\"1\"");
    assert!(results[0].get("response").is_none(), "{}", results[0]);
    assert_eq!(results[1]["bulkId"], "ytrewq");
    let (s, group) = get(&e, &format!("/Groups/{}", id_of(&results[1])));
    assert_eq!(s, 200);
    assert_eq!(group["displayName"], "Tour Guides");
    assert_eq!(group["members"][0]["value"], alice.as_str());
}

/// The same request with the operations swapped: the group waits for the user (§3.7.2), and
/// the response still lists the results in request order.
#[test]
fn references_to_later_operations_wait_for_them() {
    let e = engine();
    let results = run(
        &e,
        json!([
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
             "data": {"schemas": [GROUP], "displayName": "Tour Guides",
                      "members": [{"type": "User", "value": "bulkId:qwerty"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "qwerty",
             "data": {"schemas": [USER], "userName": "Alice"}}
        ]),
    );
    assert_eq!(statuses(&results), ["201", "201"]);
    assert_eq!(results[0]["bulkId"], "ytrewq");
    assert_eq!(results[1]["bulkId"], "qwerty");
    let alice = id_of(&results[1]);
    let (_, group) = get(&e, &format!("/Groups/{}", id_of(&results[0])));
    assert_eq!(group["members"][0]["value"], alice.as_str());
}

/// RFC 7644 §3.7.2, last example: a reference inside an extension (the enterprise manager).
#[test]
fn rfc_reference_inside_an_extension() {
    let e = engine();
    let results = run(
        &e,
        json!([
            {"method": "POST", "path": "/Users", "bulkId": "ytrewq",
             "data": {"schemas": [USER, ENTERPRISE], "userName": "Bob",
                      ENTERPRISE: {"employeeNumber": "11250", "manager": {"value": "bulkId:qwerty"}}}},
            {"method": "POST", "path": "/Users", "bulkId": "qwerty",
             "data": {"schemas": [USER], "userName": "Alice"}}
        ]),
    );
    assert_eq!(statuses(&results), ["201", "201"]);
    let (_, bob) = get(&e, &format!("/Users/{}", id_of(&results[0])));
    assert_eq!(
        bob[ENTERPRISE]["manager"]["value"],
        id_of(&results[1]).as_str()
    );
}

/// `bulkId:` in paths: PATCH, PUT and DELETE of resources the same request creates.
#[test]
fn references_in_paths() {
    let e = engine();
    let results = run(
        &e,
        json!([
            {"method": "PATCH", "path": "/Users/bulkId:carol",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Carol C."}]}},
            {"method": "POST", "path": "/Users", "bulkId": "carol",
             "data": {"schemas": [USER], "userName": "carol"}},
            {"method": "PUT", "path": "/Groups/bulkId:team",
             "data": {"schemas": [GROUP], "displayName": "Renamed",
                      "members": [{"value": "bulkId:carol"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "team",
             "data": {"schemas": [GROUP], "displayName": "Team"}},
            {"method": "POST", "path": "/Users", "bulkId": "temp",
             "data": {"schemas": [USER], "userName": "temp"}},
            {"method": "DELETE", "path": "/Users/bulkId:temp"}
        ]),
    );
    assert_eq!(
        statuses(&results),
        ["200", "201", "200", "201", "201", "204"],
        "{results:?}"
    );
    let carol = id_of(&results[1]);
    let team = id_of(&results[3]);
    let temp = id_of(&results[4]);
    assert_eq!(results[0]["location"], format!("{BASE}/Users/{carol}"));
    assert_eq!(results[0]["version"], "W/\"2\"");
    assert_eq!(results[2]["location"], format!("{BASE}/Groups/{team}"));
    assert_eq!(results[5]["location"], format!("{BASE}/Users/{temp}"));
    assert!(results[5].get("version").is_none());
    assert_eq!(
        get(&e, &format!("/Users/{carol}")).1["displayName"],
        "Carol C."
    );
    let (_, group) = get(&e, &format!("/Groups/{team}"));
    assert_eq!(group["displayName"], "Renamed");
    assert_eq!(group["members"][0]["value"], carol.as_str());
    assert_eq!(get(&e, &format!("/Users/{temp}")).0, 404);
}

/// RFC 7644 §3.7.3: add, update and remove users, with versions and `failOnErrors: 1`.
#[test]
fn rfc_add_update_remove() {
    let e = engine();
    let bob = create_user(&e, "bob", json!({}));
    let dave = create_user(&e, "dave", json!({"nickName": "D"}));
    let eve = create_user(&e, "eve", json!({}));
    let results = run_body(
        &e,
        &json!({
            "schemas": [BULK_REQUEST],
            "failOnErrors": 1,
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "qwerty",
                 "data": {"schemas": [USER], "userName": "Alice"}},
                {"method": "PUT", "path": format!("/Users/{bob}"), "version": "W/\"1\"",
                 "data": {"schemas": [USER], "id": bob, "userName": "Bob"}},
                {"method": "PATCH", "path": format!("/Users/{dave}"), "version": "W/\"1\"",
                 "data": {"schemas": [PATCH_OP], "Operations": [
                     {"op": "remove", "path": "nickName"},
                     {"op": "add", "path": "userName", "value": "Dave"}]}},
                {"method": "DELETE", "path": format!("/Users/{eve}"), "version": "W/\"1\""}
            ]
        }),
    );
    assert_eq!(
        statuses(&results),
        ["201", "200", "200", "204"],
        "{results:?}"
    );
    let methods: Vec<&str> = results
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["POST", "PUT", "PATCH", "DELETE"]);
    assert_eq!(results[1]["location"], format!("{BASE}/Users/{bob}"));
    assert_eq!(results[1]["version"], "W/\"2\"");
    assert_eq!(results[2]["location"], format!("{BASE}/Users/{dave}"));
    assert_eq!(results[2]["version"], "W/\"2\"");
    assert_eq!(results[3]["location"], format!("{BASE}/Users/{eve}"));
    assert!(results.iter().all(|r| r.get("response").is_none()));
    assert_eq!(get(&e, &format!("/Users/{bob}")).1["userName"], "Bob");
    let (_, d) = get(&e, &format!("/Users/{dave}"));
    assert_eq!(d["userName"], "Dave");
    assert!(d.get("nickName").is_none());
    assert_eq!(get(&e, &format!("/Users/{eve}")).0, 404);
}

fn failing_operations() -> Value {
    json!([
        {"method": "POST", "path": "/Users", "bulkId": "qwerty",
         "data": {"schemas": [USER]}},
        {"method": "PUT", "path": "/Users/b7c14771", "version": "W/\"3\"",
         "data": {"schemas": [USER], "userName": "Bob"}},
        {"method": "POST", "path": "/Users", "bulkId": "ok",
         "data": {"schemas": [USER], "userName": "Zed"}}
    ])
}

/// §3.7.3: with `failOnErrors`, processing stops after that many errors and the response
/// lists what ran; without it, everything runs.
#[test]
fn fail_on_errors() {
    let e = engine();
    let stop_at_one =
        json!({"schemas": [BULK_REQUEST], "failOnErrors": 1, "Operations": failing_operations()});
    let results = run_body(&e, &stop_at_one);
    assert_eq!(statuses(&results), ["400"]);
    let failed = &results[0];
    assert_eq!(failed["bulkId"], "qwerty");
    assert!(
        failed.get("location").is_none(),
        "a failed POST has no location"
    );
    assert_eq!(failed["response"]["schemas"], json!([ERROR]));
    assert_eq!(failed["response"]["status"], "400");
    assert!(failed["response"]["detail"].as_str().is_some());
    assert_eq!(total(&e, "/Users"), 0, "nothing after the error ran");

    let stop_at_two =
        json!({"schemas": [BULK_REQUEST], "failOnErrors": 2, "Operations": failing_operations()});
    assert_eq!(statuses(&run_body(&e, &stop_at_two)), ["400", "404"]);
    assert_eq!(total(&e, "/Users"), 0);

    let results = run(&e, failing_operations());
    assert_eq!(statuses(&results), ["400", "404", "201"]);
    assert_eq!(results[1]["location"], format!("{BASE}/Users/b7c14771"));
    assert_eq!(results[1]["response"]["status"], "404");
    assert_eq!(total(&e, "/Users"), 1);
}

/// RFC 7644 §3.7.1's example: two groups that are members of each other. We take the RFC's
/// option to answer 409 instead of resolving the circle; nothing is created, and operations
/// outside the circle still run.
#[test]
fn circular_references_fail_with_409() {
    let e = engine();
    let results = run(
        &e,
        json!([
            {"method": "POST", "path": "/Groups", "bulkId": "qwerty",
             "data": {"schemas": [GROUP], "displayName": "Group A",
                      "members": [{"type": "Group", "value": "bulkId:ytrewq"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
             "data": {"schemas": [GROUP], "displayName": "Group B",
                      "members": [{"type": "Group", "value": "bulkId:qwerty"}]}},
            {"method": "PATCH", "path": "/Groups/bulkId:qwerty",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "A"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "self",
             "data": {"schemas": [GROUP], "displayName": "Self",
                      "members": [{"type": "Group", "value": "bulkId:self"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "fine",
             "data": {"schemas": [GROUP], "displayName": "Fine"}}
        ]),
    );
    assert_eq!(
        statuses(&results),
        ["409", "409", "409", "409", "201"],
        "{results:?}"
    );
    for (result, names) in results.iter().zip(["ytrewq", "qwerty", "qwerty", "self"]) {
        let response = &result["response"];
        assert_eq!(response["schemas"], json!([ERROR]));
        assert_eq!(response["status"], "409");
        let detail = response["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("bulkId:{names}")), "{detail}");
        assert!(detail.contains("circular"), "{detail}");
        assert!(result.get("location").is_none(), "{result}");
    }
    assert_eq!(total(&e, "/Groups"), 1);
}

/// A reference no POST of the request declares, or whose POST failed: 409 naming it.
#[test]
fn unresolvable_references_fail_with_409() {
    let e = engine();
    let results = run(
        &e,
        json!([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "G",
                      "members": [{"value": "bulkId:nobody"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "broken",
             "data": {"schemas": [USER]}},
            {"method": "PATCH", "path": "/Users/bulkId:broken",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}},
            {"method": "DELETE", "path": "/Users/bulkId:nobody"},
            {"method": "PUT", "path": "/Users/bulkId:g",
             "data": {"schemas": [USER], "userName": "x"}},
            {"method": "PUT", "path": "/Users/bulkId:h",
             "data": {"schemas": [USER], "userName": "x"}},
            {"method": "POST", "path": "/Groups", "bulkId": "h",
             "data": {"schemas": [GROUP], "displayName": "H"}}
        ]),
    );
    assert_eq!(
        statuses(&results),
        ["409", "400", "409", "409", "409", "404", "201"],
        "{results:?}"
    );
    let detail = |i: usize| {
        results[i]["response"]["detail"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(detail(0).contains("bulkId:nobody"), "{}", detail(0));
    assert!(detail(2).contains("bulkId:broken") && detail(2).contains("failed"));
    assert!(detail(3).contains("bulkId:nobody"));
    assert!(detail(4).contains("bulkId:g") && detail(4).contains("failed"));
    // A reference resolves to an id whatever the type: `h` is a group, so `/Users/{h}` is not
    // found.
    assert_eq!(results[5]["response"]["status"], "404", "{}", results[5]);
    let h = id_of(&results[6]);
    assert_eq!(results[5]["location"], format!("{BASE}/Users/{h}"));
    assert_eq!(total(&e, "/Groups"), 1);
    assert_eq!(total(&e, "/Users"), 0);
}

/// §3.7.4: more operations than `maxOperations` → 413 naming the limit, and nothing runs.
#[test]
fn too_many_operations_is_413() {
    let e = engine_with(Config::new(BASE).bulk_max_operations(2));
    let op = |n: usize| {
        json!({"method": "POST", "path": "/Users", "bulkId": format!("u{n}"),
               "data": {"schemas": [USER], "userName": format!("user{n}")}})
    };
    let (s, body) = post_bulk_as(&e, &ctx(), &bulk_body(json!([op(1), op(2), op(3)])));
    assert_eq!(s, 413, "{body}");
    assert_eq!(body["schemas"], json!([ERROR]));
    assert_eq!(body["status"], "413");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("maxOperations (2)"));
    assert_eq!(total(&e, "/Users"), 0);
    assert_eq!(statuses(&run(&e, json!([op(1), op(2)]))), ["201", "201"]);

    // The default is 1000.
    let e = engine();
    let many: Vec<Value> = (0..1001)
        .map(|n| json!({"method": "DELETE", "path": format!("/Users/{n}")}))
        .collect();
    let (s, body) = post_bulk_as(&e, &ctx(), &bulk_body(Value::Array(many)));
    assert_eq!(s, 413, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("maxOperations (1000)"));
}

/// §3.7.4: a body larger than `maxPayloadSize` → 413 naming the limit.
#[test]
fn payload_too_large_is_413() {
    let e = engine_with(Config::new(BASE).bulk_max_payload(300));
    let body = bulk_body(json!([
        {"method": "POST", "path": "/Users", "bulkId": "a",
         "data": {"schemas": [USER], "userName": "a".repeat(300)}}
    ]));
    let (s, response) = post_bulk_as(&e, &ctx(), &body);
    assert_eq!(s, 413, "{response}");
    assert_eq!(response["status"], "413");
    assert!(response["detail"]
        .as_str()
        .unwrap()
        .contains("maxPayloadSize (300)"));
    assert_eq!(total(&e, "/Users"), 0);

    // The default, 1 MiB, which is also the limit on every request.
    let e = engine();
    let body = bulk_body(json!([
        {"method": "POST", "path": "/Users", "bulkId": "a",
         "data": {"schemas": [USER], "userName": "a".repeat(1 << 20)}}
    ]));
    let (s, response) = post_bulk_as(&e, &ctx(), &body);
    assert_eq!(s, 413, "{response}");
    assert!(response["detail"].as_str().unwrap().contains("1048576"));
}

/// `/ServiceProviderConfig` reports bulk support and its limits as configured.
#[test]
fn service_provider_config_reports_bulk() {
    let (_, spc) = get(&engine(), "/ServiceProviderConfig");
    assert_eq!(
        spc["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576})
    );
    let e = engine_with(
        Config::new(BASE)
            .bulk_max_operations(10)
            .bulk_max_payload(4096),
    );
    let (_, spc) = get(&e, "/ServiceProviderConfig");
    assert_eq!(
        spc["bulk"],
        json!({"supported": true, "maxOperations": 10, "maxPayloadSize": 4096})
    );
    // `max_payload` holds for every request, so the smaller limit is the one reported.
    let mut config = Config::new(BASE).bulk_max_payload(1 << 24);
    config.max_payload = 2048;
    let (_, spc) = get(&engine_with(config), "/ServiceProviderConfig");
    assert_eq!(spc["bulk"]["maxPayloadSize"], 2048);
    // Zero operations turns bulk off.
    let off = engine_with(Config::new(BASE).bulk_max_operations(0));
    let (_, spc) = get(&off, "/ServiceProviderConfig");
    assert_eq!(spc["bulk"]["supported"], false);
    let (s, _) = post_bulk_as(&off, &ctx(), &bulk_body(json!([])));
    assert_eq!(s, 501);
}

/// `version` becomes `If-Match`: a stale one → 412, with the resource's location.
#[test]
fn version_mismatch_is_412() {
    let e = engine();
    let id = create_user(&e, "bjensen", json!({}));
    let path = format!("/Users/{id}");
    let results = run(
        &e,
        json!([
            {"method": "PUT", "path": path, "version": "W/\"9\"",
             "data": {"schemas": [USER], "userName": "bjensen2"}},
            {"method": "PATCH", "path": path, "version": "W/\"9\"",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}},
            {"method": "DELETE", "path": path, "version": "W/\"9\""},
            {"method": "PATCH", "path": path, "version": "W/\"1\"",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}}
        ]),
    );
    assert_eq!(statuses(&results), ["412", "412", "412", "200"]);
    for r in &results[..3] {
        assert_eq!(r["location"], format!("{BASE}{path}"));
        assert_eq!(r["response"]["status"], "412");
        assert_eq!(r["response"]["schemas"], json!([ERROR]));
    }
    assert_eq!(results[3]["version"], "W/\"2\"");
    let (s, user) = get(&e, &path);
    assert_eq!(s, 200);
    assert_eq!(
        (user["userName"].as_str(), user["title"].as_str()),
        (Some("bjensen"), Some("Boss"))
    );
}

/// `returned: never` holds in bulk responses too, successful or not.
#[test]
fn password_never_in_any_bulk_response() {
    let e = engine();
    create_user(&e, "taken", json!({}));
    let (s, response) = post_bulk_as(
        &e,
        &ctx(),
        &bulk_body(json!([
            {"method": "POST", "path": "/Users", "bulkId": "p",
             "data": {"schemas": [USER], "userName": "pat", "password": "t1meMa$heen"}},
            {"method": "PUT", "path": "/Users/bulkId:p",
             "data": {"schemas": [USER], "userName": "pat", "password": "n3wS3cret"}},
            {"method": "PATCH", "path": "/Users/bulkId:p",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "password", "value": "s3cond"}]}},
            {"method": "PATCH", "path": "/Users/bulkId:p",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "password", "value": 12345}]}},
            {"method": "POST", "path": "/Users", "bulkId": "dup",
             "data": {"schemas": [USER], "userName": "TAKEN", "password": "dupS3cret"}},
            {"method": "POST", "path": "/Users", "bulkId": "bad",
             "data": {"schemas": [USER], "password": "n0Name"}}
        ])),
    );
    assert_eq!(s, 200);
    let results = response["Operations"].as_array().unwrap();
    assert_eq!(
        statuses(results),
        ["201", "200", "200", "400", "409", "400"],
        "{response}"
    );
    let text = response.to_string();
    for secret in [
        "t1meMa$heen",
        "n3wS3cret",
        "s3cond",
        "12345",
        "dupS3cret",
        "n0Name",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(
        !text.to_ascii_lowercase().contains("\"password\""),
        "{text}"
    );
}

/// `/Bulk` needs the bulk scope, and each operation its own resource type's scope.
#[test]
fn scopes_are_enforced_per_operation() {
    let e = engine();
    let user_op = json!([{"method": "POST", "path": "/Users", "bulkId": "u",
                          "data": {"schemas": [USER], "userName": "u"}}]);
    let no_bulk = ctx().scopes(Scopes::of(["https://gluu.org/scim/users.write"]));
    let (s, body) = post_bulk_as(&e, &no_bulk, &bulk_body(user_op.clone()));
    assert_eq!(s, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("bulk"));

    let read_only = ctx().scopes(Scopes::of([
        "https://gluu.org/scim/bulk",
        "https://gluu.org/scim/users.read",
    ]));
    let (s, body) = post_bulk_as(&e, &read_only, &bulk_body(user_op.clone()));
    assert_eq!(s, 200);
    assert_eq!(body["Operations"][0]["status"], "403", "{body}");
    assert!(body["Operations"][0]["response"]["detail"]
        .as_str()
        .unwrap()
        .contains("users.write"));

    let users_writer = ctx().scopes(Scopes::of([
        "https://gluu.org/scim/bulk",
        "https://gluu.org/scim/users.write",
    ]));
    let mut ops = user_op.as_array().unwrap().clone();
    ops.push(json!({"method": "POST", "path": "/Groups", "bulkId": "g",
                    "data": {"schemas": [GROUP], "displayName": "G"}}));
    let (s, body) = post_bulk_as(&e, &users_writer, &bulk_body(Value::Array(ops)));
    assert_eq!(s, 200);
    let results = body["Operations"].as_array().unwrap();
    assert_eq!(statuses(results), ["201", "403"]);
}

/// Request-level errors, and operations that are refused one by one.
#[test]
fn malformed_requests_and_operations() {
    let e = engine();
    let c = ctx();
    let (s, _, _) = send(&e, &c, req(Method::Get, "/Bulk"));
    assert_eq!(s, 405);
    let request_errors = [
        (json!({"Operations": []}), 400, Some("invalidSyntax")),
        (
            json!({"schemas": ["urn:wrong"], "Operations": []}),
            400,
            Some("invalidSyntax"),
        ),
        (
            json!({"schemas": [BULK_REQUEST]}),
            400,
            Some("invalidValue"),
        ),
        (
            json!({"schemas": [BULK_REQUEST], "Operations": {}}),
            400,
            Some("invalidSyntax"),
        ),
        (
            json!({"schemas": [BULK_REQUEST], "failOnErrors": 0, "Operations": []}),
            400,
            Some("invalidValue"),
        ),
        (
            json!({"schemas": [BULK_REQUEST], "failOnErrors": "1", "Operations": []}),
            400,
            Some("invalidValue"),
        ),
        (json!([1]), 400, Some("invalidSyntax")),
        (
            bulk_body(json!([
                {"method": "POST", "path": "/Users", "bulkId": "same", "data": {"schemas": [USER], "userName": "a"}},
                {"method": "POST", "path": "/Groups", "bulkId": "same", "data": {"schemas": [GROUP], "displayName": "b"}}
            ])),
            400,
            Some("invalidValue"),
        ),
    ];
    for (body, status, scim_type) in request_errors {
        let (s, response) = post_bulk_as(&e, &c, &body);
        assert_eq!(s, status, "{body}: {response}");
        assert_eq!(
            response["scimType"].as_str(),
            scim_type,
            "{body}: {response}"
        );
    }
    let mut not_json = req(Method::Post, "/Bulk");
    not_json.body = b"{not json".to_vec();
    let (s, body, _) = send(&e, &c, not_json);
    assert_eq!((s, body["scimType"].as_str()), (400, Some("invalidSyntax")));
    assert_eq!(total(&e, "/Users"), 0, "a duplicate bulkId runs nothing");

    // An empty request, and attribute names in any case (RFC 7643 §2.1).
    assert!(run(&e, json!([])).is_empty());
    let results = run_body(
        &e,
        &json!({"SCHEMAS": [BULK_REQUEST], "operations": [
            {"Method": "post", "Path": "/Users", "BULKID": "x", "Data": {"schemas": [USER], "userName": "lower"}}]}),
    );
    assert_eq!(statuses(&results), ["201"]);
    assert_eq!(results[0]["method"], "POST");

    let results = run(
        &e,
        json!([
            {"method": "POST", "path": "/Bulk", "bulkId": "nested",
             "data": {"schemas": [BULK_REQUEST], "Operations": []}},
            {"method": "POST", "path": "/Users",
             "data": {"schemas": [USER], "userName": "noBulkId"}},
            {"method": "POST", "path": "/Users/123", "bulkId": "b",
             "data": {"schemas": [USER], "userName": "b"}},
            {"method": "PUT", "path": "/Users",
             "data": {"schemas": [USER], "userName": "c"}},
            {"method": "GET", "path": "/Users/123"},
            {"method": "DELETE"},
            {"method": "PATCH", "path": "/Users/123"},
            {"method": "POST", "path": "/Nope", "bulkId": "n", "data": {}},
            {"method": "DELETE", "path": "/ServiceProviderConfig/x"},
            "not an object"
        ]),
    );
    assert_eq!(
        statuses(&results),
        ["400", "400", "400", "400", "400", "400", "400", "404", "404", "400"],
        "{results:?}"
    );
    assert!(results[0]["response"]["detail"]
        .as_str()
        .unwrap()
        .contains("/Bulk"));
    assert_eq!(results[4]["method"], "GET");
    assert!(results[9].get("method").is_none());
    assert_eq!(total(&e, "/Users"), 1);
}

/// Hosts run the engine on multi-threaded executors: the bulk path keeps `handle`'s future
/// `Send`.
#[test]
fn bulk_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let e = engine();
    let c = ctx();
    let future = e.handle(
        &c,
        req(Method::Post, "/Bulk").with_json(&bulk_body(json!([]))),
    );
    assert_send(&future);
    assert_eq!(scim_core::block_on(future).status, 200);
}
