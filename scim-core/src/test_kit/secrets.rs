//! Secrets and identities through the engine: look-alike `userName`s collide, padded ones
//! are refused, a store only ever sees a password's hash.

use serde_json::json;

use crate::{block_on, Store};

use super::{engine_over, post_user, user, USER};

/// Through the engine, `userName`s a person cannot tell apart are one: the second of each
/// pair is a conflict (409 `uniqueness`); padded or with invisible characters, a name is
/// refused (400 `invalidValue`). The engine computes the keys, the store must keep them.
pub(super) fn look_alike_identifiers<S: Store>(store: S) {
    let e = engine_over(store);
    let post = |name: &str| post_user(&e, user(name));
    for (first, second) in [
        ("jos\u{e9}", "jose\u{301}"),
        ("Zoe", "\u{FF3A}\u{FF4F}\u{FF45}"),
        ("ann lee", "ann\u{A0}lee"),
        ("\u{212B}ngstr\u{F6}m", "\u{C5}NGSTRO\u{308}M"),
    ] {
        let (status, body) = post(first);
        assert_eq!(status, 201, "look-alikes: {first:?}: {body}");
        let (status, body) = post(second);
        assert_eq!(
            status, 409,
            "look-alikes: {second:?} after {first:?}: {body}"
        );
        assert_eq!(body["scimType"], "uniqueness", "look-alikes: {second:?}");
    }
    assert_eq!(post("bob").0, 201);
    for padded in [
        " bob",
        "bob ",
        "bob\t",
        "bob\u{0}",
        "b\u{200B}ob",
        "\u{FEFF}bob",
        "bob\u{A0}",
        "bob\u{200D}",
    ] {
        let (status, body) = post(padded);
        assert_eq!(status, 400, "look-alikes: {padded:?}: {body}");
        assert_eq!(body["scimType"], "invalidValue", "look-alikes: {padded:?}");
    }
}

/// Through the engine, a store is handed a password's hash, never the password.
pub(super) fn no_password_in_clear<S: Store>(store: S) {
    let e = engine_over(store);
    let (status, body) = post_user(
        &e,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
               "userName": "pw", "password": "kit-Secret-1"}),
    );
    assert_eq!(status, 201, "password: {body}");
    let id = body["id"].as_str().expect("id");
    let stored = block_on(e.store().get("default", USER, id))
        .expect("get")
        .expect("present");
    let text = stored.resource.to_string();
    assert!(!text.contains("kit-Secret-1"), "password in clear: {text}");
    assert!(text.contains("$argon2id$"), "password hash kept: {text}");
}
