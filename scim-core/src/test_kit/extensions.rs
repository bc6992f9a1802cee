//! Extension URNs through the engine: `schemas` follows the extensions' data, and a GET
//! answer PUT back is accepted.

use serde_json::json;

use crate::{block_on, Store};

use super::{
    assert_get_put_round_trip, engine_over, patch_op, post_user, send, user, ENTERPRISE, USER,
};

/// Through the engine, an extension's URN follows its data: a PATCH that gives a user
/// whose `schemas` lists only the core schema an enterprise attribute lists the extension
/// (stored and shown), one that removes its last attribute drops it and the empty object;
/// after each, the GET body is a valid PUT body that changes nothing.
pub(super) fn engine_extension_urns<S: Store>(store: S) {
    use crate::{Method, Request};
    let e = engine_over(store);
    let (status, body) = post_user(&e, user("ext-urn"));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    let path = format!("/Users/{id}");
    let core = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    let stored = |e: &crate::Engine<S>| {
        block_on(e.store().get("default", USER, &id))
            .expect("get")
            .expect("user")
            .resource
    };
    let (status, body) = send(
        &e,
        Request::new(Method::Patch, &path).with_json(&patch_op(json!([
            {"op": "add", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "701984"}
        ]))),
    );
    assert_eq!(status, 200, "extension URN: {body}");
    let listed = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    assert_eq!(body["schemas"], listed, "extension URN: response");
    assert_eq!(stored(&e)["schemas"], listed, "extension URN: stored");
    assert_get_put_round_trip(&e, &path, "extension URN added");

    let (status, body) = send(
        &e,
        Request::new(Method::Patch, &path).with_json(&patch_op(json!([
            {"op": "remove", "path": format!("{ENTERPRISE}:employeeNumber")}
        ]))),
    );
    assert_eq!(status, 200, "extension URN: {body}");
    assert_eq!(
        body["schemas"], core,
        "extension URN: dropped in the response"
    );
    let now = stored(&e);
    assert_eq!(now["schemas"], core, "extension URN: dropped in the store");
    assert!(
        now.get(ENTERPRISE).is_none(),
        "extension URN: empty object kept: {now}"
    );
    assert_get_put_round_trip(&e, &path, "extension URN removed");
}
