//! Reading a BulkRequest (RFC 7644 §3.7): the message, and each operation as far as it can
//! be read (a refused operation is still answered, under its `bulkId`).

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::references::{collect_references, split_reference};
use crate::engine::Result;
use crate::{Method, ScimError, ScimType};

/// The BulkRequest message URN.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// A BulkRequest as read from its JSON.
#[derive(Debug)]
pub(super) struct BulkRequest {
    /// Stop after this many failed operations (`failOnErrors`); unlimited when absent.
    pub(super) fail_on_errors: usize,
    pub(super) operations: Vec<Operation>,
}

/// One entry of `Operations`, as far as it could be read.
#[derive(Debug, Default)]
pub(super) struct Operation {
    /// The method, when it is one bulk allows.
    pub(super) method: Option<Method>,
    /// The method as sent, echoed back.
    pub(super) method_text: Option<String>,
    pub(super) bulk_id: Option<String>,
    /// Becomes `If-Match`.
    pub(super) version: Option<String>,
    pub(super) path: String,
    pub(super) data: Option<Value>,
    /// Why the operation cannot run, found while reading it.
    pub(super) invalid: Option<ScimError>,
    /// The bulkIds its path and data reference.
    pub(super) references: BTreeSet<String>,
}

/// A member of a JSON object by name, compared case-insensitively (RFC 7643 §2.1); `null`
/// counts as absent.
fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    scim_filter::names::get(m, name).filter(|v| !v.is_null())
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
    pub(super) fn read(body: &Value, max_operations: usize) -> Result<BulkRequest> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
