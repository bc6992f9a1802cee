//! The behaviour every [`Store`] must have, as one function a store crate calls from its
//! tests (feature `test-kit`).
//!
//! ```
//! scim_core::test_kit::run_store_suite(scim_core::MemoryStore::new);
//! ```
//!
//! Filters are checked against brute force with [`CompiledFilter::matches`]: a store that
//! reports `filtered` must return exactly the matching resources, one that does not must
//! return at least those; `sorted` and `paged` are checked the same way.
//!
//! Each behaviour is a module of its own (CRUD and versions, unique keys, filters, sort and
//! paging, out-of-line members, cascades, checked references, races, extension URNs,
//! secrets, the texts given for responses); the helpers they share are here.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // a test harness

mod cascades;
mod crud;
mod edits;
mod extensions;
mod filters;
mod members;
mod races;
mod read_time;
mod references;
mod secrets;
mod sort;
mod texts;
mod unique;

use std::collections::BTreeSet;

use scim_filter::{CompiledFilter, Filter};
use scim_schema::Registry;
use serde_json::{json, Value};

use crate::{block_on, Query, QueryResult, Store, StoredResource, UniqueKey};

use cascades::{cascading_deletes, engine_cascades};
use crud::{concurrent_writers, crud_and_versions, not_found, tenants_and_types_are_isolated};
use edits::engine_edits_answer_as_whole;
use extensions::engine_extension_urns;
use filters::{filters_match_brute_force, load_fixture};
use members::{engine_members_once_with_their_type, out_of_line_elements};
use races::delete_add_races;
use read_time::{engine_foreign_schema_urns, engine_read_time_filters};
use references::{checked_writes, references_to_members};
use secrets::{look_alike_identifiers, no_password_in_clear};
use sort::sort_and_paging;
use texts::texts_agree_with_resources;
use unique::{concurrent_unique_creates, unique_keys};

pub use filters::{check_query, fixture, ANSWERS, FILTERS};

const T: &str = "kit-tenant";
const USER: &str = "User";

/// Runs every check on fresh stores from `make`; panics with a message naming the check.
pub fn run_store_suite<S: Store>(make: impl Fn() -> S) {
    crud_and_versions(&make());
    not_found(&make());
    unique_keys(&make());
    tenants_and_types_are_isolated(&make());
    let store = make();
    let ids = load_fixture(&store);
    filters_match_brute_force(&store, &ids);
    texts_agree_with_resources(&store, &ids);
    sort_and_paging(&store);
    concurrent_writers(&make());
    concurrent_unique_creates(&make());
    out_of_line_elements(&make());
    look_alike_identifiers(make());
    no_password_in_clear(make());
    cascading_deletes(&make());
    checked_writes(&make());
    engine_cascades(make());
    delete_add_races(make());
    references_to_members(&make());
    engine_extension_urns(make());
    engine_members_once_with_their_type(make());
    engine_read_time_filters(make());
    engine_foreign_schema_urns(make(), make());
    engine_edits_answer_as_whole(make());
}

fn engine_over<S: Store>(store: S) -> crate::Engine<S> {
    engine_with(store, false)
}

fn engine_with<S: Store>(store: S, lenient_filters: bool) -> crate::Engine<S> {
    let config = crate::Config::new("https://example.com/scim/v2")
        .lenient_filters(lenient_filters)
        .password_scheme(std::sync::Arc::new(crate::secret::Argon2id::new(
            crate::secret::Argon2Params::fast_for_tests(),
            crate::secret::default_entropy(),
        )));
    crate::Engine::new(Registry::standard(), store, config)
}

fn post_user<S: Store>(e: &crate::Engine<S>, body: Value) -> (u16, Value) {
    let ctx = crate::RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    let resp = block_on(e.handle(
        &ctx,
        crate::Request::new(crate::Method::Post, "/Users").with_json(&body),
    ));
    (resp.status, resp.body_json())
}

fn key(attribute: &str, value: &str) -> UniqueKey {
    UniqueKey {
        attribute: attribute.to_owned(),
        value: value.to_owned(),
    }
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

fn everything() -> Query<'static> {
    Query {
        filter: None,
        sort: None,
        start_index: 1,
        count: usize::MAX,
        attributes: None,
    }
}

fn ids(r: &QueryResult) -> BTreeSet<String> {
    r.resources.iter().map(|r| r.id.clone()).collect()
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn compile(text: &str, registry: &Registry, rt: &str) -> CompiledFilter {
    let filter = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let rt = registry
        .resource_type(rt)
        .unwrap_or_else(|| panic!("no resource type {rt}"));
    CompiledFilter::compile(&filter, &rt).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn member_values(resource: &Value, attr: &str) -> Vec<String> {
    resource
        .get(attr)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const GROUP: &str = "Group";

const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn group(name: &str, members: &[&str]) -> Value {
    json!({"schemas": [GROUP_URN], "displayName": name,
        "meta": {"created": "2020-01-01T00:00:00.000Z", "lastModified": "2020-01-01T00:00:00.000Z"},
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()})
}

fn stored<S: Store>(s: &S, tenant: &str, rt: &str, id: &str) -> StoredResource {
    block_on(s.get(tenant, rt, id))
        .expect("get")
        .unwrap_or_else(|| panic!("{rt} {id} is gone"))
}

fn send<S: Store>(e: &crate::Engine<S>, req: crate::Request) -> (u16, Value) {
    let ctx = crate::RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    let resp = block_on(e.handle(&ctx, req));
    let body = if resp.body.is_empty() {
        Value::Null
    } else {
        resp.body_json()
    };
    (resp.status, body)
}

fn add_member_op(id: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]})
}

fn engine_group_members<S: Store>(e: &crate::Engine<S>, id: &str) -> Vec<String> {
    let got = block_on(e.store().get("default", GROUP, id))
        .expect("get")
        .expect("group");
    member_values(&got.resource, "members")
}

fn patch_op(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// A response body without `meta` (a write moves `version` and `lastModified`).
fn without_meta(mut body: Value) -> Value {
    if let Value::Object(m) = &mut body {
        m.remove("meta");
    }
    body
}

/// Through the engine: GET of `path`, PUT of that body, GET again: the PUT is accepted and
/// changes nothing (RFC 7644 §3.5.1), which a resource whose `schemas` misses an extension
/// it has data for fails (400 `invalidSyntax`).
fn assert_get_put_round_trip<S: Store>(e: &crate::Engine<S>, path: &str, context: &str) {
    use crate::{Method, Request};
    let (status, before) = send(e, Request::new(Method::Get, path));
    assert_eq!(status, 200, "{context}: GET {before}");
    let (status, body) = send(e, Request::new(Method::Put, path).with_json(&before));
    assert_eq!(status, 200, "{context}: PUT of the GET body: {body}");
    let (_, after) = send(e, Request::new(Method::Get, path));
    assert_eq!(
        without_meta(after),
        without_meta(before),
        "{context}: the PUT changed the resource"
    );
}
