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

use chrono::{DateTime, TimeZone, Utc};
use scim_core::{block_on, Config, Engine, MemoryStore, Method, Request, RequestContext, Response};
use serde_json::Value;

pub(crate) const BASE: &str = "https://example.com/scim/v2";

pub(crate) fn engine() -> Engine<MemoryStore> {
    let registry = scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
        .build()
        .unwrap();
    Engine::new(registry, MemoryStore::new(), Config::new(BASE))
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
