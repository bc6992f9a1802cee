//! `POST /Bulk` (RFC 7644 §3.7): many resource operations in one request, with `bulkId:`
//! references to the resources the request itself creates.
//!
//! Each operation runs through the same handlers as a single request (`create`, `by_id`), so
//! it meets the same validation, scopes, ETag preconditions and projection rules. Operations
//! run in request order, except that one referencing a `bulkId` waits until the POST that
//! declares it has run (§3.7.2; the order may change only where the client's intent needs it).
//! References that can never resolve — an unknown `bulkId`, a failed POST, a circle of
//! operations — fail with 409, which §3.7.1 allows in place of resolving circles.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::{json_body, Engine, Result};
use crate::{Method, Request, RequestContext, Response, ScimError, ScimType, Store};

/// The BulkRequest message URN.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The BulkResponse message URN.
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// What a reference starts with (RFC 7644 §3.7.2): `bulkId:qwerty`.
const REFERENCE: &str = "bulkId:";

/// A BulkRequest as read from its JSON.
#[derive(Debug)]
struct BulkRequest {
    /// Stop after this many failed operations (`failOnErrors`); unlimited when absent.
    fail_on_errors: usize,
    operations: Vec<Operation>,
}

/// One entry of `Operations`, as far as it could be read.
#[derive(Debug, Default)]
struct Operation {
    /// The method, when it is one bulk allows.
    method: Option<Method>,
    /// The method as sent, echoed back.
    method_text: Option<String>,
    bulk_id: Option<String>,
    /// Becomes `If-Match`.
    version: Option<String>,
    path: String,
    data: Option<Value>,
    /// Why the operation cannot run, found while reading it.
    invalid: Option<ScimError>,
    /// The bulkIds its path and data reference.
    references: BTreeSet<String>,
}

/// How one operation ended.
#[derive(Debug)]
struct Outcome {
    status: u16,
    location: Option<String>,
    version: Option<String>,
    /// The SCIM error body, for a status of 400 and above.
    response: Option<Value>,
    /// The id of the resource a POST created.
    created: Option<String>,
}

impl Outcome {
    fn failed(e: &ScimError, location: Option<String>) -> Outcome {
        Outcome {
            status: e.status,
            location,
            version: None,
            response: Some(e.to_json()),
            created: None,
        }
    }

    fn is_error(&self) -> bool {
        self.status >= 400
    }

    /// The entry of the BulkResponse's `Operations` (RFC 7644 §3.7.3). Successful operations
    /// carry no `response`: the RFC lets the server omit it, and leaving it out keeps the
    /// response small.
    fn to_json(&self, op: &Operation) -> Value {
        let mut m = Map::new();
        if let Some(method) = &op.method_text {
            m.insert("method".into(), json!(method));
        }
        if let Some(bulk_id) = &op.bulk_id {
            m.insert("bulkId".into(), json!(bulk_id));
        }
        if let Some(version) = &self.version {
            m.insert("version".into(), json!(version));
        }
        if let Some(location) = &self.location {
            m.insert("location".into(), json!(location));
        }
        m.insert("status".into(), json!(self.status.to_string()));
        if let Some(response) = &self.response {
            m.insert("response".into(), response.clone());
        }
        Value::Object(m)
    }
}

/// A member of a JSON object by name, compared case-insensitively (RFC 7643 §2.1); `null`
/// counts as absent.
fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name)
        .or_else(|| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn string_field(m: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match field(m, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::bad_request(
            ScimType::InvalidSyntax,
            format!("`{name}` must be a string"),
        )),
    }
}

impl BulkRequest {
    fn read(body: &Value, max_operations: usize) -> Result<BulkRequest> {
        let Value::Object(m) = body else {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "a BulkRequest must be a JSON object",
            ));
        };
        let names_bulk_request = field(m, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST))
                })
            });
        if !names_bulk_request {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                format!("`schemas` must contain `{BULK_REQUEST}`"),
            ));
        }
        let fail_on_errors = match field(m, "failOnErrors") {
            None => usize::MAX,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidValue,
                        "`failOnErrors` must be a positive integer",
                    ))
                }
            },
        };
        let operations = match field(m, "Operations") {
            None => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    "a BulkRequest needs `Operations`",
                ))
            }
            Some(Value::Array(ops)) => ops,
            Some(_) => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidSyntax,
                    "`Operations` must be an array",
                ))
            }
        };
        // RFC 7644 §3.7.4: the limit is checked before anything runs.
        if operations.len() > max_operations {
            return Err(ScimError::payload_too_large(format!(
                "The bulk request has {} operations, more than maxOperations ({max_operations}).",
                operations.len()
            )));
        }
        let operations: Vec<Operation> = operations.iter().map(Operation::read).collect();
        // A bulkId must be unique within the request (§3.7), or its references are ambiguous.
        let mut seen = HashSet::new();
        for bulk_id in operations.iter().filter_map(|op| op.bulk_id.as_deref()) {
            if !seen.insert(bulk_id) {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("bulkId `{bulk_id}` is used by more than one operation"),
                ));
            }
        }
        Ok(BulkRequest {
            fail_on_errors,
            operations,
        })
    }
}

impl Operation {
    fn read(value: &Value) -> Operation {
        let mut op = Operation::default();
        if let Err(e) = op.fill(value) {
            op.invalid = Some(e);
        }
        op
    }

    fn fill(&mut self, value: &Value) -> Result<()> {
        let Value::Object(m) = value else {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "each operation must be a JSON object",
            ));
        };
        // What identifies the operation in the response first, so that even a refused one
        // can be recognised.
        self.bulk_id = string_field(m, "bulkId")?;
        self.method_text = string_field(m, "method")?;
        let Some(method_text) = &self.method_text else {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "an operation needs a `method`",
            ));
        };
        let Ok(method) = method_text.parse::<Method>();
        if !matches!(
            method,
            Method::Post | Method::Put | Method::Patch | Method::Delete
        ) {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("`method` must be POST, PUT, PATCH or DELETE, not `{method_text}`"),
            ));
        }
        self.method_text = Some(method.to_string());
        if let Some(bulk_id) = &self.bulk_id {
            // A `/` would end the reference early (see `split_reference`).
            if bulk_id.is_empty() || bulk_id.contains('/') {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    "a `bulkId` must be non-empty and contain no `/`",
                ));
            }
        } else if method == Method::Post {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "a POST operation needs a `bulkId` (RFC 7644 §3.7)",
            ));
        }
        self.version = string_field(m, "version")?;
        self.path = string_field(m, "path")?.ok_or_else(|| {
            ScimError::bad_request(ScimType::InvalidValue, "an operation needs a `path`")
        })?;
        self.data = field(m, "data").cloned();
        if self.data.is_none() && method != Method::Delete {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("a {method} operation needs `data`"),
            ));
        }
        if method == Method::Delete {
            self.data = None;
        }
        if let Some(id) = split_reference(&self.path).map(|(_, id)| id) {
            self.references.insert(id.to_owned());
        }
        if let Some(data) = &self.data {
            collect_references(data, &mut self.references);
        }
        self.method = Some(method);
        Ok(())
    }
}

/// A reference is a string whose last `/`-separated segment is `bulkId:<id>`: a whole value
/// (`"bulkId:qwerty"`), a path (`/Groups/bulkId:qwerty`) or a `$ref` URI. Returns what comes
/// before the reference, and the bulkId.
fn split_reference(s: &str) -> Option<(&str, &str)> {
    let (prefix, last) = match s.rfind('/') {
        Some(slash) => s.split_at(slash + 1),
        None => ("", s),
    };
    Some((prefix, last.strip_prefix(REFERENCE)?))
}

/// Every bulkId referenced by a string value anywhere in `value`.
fn collect_references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some((_, id)) = split_reference(s) {
                out.insert(id.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        Value::Object(m) => m.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

/// `s` with its reference replaced by the created id, if it has one that is resolved.
fn resolve_str(s: &str, ids: &HashMap<String, String>) -> Option<String> {
    let (prefix, bulk_id) = split_reference(s)?;
    ids.get(bulk_id).map(|id| format!("{prefix}{id}"))
}

/// Replaces every resolved reference in the string values of `value`, at any depth.
fn resolve(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(resolved) = resolve_str(s, ids) {
                *s = resolved;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| resolve(v, ids)),
        Value::Object(m) => m.values_mut().for_each(|v| resolve(v, ids)),
        _ => {}
    }
}

fn conflict(detail: String) -> ScimError {
    // 409 as RFC 7644 §3.7.1 prescribes; none of table 9's scimTypes describes the case.
    ScimError::new(409, None, detail)
}

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

    /// Runs the operations: in request order, each as soon as the POSTs it references have
    /// run. Returns the entries of the BulkResponse in request order; operations left unrun
    /// because `failOnErrors` was reached are not listed (RFC 7644 §3.7.3).
    async fn run_bulk(&self, ctx: &RequestContext, request: BulkRequest) -> Vec<Value> {
        let ops = request.operations;
        // Only a POST creates something to reference.
        let creators: HashMap<&str, usize> = ops
            .iter()
            .enumerate()
            .filter(|(_, op)| op.method == Some(Method::Post))
            .filter_map(|(i, op)| Some((op.bulk_id.as_deref()?, i)))
            .collect();
        let mut waiting = vec![0usize; ops.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); ops.len()];
        for (i, op) in ops.iter().enumerate() {
            for bulk_id in &op.references {
                if let Some(&creator) = creators.get(bulk_id.as_str()) {
                    waiting[i] += 1;
                    dependents[creator].push(i);
                }
            }
        }
        // Earliest first among the operations whose references are settled.
        let mut ready: BinaryHeap<Reverse<usize>> = waiting
            .iter()
            .enumerate()
            .filter(|(_, w)| **w == 0)
            .map(|(i, _)| Reverse(i))
            .collect();
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut results: Vec<Option<Value>> = vec![None; ops.len()];
        let mut errors = 0usize;
        while let Some(Reverse(i)) = ready.pop() {
            let op = &ops[i];
            let outcome = self.run_operation(ctx, op, &creators, &ids).await;
            if let (Some(bulk_id), Some(id)) = (&op.bulk_id, &outcome.created) {
                ids.insert(bulk_id.clone(), id.clone());
            }
            for &d in &dependents[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.push(Reverse(d));
                }
            }
            results[i] = Some(outcome.to_json(op));
            if outcome.is_error() {
                errors += 1;
                if errors >= request.fail_on_errors {
                    return results.into_iter().flatten().collect();
                }
            }
        }
        // What never became ready waits, itself or through others, on a circle of references
        // (§3.7.1: "MAY stop after a failed attempt and instead return ... 409").
        for (i, op) in ops.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            let pending = op
                .references
                .iter()
                .find(|r| creators.contains_key(r.as_str()) && !ids.contains_key(*r))
                .map_or("", String::as_str);
            let e = conflict(format!(
                "bulkId:{pending} cannot be resolved: it is part of, or waits on, a circular \
                 reference between operations"
            ));
            let location = self.operation_location(op, &op.path);
            results[i] = Some(Outcome::failed(&e, location).to_json(op));
            errors += 1;
            if errors >= request.fail_on_errors {
                break;
            }
        }
        results.into_iter().flatten().collect()
    }

    /// Runs one operation whose references are settled.
    async fn run_operation(
        &self,
        ctx: &RequestContext,
        op: &Operation,
        creators: &HashMap<&str, usize>,
        ids: &HashMap<String, String>,
    ) -> Outcome {
        let (Some(method), None) = (&op.method, &op.invalid) else {
            let e = op.invalid.clone().unwrap_or_else(ScimError::internal);
            return Outcome::failed(&e, None);
        };
        for bulk_id in &op.references {
            if ids.contains_key(bulk_id) {
                continue;
            }
            let detail = if creators.contains_key(bulk_id.as_str()) {
                format!(
                    "bulkId:{bulk_id} cannot be resolved: the POST operation declaring it failed"
                )
            } else {
                format!("bulkId:{bulk_id} cannot be resolved: no POST operation in this request declares it")
            };
            let location = self.operation_location(op, &op.path);
            return Outcome::failed(&conflict(detail), location);
        }
        let path = resolve_str(&op.path, ids).unwrap_or_else(|| op.path.clone());
        let mut request = Request::new(method.clone(), path.clone());
        if let Some(data) = &op.data {
            let mut data = data.clone();
            resolve(&mut data, ids);
            request = request.with_json(&data);
        }
        if let Some(version) = &op.version {
            request = request.with_header("If-Match", version.clone());
        }
        let location = self.operation_location(op, &path);
        match self.dispatch(ctx, &request).await {
            Ok(response) => {
                let created = (*method == Method::Post)
                    .then(|| created_id(&response))
                    .flatten();
                let mut outcome = Outcome {
                    status: response.status,
                    location: response.header("Location").map(str::to_owned).or(location),
                    version: response.header("ETag").map(str::to_owned),
                    response: None,
                    created,
                };
                if outcome.is_error() {
                    outcome.response = Some(response.body_json());
                }
                outcome
            }
            Err(e) => Outcome::failed(&e, location),
        }
    }

    /// One operation through the single-request handlers. Only resource endpoints are
    /// reachable: POST to `/{type}`, the others to `/{type}/{id}`.
    async fn dispatch(&self, ctx: &RequestContext, req: &Request) -> Result<Response> {
        let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        match (&req.method, segments.as_slice()) {
            (_, ["Bulk", ..]) => Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "an operation cannot target /Bulk: bulk requests do not nest",
            )),
            (Method::Post, [endpoint]) => {
                let rt = self.resource_type_at(endpoint)?;
                self.create(ctx, &rt, req).await
            }
            (Method::Post, _) => Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!(
                    "the path of a POST operation must be a resource type endpoint such as \
                     /Users, not {}",
                    req.path
                ),
            )),
            (_, [endpoint, id]) => {
                let rt = self.resource_type_at(endpoint)?;
                self.by_id(ctx, &rt, id, req).await
            }
            (method, _) => Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!(
                    "the path of a {method} operation must name a resource such as /Users/{{id}}, \
                     not {}",
                    req.path
                ),
            )),
        }
    }

    /// The `location` of a PUT, PATCH or DELETE, which §3.7.3 requires even when it failed;
    /// `None` for a POST and for a path that names no resource (or an unresolved one).
    fn operation_location(&self, op: &Operation, path: &str) -> Option<String> {
        if op.method == Some(Method::Post) {
            return None;
        }
        match path
            .trim_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
        {
            [endpoint, id] if !id.starts_with(REFERENCE) => {
                let rt = self.registry.resource_type_by_endpoint(endpoint)?;
                Some(self.location(&rt, id))
            }
            _ => None,
        }
    }
}

/// The id of the resource a POST created: the body's `id`, or the end of `Location`.
fn created_id(response: &Response) -> Option<String> {
    if let Some(id) = response.body_json().get("id").and_then(Value::as_str) {
        return Some(id.to_owned());
    }
    let location = response.header("Location")?;
    location.rsplit('/').next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_whole_values_paths_and_uris() {
        assert_eq!(split_reference("bulkId:qwerty"), Some(("", "qwerty")));
        assert_eq!(
            split_reference("/Groups/bulkId:qwerty"),
            Some(("/Groups/", "qwerty"))
        );
        assert_eq!(
            split_reference("https://example.com/v2/Users/bulkId:q"),
            Some(("https://example.com/v2/Users/", "q"))
        );
        assert_eq!(split_reference("bulkId:a/b"), None);
        assert_eq!(split_reference("Alice"), None);
        assert_eq!(split_reference("xbulkId:q"), None);
    }

    #[test]
    fn resolve_replaces_at_any_depth_and_keeps_unknown_references() {
        let ids: HashMap<String, String> = [("u".to_owned(), "92b7".to_owned())].into();
        let mut data = json!({
            "members": [{"value": "bulkId:u", "$ref": "../Users/bulkId:u"}, {"value": "bulkId:v"}],
            "ext": {"manager": {"value": "bulkId:u"}},
            "n": 1
        });
        let mut refs = BTreeSet::new();
        collect_references(&data, &mut refs);
        assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["u", "v"]);
        resolve(&mut data, &ids);
        assert_eq!(
            data,
            json!({
                "members": [{"value": "92b7", "$ref": "../Users/92b7"}, {"value": "bulkId:v"}],
                "ext": {"manager": {"value": "92b7"}},
                "n": 1
            })
        );
    }

    #[test]
    fn operations_are_checked_one_by_one() {
        let post_without_bulk_id =
            Operation::read(&json!({"method": "post", "path": "/Users", "data": {}}));
        assert_eq!(
            post_without_bulk_id.invalid.map(|e| e.status),
            Some(400),
            "bulkId is required for POST"
        );
        let delete = Operation::read(
            &json!({"method": "delete", "path": "/Users/bulkId:u", "version": "W/\"1\""}),
        );
        assert!(delete.invalid.is_none());
        assert_eq!(delete.method_text.as_deref(), Some("DELETE"));
        assert!(delete.references.contains("u"));
        let get = Operation::read(&json!({"method": "GET", "path": "/Users"}));
        assert_eq!(
            get.invalid.and_then(|e| e.scim_type),
            Some(ScimType::InvalidValue)
        );
    }
}
