//! Bulk (RFC 7644 §3.7), split to the server's `maxOperations` and `maxPayloadSize`.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Error;
use crate::client::{Client, RequestOptions};

/// The BulkRequest message URN.
///
/// ```
/// assert!(scim_client::BULK_REQUEST.ends_with(":BulkRequest"));
/// ```
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// One operation of a Bulk request.
///
/// ```
/// let op = scim_client::BulkOperation::post("/Users", "u1",
///     serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"}));
/// assert_eq!(op.method, "POST");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BulkOperation {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The resource path, e.g. `/Users` or `/Users/{id}` (or `/Groups/bulkId:g1`).
    pub path: String,
    /// `bulkId` (required for POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// `version` (`If-Match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl BulkOperation {
    /// A POST creating a resource under `endpoint`.
    ///
    /// ```
    /// let op = scim_client::BulkOperation::post("/Groups", "g1", serde_json::json!({"displayName": "Admins"}));
    /// assert_eq!(op.bulk_id.as_deref(), Some("g1"));
    /// ```
    pub fn post(endpoint: &str, bulk_id: &str, data: Value) -> Self {
        BulkOperation {
            method: "POST".into(),
            path: endpoint.into(),
            bulk_id: Some(bulk_id.into()),
            version: None,
            data: Some(data),
        }
    }

    /// A PUT, PATCH (data: the PatchOp message) or DELETE (`data` `None`) of `path`.
    ///
    /// ```
    /// let op = scim_client::BulkOperation::new("DELETE", "/Users/2819c223", None);
    /// assert!(op.data.is_none());
    /// ```
    pub fn new(method: &str, path: &str, data: Option<Value>) -> Self {
        BulkOperation {
            method: method.to_ascii_uppercase(),
            path: path.into(),
            bulk_id: None,
            version: None,
            data,
        }
    }
}

/// The result of one Bulk operation.
///
/// ```
/// let r: scim_client::BulkOperationResult = serde_json::from_value(serde_json::json!({
///     "method": "POST", "bulkId": "u1", "status": "201",
///     "location": "https://x/scim/v2/Users/92b725cd"}))?;
/// assert_eq!(r.id(), Some("92b725cd"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BulkOperationResult {
    /// The method.
    #[serde(default)]
    pub method: String,
    /// The `bulkId` sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The HTTP status (sent as a string or a number; a string here).
    #[serde(default, deserialize_with = "status_string")]
    pub status: String,
    /// The error body or (some servers) the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

impl BulkOperationResult {
    /// The status as a number (0 if unreadable).
    ///
    /// ```
    /// let r: scim_client::BulkOperationResult = serde_json::from_value(serde_json::json!({"method": "POST", "status": 201})).unwrap();
    /// assert_eq!(r.status_code(), 201);
    /// ```
    pub fn status_code(&self) -> u16 {
        self.status
            .trim()
            .get(..3)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The id at the end of `location`.
    ///
    /// ```
    /// let r: scim_client::BulkOperationResult = serde_json::from_value(serde_json::json!({
    ///     "method": "POST", "status": "201", "location": "https://x/scim/v2/Users/abc"})).unwrap();
    /// assert_eq!(r.id(), Some("abc"));
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.location
            .as_deref()
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .filter(|s| !s.is_empty())
    }
}

fn status_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Object(o) => o
            .get("code")
            .map(|c| c.to_string().trim_matches('"').to_owned())
            .unwrap_or_default(),
        _ => String::new(),
    })
}

/// Replaces `bulkId:X` in every string of `v` with X's id, where known (RFC 7644 §3.7.2).
fn resolve_bulk_ids(v: &mut Value, known: &[(String, String)]) {
    match v {
        Value::String(s) => {
            if let Some(rest) = s.strip_prefix("bulkId:") {
                if let Some((_, id)) = known.iter().find(|(b, _)| b == rest) {
                    *s = id.clone();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| resolve_bulk_ids(i, known)),
        Value::Object(o) => o.values_mut().for_each(|i| resolve_bulk_ids(i, known)),
        _ => {}
    }
}

fn envelope(ops: &[BulkOperation], fail_on_errors: Option<u64>) -> Value {
    let mut v = json!({"schemas": [BULK_REQUEST], "Operations": ops});
    if let Some(n) = fail_on_errors {
        v["failOnErrors"] = json!(n);
    }
    v
}

impl Client {
    /// Sends Bulk operations (RFC 7644 §3.7) in as many requests as the server's
    /// `bulk.maxOperations` and `bulk.maxPayloadSize` need (discovered, else
    /// [`ClientConfig::bulk_max_operations`](crate::ClientConfig::bulk_max_operations) and
    /// `bulk_max_payload`), in order. A `bulkId:` a later request refers to is replaced by
    /// the id an earlier one created. `fail_on_errors` counts over all requests: once
    /// reached, no further request is sent. Returns one result per operation sent.
    ///
    /// # Errors
    /// [`Error::Unsupported`] where `bulk.supported` is false; [`Error::InvalidRequest`] for
    /// an operation larger than `maxPayloadSize` on its own; any request's error.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// use scim_client::BulkOperation;
    /// let user = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"});
    /// let group = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    ///     "displayName": "G", "members": [{"value": "bulkId:u1"}]});
    /// let results = client.bulk(vec![BulkOperation::post("/Users", "u1", user),
    ///                                BulkOperation::post("/Groups", "g1", group)], Some(1)).await?;
    /// assert!(results.iter().all(|r| r.status_code() == 201));
    /// # Ok(()) }
    /// ```
    pub async fn bulk(
        &self,
        operations: Vec<BulkOperation>,
        fail_on_errors: Option<u64>,
    ) -> Result<Vec<BulkOperationResult>, Error> {
        let (max_ops, max_bytes) = match self.discovery() {
            Some(d) => {
                if !d.config.bulk {
                    return Err(Error::Unsupported("Bulk (bulk.supported is false)".into()));
                }
                (
                    d.config
                        .bulk_max_operations
                        .map_or(self.config().bulk_max_operations, |n| n as usize),
                    d.config
                        .bulk_max_payload
                        .map_or(self.config().bulk_max_payload, |n| n as usize),
                )
            }
            None => (
                self.config().bulk_max_operations,
                self.config().bulk_max_payload,
            ),
        };
        let max_ops = max_ops.max(1);
        let mut results = Vec::with_capacity(operations.len());
        let mut known: Vec<(String, String)> = Vec::new();
        let mut errors = 0u64;
        let mut pending = operations.into_iter().peekable();
        while pending.peek().is_some() {
            let remaining = fail_on_errors.map(|n| n.saturating_sub(errors));
            if remaining == Some(0) {
                break;
            }
            let mut chunk: Vec<BulkOperation> = Vec::new();
            let mut size = envelope(&[], remaining).to_string().len();
            while let Some(op) = pending.peek() {
                if chunk.len() >= max_ops {
                    break;
                }
                let mut op = op.clone();
                if let Some(d) = op.data.as_mut() {
                    resolve_bulk_ids(d, &known);
                }
                let mut path = Value::String(op.path.clone());
                resolve_bulk_ids(&mut path, &known);
                if let Value::String(p) = path {
                    op.path = p;
                }
                let op_size = serde_json::to_string(&op)
                    .map_err(|e| Error::InvalidRequest(e.to_string()))?
                    .len()
                    + 1;
                if size + op_size > max_bytes {
                    if chunk.is_empty() {
                        return Err(Error::InvalidRequest(format!(
                            "a bulk operation of {op_size} bytes is over maxPayloadSize ({max_bytes})"
                        )));
                    }
                    break;
                }
                size += op_size;
                chunk.push(op);
                pending.next();
            }
            let body = envelope(&chunk, remaining);
            let (_, response) = self
                .request(Method::POST, "/Bulk", Some(&body), &RequestOptions::new())
                .await?;
            let ops = response
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations")))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Array(Vec::new()));
            let chunk_results: Vec<BulkOperationResult> = serde_json::from_value(ops)
                .map_err(|e| Error::protocol(200, format!("not a BulkResponse: {e}")))?;
            for r in &chunk_results {
                let code = r.status_code();
                if !(200..300).contains(&code) {
                    errors += 1;
                }
                if let (Some(b), Some(id)) = (&r.bulk_id, r.id()) {
                    known.push((b.clone(), id.to_owned()));
                }
            }
            let short = chunk_results.len() < chunk.len();
            results.extend(chunk_results);
            if short {
                // The server stopped (failOnErrors): send nothing more.
                break;
            }
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_ids_resolve_in_nested_values() {
        let mut v = json!({"members": [{"value": "bulkId:u1"}, {"value": "bulkId:zz"}]});
        resolve_bulk_ids(&mut v, &[("u1".into(), "abc".into())]);
        assert_eq!(
            v,
            json!({"members": [{"value": "abc"}, {"value": "bulkId:zz"}]})
        );
    }
}
