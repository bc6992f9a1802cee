//! `POST /Bulk` (RFC 7644 §3.7): many resource operations in one request, with `bulkId:`
//! references to the resources the request itself creates.
//!
//! Each operation runs through the same handlers as a single request (`create`, `by_id`), so
//! it meets the same validation, scopes, ETag preconditions and projection rules. Operations
//! run in request order, except that one referencing a `bulkId` waits until the POST that
//! declares it has run (§3.7.2; the order may change only where the client's intent needs it).
//! References that can never resolve — an unknown `bulkId`, a failed POST, a circle of
//! operations — fail with 409, which §3.7.1 allows in place of resolving circles.
//!
//! Reading the request (`request`), the references (`references`) and running the
//! operations (`execute`) are modules of their own; this one is the endpoint.

mod execute;
mod references;
mod request;

use serde_json::json;

use super::{json_body, Engine, Result};
use crate::{Request, RequestContext, Response, ScimError, Store};
use request::BulkRequest;

/// The BulkResponse message URN.
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

impl<S: Store> Engine<S> {
    /// `POST /Bulk`.
    pub(super) async fn bulk(&self, ctx: &RequestContext, req: &Request) -> Result<Response> {
        let max_operations = self.config.bulk_max_operations;
        if max_operations == 0 {
            return Err(ScimError::new(
                501,
                None,
                "Bulk operations are not supported by this service",
            ));
        }
        self.require(ctx, &self.config.scopes.bulk)?;
        if req.body.len() > self.config.bulk_max_payload {
            return Err(ScimError::payload_too_large(format!(
                "The size of the bulk request ({} bytes) exceeds the maxPayloadSize ({}).",
                req.body.len(),
                self.config.bulk_max_payload
            )));
        }
        let request = BulkRequest::read(&json_body(req)?, max_operations)?;
        let results = self.run_bulk(ctx, request).await;
        Ok(Response::json(
            200,
            &json!({"schemas": [BULK_RESPONSE], "Operations": results}),
        ))
    }
}
