//! Deleting a resource removes the references to it in the same write
//! (`Store::delete_cascade`), in the store and through the engine.

use serde_json::Value;

use crate::{block_on, Cascade, Cascaded, Referrer, Store, StoreError};

use super::{
    add_member_op, engine_group_members, engine_over, group, member_values, post_user, send,
    stored, user, GROUP, T, USER,
};

fn from_groups() -> Cascade {
    Cascade::new(
        vec![Referrer::new(GROUP, "members")],
        "2030-01-01T00:00:00.000Z",
    )
}

/// A store that [keeps references](Store::keeps_references): `delete_cascade` deletes the
/// resource and removes it from every group holding it (nested groups too), in one write:
/// each changed group gets the next version and the given `lastModified`; a stale version
/// changes nothing; an id already gone still loses its dangling memberships (the repair);
/// ids compare exactly; other tenants are untouched.
pub(super) fn cascading_deletes<S: Store>(s: &S) {
    if !s.keeps_references() {
        return;
    }
    let create = |tenant: &str, rt: &str, v: Value| {
        block_on(s.create(tenant, rt, v, vec![]))
            .expect("create")
            .id
    };
    let u1 = create(T, USER, user("c1"));
    let u2 = create(T, USER, user("c2"));
    let g1 = create(T, GROUP, group("g1", &[&u1, &u2]));
    let g2 = create(T, GROUP, group("g2", &[&g1, &u1]));
    let g3 = create(T, GROUP, group("g3", &[&u2]));
    let elsewhere = create("kit-other", GROUP, group("other", &[&u1]));
    let members =
        |tenant: &str, id: &str| member_values(&stored(s, tenant, GROUP, id).resource, "members");

    assert_eq!(
        block_on(s.delete_cascade(T, USER, &u1, Some(7), from_groups())),
        Err(StoreError::VersionMismatch),
        "cascade: a stale version"
    );
    assert_eq!(
        stored(s, T, USER, &u1).version,
        1,
        "cascade: a refused delete deletes nothing"
    );
    assert_eq!(
        members(T, &g1),
        [u1.clone(), u2.clone()],
        "cascade: a refused delete detaches nothing"
    );
    assert_eq!(stored(s, T, GROUP, &g1).version, 1);

    let done = block_on(s.delete_cascade(T, USER, &u1, Some(1), from_groups())).expect("cascade");
    assert_eq!(
        done,
        Cascaded::new(true, 2),
        "cascade: deleted, two groups changed"
    );
    assert_eq!(
        block_on(s.get(T, USER, &u1)).expect("get"),
        None,
        "cascade: deleted"
    );
    let g1_now = stored(s, T, GROUP, &g1);
    assert_eq!(
        member_values(&g1_now.resource, "members"),
        [u2.as_str()],
        "cascade: removed from g1"
    );
    assert_eq!(
        g1_now.version, 2,
        "cascade: a changed group gets the next version"
    );
    assert_eq!(
        g1_now.resource["meta"]["lastModified"], "2030-01-01T00:00:00.000Z",
        "cascade: a changed group gets lastModified"
    );
    assert_eq!(
        g1_now.resource["meta"]["created"],
        "2020-01-01T00:00:00.000Z"
    );
    assert_eq!(
        g1_now.resource["displayName"], "g1",
        "cascade: the rest is kept"
    );
    assert_eq!(members(T, &g2), [g1.as_str()], "cascade: removed from g2");
    let g3_now = stored(s, T, GROUP, &g3);
    assert_eq!(
        (g3_now.version, member_values(&g3_now.resource, "members")),
        (1, vec![u2.clone()]),
        "cascade: a group without the member is untouched"
    );
    assert_eq!(
        members("kit-other", &elsewhere),
        [u1.as_str()],
        "cascade: other tenants untouched"
    );

    // Nested: a deleted group leaves its parent; the parent's last member gone, no `members`.
    let done = block_on(s.delete_cascade(T, GROUP, &g1, None, from_groups())).expect("cascade");
    assert_eq!(done, Cascaded::new(true, 1), "cascade: nested group");
    let g2_now = stored(s, T, GROUP, &g2);
    assert!(
        g2_now.resource.get("members").is_none(),
        "cascade: no member left: {}",
        g2_now.resource
    );
    assert_eq!(g2_now.version, 3);

    // The repair: a member whose resource is gone (a crash between a delete and its cascade
    // left it) is removed by a delete of the id that no longer exists.
    let g4 = create(T, GROUP, group("g4", &["kit-ghost", &u2, "Kit-Ghost"]));
    let done =
        block_on(s.delete_cascade(T, USER, "kit-ghost", None, from_groups())).expect("repair");
    assert_eq!(
        done,
        Cascaded::new(false, 1),
        "cascade: repair of a dangling member"
    );
    let g4_now = stored(s, T, GROUP, &g4);
    assert_eq!(
        member_values(&g4_now.resource, "members"),
        [u2.clone(), "Kit-Ghost".to_owned()],
        "cascade: ids compare exactly"
    );
    assert_eq!(g4_now.version, 2);
    let done =
        block_on(s.delete_cascade(T, USER, "kit-ghost", None, from_groups())).expect("again");
    assert_eq!(
        done,
        Cascaded::new(false, 0),
        "cascade: nothing left to repair"
    );
    assert_eq!(
        stored(s, T, GROUP, &g4).version,
        2,
        "cascade: no change, no new version"
    );
}

/// Through the engine: deleting a user or a group removes it from the groups holding it
/// (nested groups); a DELETE of an id that is gone answers 404 and removes the memberships
/// it left behind; a member that does not exist is refused with 400 `invalidValue`.
pub(super) fn engine_cascades<S: Store>(store: S) {
    use crate::{Method, Request};
    let e = engine_over(store);
    let (status, body) = post_user(&e, user("casc-u"));
    assert_eq!(status, 201, "{body}");
    let u = body["id"].as_str().expect("id").to_owned();
    let post_group = |g: Value, bypass: bool| {
        let mut req = Request::new(Method::Post, "/Groups").with_json(&g);
        if bypass {
            req = req.with_header(crate::OVERHEAD_BYPASS, "1");
        }
        let (status, body) = send(&e, req);
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    };
    let child = post_group(group("child", &[&u]), false);
    let parent = post_group(group("parent", &[&child, &u]), false);
    let (status, _) = send(&e, Request::new(Method::Delete, format!("/Groups/{child}")));
    assert_eq!(status, 204);
    assert_eq!(
        engine_group_members(&e, &parent),
        [u.as_str()],
        "engine: nested group removed"
    );
    let (status, _) = send(&e, Request::new(Method::Delete, format!("/Users/{u}")));
    assert_eq!(status, 204);
    assert!(
        engine_group_members(&e, &parent).is_empty(),
        "engine: user removed"
    );

    let stale = post_group(group("stale", &["casc-ghost"]), true);
    let (status, body) = send(&e, Request::new(Method::Delete, "/Users/casc-ghost"));
    assert_eq!(status, 404, "engine: a DELETE of what is gone: {body}");
    assert!(
        engine_group_members(&e, &stale).is_empty(),
        "engine: a repeated DELETE repairs"
    );

    let (status, body) = send(
        &e,
        Request::new(Method::Patch, format!("/Groups/{stale}"))
            .with_json(&add_member_op("casc-ghost")),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidValue");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("member casc-ghost is not an existing"),
        "{body}"
    );
}
