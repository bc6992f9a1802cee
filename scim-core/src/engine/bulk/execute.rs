//! Running a BulkRequest's operations: in order, each once the POSTs it references have
//! run, through the single-request handlers; the BulkResponse entry of each.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use serde_json::{json, Map, Value};

use super::references::{resolve, resolve_str, REFERENCE};
use super::request::{BulkRequest, Operation};
use crate::engine::{Engine, Result};
use crate::{Method, Request, RequestContext, Response, ScimError, ScimType, Store};

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

fn conflict(detail: String) -> ScimError {
    // 409 as RFC 7644 §3.7.1 prescribes; none of table 9's scimTypes describes the case.
    ScimError::new(409, None, detail)
}

impl<S: Store> Engine<S> {
    /// Runs the operations: in request order, each as soon as the POSTs it references have
    /// run. Returns the entries of the BulkResponse in request order; operations left unrun
    /// because `failOnErrors` was reached are not listed (RFC 7644 §3.7.3).
    pub(super) async fn run_bulk(&self, ctx: &RequestContext, request: BulkRequest) -> Vec<Value> {
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
