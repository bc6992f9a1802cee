//! The PATCH path for stores that keep group members out of line (`Store::out_of_line`):
//! a reference store that does, the store kit over it, and the engine's answers, which must
//! be the ones the whole-resource path gives.

use std::collections::HashMap;
use std::future::{ready, Future};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use scim_core::{
    block_on, Config, ElementChange, ElementPatch, Engine, MemoryStore, Method, Query, QueryResult,
    Request, Store, StoreError, StoredResource, UniqueKey,
};
use serde_json::{json, Value};

use super::{ctx, send, BASE};

/// Group heads in a [`MemoryStore`], members in a map beside it; counts whole-resource reads
/// and writes of groups.
struct SplitStore {
    heads: MemoryStore,
    members: Mutex<HashMap<(String, String), Vec<Value>>>,
    whole_reads: AtomicUsize,
    whole_writes: AtomicUsize,
}

impl Default for SplitStore {
    /// Ids count up as in [`crate::sequential_store`], so this store and a memory store fed
    /// the same requests agree on them.
    fn default() -> Self {
        SplitStore {
            heads: crate::sequential_store(),
            members: Mutex::default(),
            whole_reads: AtomicUsize::default(),
            whole_writes: AtomicUsize::default(),
        }
    }
}

fn is_group(rt: &str) -> bool {
    rt == "Group"
}

fn key(m: &Value) -> String {
    m.get("value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase()
}

impl SplitStore {
    fn take_members(&self, rt: &str, resource: &mut Value) -> Option<Vec<Value>> {
        if !is_group(rt) {
            return None;
        }
        match resource.as_object_mut()?.remove("members") {
            Some(Value::Array(items)) => Some(items),
            _ => Some(Vec::new()),
        }
    }

    fn with_members(&self, tenant: &str, rt: &str, mut stored: StoredResource) -> StoredResource {
        if is_group(rt) {
            let members = self.members.lock().unwrap();
            if let Some(m) = members.get(&(tenant.to_owned(), stored.id.clone())) {
                if !m.is_empty() {
                    stored.resource["members"] = Value::Array(m.clone());
                }
            }
        }
        stored
    }
}

impl Store for SplitStore {
    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        if is_group(rt) {
            self.whole_reads.fetch_add(1, Ordering::SeqCst);
        }
        let head = block_on(self.heads.get(tenant, rt, id));
        ready(head.map(|h| h.map(|h| self.with_members(tenant, rt, h))))
    }

    fn create(
        &self,
        tenant: &str,
        rt: &str,
        mut resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let members = self.take_members(rt, &mut resource);
        let created = block_on(self.heads.create(tenant, rt, resource, unique));
        ready(created.map(|c| {
            if let Some(m) = members {
                self.members
                    .lock()
                    .unwrap()
                    .insert((tenant.to_owned(), c.id.clone()), m);
            }
            self.with_members(tenant, rt, c)
        }))
    }

    fn replace(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        mut resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        if is_group(rt) {
            self.whole_writes.fetch_add(1, Ordering::SeqCst);
        }
        let members = self.take_members(rt, &mut resource);
        let mut all = self.members.lock().unwrap();
        let replaced =
            block_on(
                self.heads
                    .replace(tenant, rt, id, expected_version, resource, unique),
            );
        if let (Ok(_), Some(m)) = (&replaced, members) {
            all.insert((tenant.to_owned(), id.to_owned()), m);
        }
        drop(all);
        ready(replaced.map(|r| self.with_members(tenant, rt, r)))
    }

    fn delete(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let deleted = block_on(self.heads.delete(tenant, rt, id, expected_version));
        if deleted.is_ok() {
            self.members
                .lock()
                .unwrap()
                .remove(&(tenant.to_owned(), id.to_owned()));
        }
        ready(deleted)
    }

    fn query(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        // Everything, reassembled; the engine filters, sorts and pages.
        let all = Query {
            filter: None,
            sort: None,
            start_index: 1,
            count: usize::MAX,
            attributes: None,
        };
        let _ = query;
        let result = block_on(self.heads.query(tenant, rt, all)).map(|mut r| {
            r.resources = r
                .resources
                .into_iter()
                .map(|h| self.with_members(tenant, rt, h))
                .collect();
            r.filtered = false;
            r.sorted = false;
            r.paged = false;
            r
        });
        ready(result)
    }

    fn out_of_line(&self, resource_type: &str) -> Option<&str> {
        is_group(resource_type).then_some("members")
    }

    fn get_head(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        self.heads.get(tenant, rt, id)
    }

    fn patch_elements(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<ElementPatch, StoreError>> + Send {
        let mut all = self.members.lock().unwrap();
        let result = (|| {
            let current = block_on(self.heads.get(tenant, rt, id))?.ok_or(StoreError::NotFound)?;
            if current.version != expected_version {
                return Err(StoreError::VersionMismatch);
            }
            let before = all
                .get(&(tenant.to_owned(), id.to_owned()))
                .cloned()
                .unwrap_or_default();
            let mut after = if change.clear {
                Vec::new()
            } else {
                before.clone()
            };
            let removed: Vec<String> = change.removed.iter().map(|r| r.to_lowercase()).collect();
            after.retain(|m| !removed.contains(&key(m)));
            for a in change.added {
                if !after.iter().any(|m| key(m) == key(&a)) {
                    after.push(a);
                }
            }
            let changed = head_changed || after != before;
            if !changed {
                return Ok(ElementPatch {
                    version: current.version,
                    changed: false,
                });
            }
            let stored =
                block_on(
                    self.heads
                        .replace(tenant, rt, id, expected_version, head, unique),
                )?;
            all.insert((tenant.to_owned(), id.to_owned()), after);
            Ok(ElementPatch {
                version: stored.version,
                changed: true,
            })
        })();
        ready(result)
    }
}

#[cfg(feature = "test-kit")]
#[test]
fn the_reference_split_store_passes_the_kit() {
    scim_core::test_kit::run_store_suite(SplitStore::default);
}

fn engines(no_content: bool) -> (Engine<SplitStore>, Engine<MemoryStore>) {
    let mut config = Config::new(BASE);
    config.patch_no_content = no_content;
    config.patch = scim_patch::PatchOptions::entra_id();
    (
        Engine::new(
            scim_schema::Registry::standard(),
            SplitStore::default(),
            config.clone(),
        ),
        Engine::new(
            scim_schema::Registry::standard(),
            crate::sequential_store(),
            config,
        ),
    )
}

fn post<S: Store>(e: &Engine<S>, path: &str, body: Value) -> Value {
    let (s, body, _) = send(e, &ctx(), Request::new(Method::Post, path).with_json(&body));
    assert_eq!(s, 201, "{body}");
    body
}

fn patch_req(id: &str, ops: Value) -> Request {
    Request::new(Method::Patch, format!("/Groups/{id}")).with_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}))
}

/// Both engines: same users (same ids, the stores count alike), same group, same PATCHes;
/// the answers must agree, and the split store must never read or write a whole group for
/// them.
#[test]
fn membership_patches_answer_as_the_whole_resource_path_does() {
    let (split, whole) = engines(false);
    let mut users = Vec::new();
    for n in ["ann", "bob", "cy", "dee"] {
        let body =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": n});
        let a = post(&split, "/Users", body.clone());
        let b = post(&whole, "/Users", body);
        assert_eq!(a["id"], b["id"]);
        users.push(a["id"].as_str().unwrap().to_owned());
    }
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "g", "members": [{"value": users[0]}, {"value": users[1]}]});
    let gid = post(&split, "/Groups", group.clone())["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(post(&whole, "/Groups", group)["id"], gid);

    let steps = vec![
        json!([{"op": "add", "path": "members", "value": [{"value": users[2]}]}]),
        json!([{"op": "add", "path": "members", "value": [{"value": users[2], "display": "again"}]}]),
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])}]),
        json!([{"op": "Remove", "path": "members", "value": [{"value": users[1]}]},
               {"op": "Replace", "path": "displayName", "value": "renamed"}]),
        json!([{"op": "replace", "path": "members", "value": [{"value": users[3]}, {"value": users[0]}]}]),
        json!([{"op": "remove", "path": "members[value eq \"not-a-member\"]"}]),
        json!([{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}]),
        json!([{"op": "add", "path": "members", "value": [{"value": users[1], "type": 7}]}]),
        json!([{"op": "remove", "path": "members"}]),
    ];
    for (i, ops) in steps.into_iter().enumerate() {
        let reads = split.store().whole_writes.load(Ordering::SeqCst);
        let (s1, b1, r1) = send(&split, &ctx(), patch_req(&gid, ops.clone()));
        let (s2, b2, r2) = send(&whole, &ctx(), patch_req(&gid, ops.clone()));
        assert_eq!((s1, &b1), (s2, &b2), "step {i}: {ops}");
        assert_eq!(
            r1.header("ETag"),
            r2.header("ETag"),
            "step {i}: versions agree"
        );
        assert_eq!(
            split.store().whole_writes.load(Ordering::SeqCst),
            reads,
            "step {i}: no whole-group write"
        );
    }
    // A filter on another sub-attribute takes the whole-resource path, with the same answer.
    let ops = json!([{"op": "remove", "path": "members[type eq \"User\"]"}]);
    let (s1, b1, _) = send(&split, &ctx(), patch_req(&gid, ops.clone()));
    let (s2, b2, _) = send(&whole, &ctx(), patch_req(&gid, ops));
    assert_eq!((s1, b1), (s2, b2));
    assert_eq!(
        split.store().whole_writes.load(Ordering::SeqCst),
        0,
        "nothing left to remove: no write"
    );
}

/// A user `ann` and an empty group `g`: their ids.
fn user_and_empty_group(e: &Engine<SplitStore>) -> (String, String) {
    let id = |v: Value| v["id"].as_str().unwrap().to_owned();
    let user =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann"});
    let group =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g"});
    (id(post(e, "/Users", user)), id(post(e, "/Groups", group)))
}

#[test]
fn no_content_answers_without_reading_the_group() {
    let (split, _) = engines(true);
    let (uid, gid) = user_and_empty_group(&split);
    let (s, _, resp) = send(
        &split,
        &ctx(),
        patch_req(
            &gid,
            json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]),
        ),
    );
    assert_eq!(s, 204);
    assert_eq!(resp.header("ETag"), Some("W/\"2\""));
    assert_eq!(
        split.store().whole_reads.load(Ordering::SeqCst),
        0,
        "no whole-group read"
    );
    assert_eq!(
        split.store().whole_writes.load(Ordering::SeqCst),
        0,
        "no whole-group write"
    );
    // A stale If-Match is refused.
    let (s, body, _) = send(
        &split,
        &ctx(),
        patch_req(&gid, json!([{"op": "remove", "path": "members"}]))
            .with_header("If-Match", "W/\"1\""),
    );
    assert_eq!(s, 412, "{body}");
    let (s, body, _) = send(
        &split,
        &ctx(),
        Request::new(Method::Get, format!("/Groups/{gid}")),
    );
    assert_eq!(s, 200);
    assert_eq!(body["members"][0]["value"], uid);
    assert_eq!(
        body["members"][0]["type"], "User",
        "the member's type is filled in"
    );
}

#[test]
fn excluded_members_are_not_read_back() {
    let (split, _) = engines(false);
    let (uid, gid) = user_and_empty_group(&split);
    let add = json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]);
    let mut req = patch_req(&gid, add.clone());
    req = req.with_query("excludedAttributes", "members");
    let (s, body, _) = send(&split, &ctx(), req);
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["displayName"], "g");
    assert!(body.get("members").is_none());
    assert_eq!(
        split.store().whole_reads.load(Ordering::SeqCst),
        0,
        "no whole-group read"
    );
    // Without the exclusion the answer shows the members (one whole read).
    let remove = json!([{"op": "replace", "path": "displayName", "value": "h"}]);
    let (s, body, _) = send(&split, &ctx(), patch_req(&gid, remove));
    assert_eq!(s, 200);
    assert_eq!(body["members"][0]["value"], uid);
    assert_eq!(split.store().whole_reads.load(Ordering::SeqCst), 1);
}

/// `Config::max_values` does not count the attribute a store keeps out of line (a group's
/// members in their own table cost nothing to the rest of the group); a store that keeps
/// them in the document counts them.
#[test]
fn members_kept_out_of_line_are_not_held_to_max_values() {
    let mut config = Config::new(BASE);
    config.max_values = 1;
    let split = Engine::new(
        scim_schema::Registry::standard(),
        SplitStore::default(),
        config.clone(),
    );
    let whole = Engine::new(
        scim_schema::Registry::standard(),
        crate::sequential_store(),
        config,
    );
    fn user<S: Store>(e: &Engine<S>, n: &str) -> String {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": n});
        post(e, "/Users", body)["id"].as_str().unwrap().to_owned()
    }
    let group = |ids: &[String]| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g",
            "members": ids.iter().map(|id| json!({"value": id})).collect::<Vec<_>>()})
    };
    let ids: Vec<String> = ["ann", "bob", "cy"]
        .iter()
        .map(|n| user(&split, n))
        .collect();
    let gid = post(&split, "/Groups", group(&ids[..2]))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, body, _) = send(
        &split,
        &ctx(),
        patch_req(
            &gid,
            json!([{"op": "add", "path": "members", "value": [{"value": ids[2]}]}]),
        ),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["members"].as_array().map(Vec::len), Some(3), "{body}");
    let ids: Vec<String> = ["ann", "bob"].iter().map(|n| user(&whole, n)).collect();
    let (s, body, _) = send(
        &whole,
        &ctx(),
        Request::new(Method::Post, "/Groups").with_json(&group(&ids)),
    );
    assert_eq!(
        (s, &body["scimType"]),
        (400, &json!("invalidValue")),
        "{body}"
    );
}
