//! Integration tests of scim-core: one binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bulk;
mod errors;
mod gluu_walkthrough;
mod golden;
mod groups;
mod hooks;
mod out_of_line;
mod paging;
mod scim_types;
mod secrets;
mod values;

use chrono::{DateTime, TimeZone, Utc};
use scim_core::{block_on, Config, Engine, MemoryStore, Method, Request, RequestContext, Response};
use serde_json::Value;

pub(crate) const BASE: &str = "https://example.com/scim/v2";

pub(crate) fn engine() -> Engine<MemoryStore> {
    let registry = scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
        .build()
        .unwrap();
    Engine::new(registry, sequential_store(), Config::new(BASE))
}

/// A memory store whose ids count up (`9e3779b9-7f4a-4c15-89e3-000000000001`, …): for tests
/// that compare whole answers (golden files, two engines side by side). A real store's ids
/// are random.
pub(crate) fn sequential_store() -> MemoryStore {
    let counter = std::sync::atomic::AtomicU64::new(0);
    MemoryStore::with_id_generator(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        format!("9e3779b9-7f4a-4c15-89e3-{n:012x}")
    })
}

pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).single().unwrap()
}

pub(crate) fn ctx() -> RequestContext {
    RequestContext::new(at(0))
}

pub(crate) fn send<S: scim_core::Store>(
    engine: &Engine<S>,
    ctx: &RequestContext,
    req: Request,
) -> (u16, Value, Response) {
    let resp = block_on(engine.handle(ctx, req));
    (resp.status, resp.body_json(), resp)
}

pub(crate) fn req(method: Method, path: &str) -> Request {
    Request::new(method, path)
}
