//! The PatchOp message (RFC 7644 §3.5.2).

use std::fmt;

use scim_filter::PatchPath;
use serde_json::Value;

use crate::error::{invalid_path, no_target, syntax, PatchError, PatchErrorKind};
use crate::outcome::{Normalization, NormalizationKind};
use crate::PatchOptions;

/// The PatchOp message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// `add`, `remove` or `replace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpKind {
    /// `add` (RFC 7644 §3.5.2.1).
    Add,
    /// `remove` (RFC 7644 §3.5.2.2).
    Remove,
    /// `replace` (RFC 7644 §3.5.2.3).
    Replace,
}

impl OpKind {
    /// The RFC spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Remove => "remove",
            OpKind::Replace => "replace",
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One operation of a PATCH request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PatchOperation {
    /// What to do.
    pub op: OpKind,
    /// Where, parsed (`None`: the value is a map of attributes).
    pub path: Option<PatchPath>,
    /// The path as sent, for messages.
    pub path_text: Option<String>,
    /// The value, for add and replace (and, in the Entra ID profile, remove).
    pub value: Option<Value>,
}

/// A parsed PatchOp message.
///
/// ```
/// use scim_patch::{OpKind, PatchOptions, PatchRequest};
/// let req = PatchRequest::from_json(&serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [
///         {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.org"},
///         {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}
///     ]
/// }), &PatchOptions::default())?;
/// assert_eq!(req.operations.len(), 2);
/// assert_eq!(req.operations[1].op, OpKind::Remove);
/// assert_eq!(req.operations[1].path.as_ref().unwrap().attr.name, "manager");
/// # Ok::<(), scim_patch::PatchError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, applied in order.
    pub operations: Vec<PatchOperation>,
    /// What the profile normalised while reading the message (e.g. `"op": "Replace"`).
    pub normalizations: Vec<Normalization>,
}

impl PatchRequest {
    /// Parses a request body (bytes of JSON).
    pub fn from_slice(body: &[u8], options: &PatchOptions) -> Result<Self, PatchError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| syntax(format!("the request body is not valid JSON: {e}")))?;
        Self::from_json(&value, options)
    }

    /// Reads a PatchOp message: `schemas` must contain the PatchOp URN, `Operations` must
    /// be a non-empty array of at most `max_operations` operations.
    pub fn from_json(value: &Value, options: &PatchOptions) -> Result<Self, PatchError> {
        let Value::Object(obj) = value else {
            return Err(syntax("a PatchOp message must be a JSON object"));
        };
        let get = |name: &str| scim_filter::names::get(obj, name);
        let has_schema = match get("schemas") {
            Some(Value::Array(items)) => items
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP))),
            _ => false,
        };
        if !has_schema {
            return Err(syntax(format!("`schemas` must contain `{PATCH_OP}`")));
        }
        let Some(Value::Array(ops)) = get("Operations") else {
            return Err(syntax("`Operations` must be an array of operations"));
        };
        if ops.is_empty() {
            return Err(syntax("`Operations` must not be empty"));
        }
        if ops.len() > options.max_operations {
            return Err(PatchError::new(PatchErrorKind::TooManyOperations {
                max: options.max_operations,
            }));
        }
        let mut normalizations = Vec::new();
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                operation(op, i, options, &mut normalizations).map_err(|e| {
                    let path = op.get("path").and_then(Value::as_str).map(str::to_owned);
                    e.at(i, path)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PatchRequest {
            operations,
            normalizations,
        })
    }
}

fn operation(
    value: &Value,
    index: usize,
    options: &PatchOptions,
    normalizations: &mut Vec<Normalization>,
) -> Result<PatchOperation, PatchError> {
    let Value::Object(obj) = value else {
        return Err(syntax("an operation must be a JSON object"));
    };
    let get = |name: &str| scim_filter::names::get(obj, name);
    let op_text = match get("op") {
        Some(Value::String(s)) => s.as_str(),
        _ => return Err(syntax("`op` must be \"add\", \"remove\" or \"replace\"")),
    };
    let op = match op_text {
        "add" => OpKind::Add,
        "remove" => OpKind::Remove,
        "replace" => OpKind::Replace,
        other => {
            let folded = [OpKind::Add, OpKind::Remove, OpKind::Replace]
                .into_iter()
                .find(|k| k.as_str().eq_ignore_ascii_case(other));
            match folded {
                Some(k) if options.profile.op_any_case => {
                    normalizations.push(Normalization {
                        operation: index,
                        kind: NormalizationKind::OpCase,
                    });
                    k
                }
                _ => {
                    return Err(syntax(format!(
                        "`op` must be \"add\", \"remove\" or \"replace\", found \"{}\"",
                        other.chars().take(20).collect::<String>()
                    )))
                }
            }
        }
    };
    let (path, path_text) = match get("path") {
        None | Some(Value::Null) => (None, None),
        Some(Value::String(s)) => {
            let parsed = PatchPath::parse_with(s, &options.limits)
                .map_err(|e| invalid_path(e.to_string()))?;
            (Some(parsed), Some(s.clone()))
        }
        Some(_) => return Err(invalid_path("`path` must be a string")),
    };
    let value = get("value").cloned();
    // Attribute names are case-insensitive (RFC 7643 §2.1): a value naming one twice, in two
    // spellings, is refused as validation refuses such a document (not merged).
    if let Some(v) = &value {
        scim_schema::check_distinct_names(v, path_text.as_deref().unwrap_or(""))
            .map_err(|e| syntax(e.to_string()))?;
    }
    match op {
        OpKind::Remove if path.is_none() => {
            return Err(no_target("`remove` needs a `path` (RFC 7644 §3.5.2.2)"))
        }
        _ => {}
    }
    Ok(PatchOperation {
        op,
        path,
        path_text,
        value,
    })
}
