//! `scim filter`, `scim patch`, `scim validate`: the engine's pieces on files. Each returns
//! the text to print and the exit code (0 success, 1 a SCIM error, 2 usage).

use std::path::Path;

use scim_core::ScimError;
use serde_json::{json, Value};

/// Output and exit code of a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Text for standard output.
    pub stdout: String,
    /// Text for standard error.
    pub stderr: String,
    /// The exit code.
    pub code: i32,
}

fn ok(stdout: String) -> Outcome {
    Outcome {
        stdout,
        stderr: String::new(),
        code: 0,
    }
}

fn scim(e: ScimError) -> Outcome {
    Outcome {
        stdout: serde_json::to_string_pretty(&e.to_json()).unwrap_or_default(),
        stderr: String::new(),
        code: 1,
    }
}

fn usage(message: String) -> Outcome {
    Outcome {
        stdout: String::new(),
        stderr: message,
        code: 2,
    }
}

fn read_json(path: &Path) -> Result<Value, Outcome> {
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        scim(ScimError::bad_request(
            scim_core::ScimType::InvalidSyntax,
            format!("{}: not JSON: {e}", path.display()),
        ))
    })
}

/// Resources from a file: a JSON array, one JSON object, or JSON lines.
fn read_resources(path: &Path) -> Result<Vec<Value>, Outcome> {
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(one) => Ok(vec![one]),
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| usage(format!("{}:{}: not JSON: {e}", path.display(), i + 1)))
            })
            .collect(),
    }
}

/// `scim filter EXPR [FILE]`: the canonical form, or the error with a caret under its
/// offset; with a file, the resources that match (as JSON lines).
pub fn filter(expr: &str, file: Option<&Path>, resource_type: &str) -> Outcome {
    let parsed = match scim_filter::Filter::parse(expr) {
        Ok(f) => f,
        Err(e) => {
            let caret = " ".repeat(expr[..e.offset().min(expr.len())].chars().count());
            return Outcome {
                stdout: serde_json::to_string_pretty(&ScimError::from(e.clone()).to_json())
                    .unwrap_or_default(),
                stderr: format!("{expr}\n{caret}^\n{e}\n"),
                code: 1,
            };
        }
    };
    let Some(file) = file else {
        return ok(format!("{parsed}\n"));
    };
    let registry = match crate::registry::registry() {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let compiled = match registry.resource_type(resource_type) {
        Some(rt) => scim_filter::CompiledFilter::compile(&parsed, &rt),
        None => return usage(format!("unknown resource type {resource_type}")),
    };
    let compiled = match compiled {
        Ok(c) => c,
        Err(e) => return scim(e.into()),
    };
    let resources = match read_resources(file) {
        Ok(r) => r,
        Err(o) => return o,
    };
    let mut out = String::new();
    for r in resources.iter().filter(|r| compiled.matches(r)) {
        out.push_str(&r.to_string());
        out.push('\n');
    }
    ok(out)
}

/// `scim patch PATCH.json RESOURCE.json`: the patched resource and the delta.
pub fn patch(
    patch_file: &Path,
    resource_file: &Path,
    resource_type: &str,
    lenient: bool,
) -> Outcome {
    let (message, mut resource) = match (read_json(patch_file), read_json(resource_file)) {
        (Ok(m), Ok(r)) => (m, r),
        (Err(o), _) | (_, Err(o)) => return o,
    };
    let registry = match crate::registry::registry() {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let Some(rt) = registry.resource_type(resource_type) else {
        return usage(format!("unknown resource type {resource_type}"));
    };
    let options = if lenient {
        scim_patch::PatchOptions::lenient()
    } else {
        scim_patch::PatchOptions::default()
    };
    let request = match scim_patch::PatchRequest::from_json(&message, &options) {
        Ok(r) => r,
        Err(e) => return scim(e.into()),
    };
    match scim_patch::Patcher::new(rt, options).apply(&mut resource, &request) {
        Err(e) => scim(e.into()),
        Ok(outcome) => {
            let delta: Vec<Value> = outcome
                .delta
                .changes
                .iter()
                .map(|c| json!({"path": c.path, "kind": format!("{:?}", c.kind), "added": c.added, "removed": c.removed}))
                .collect();
            ok(serde_json::to_string_pretty(
                &json!({"resource": resource, "changed": outcome.changed, "delta": delta}),
            )
            .unwrap_or_default()
                + "\n")
        }
    }
}

/// `scim validate [--resource-type User] FILE`: the normalised resource, or the issues.
pub fn validate(file: &Path, resource_type: &str, lenient: bool) -> Outcome {
    let resource = match read_json(file) {
        Ok(r) => r,
        Err(o) => return o,
    };
    let registry = match crate::registry::registry() {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let Some(rt) = registry.resource_type(resource_type) else {
        return usage(format!("unknown resource type {resource_type}"));
    };
    let mut options = scim_schema::ValidationOptions::default();
    if lenient {
        options = options.leniency(scim_schema::Leniency::all());
    }
    match rt.validate_create(resource, &options) {
        Ok(v) => ok(serde_json::to_string_pretty(&v.resource).unwrap_or_default() + "\n"),
        Err(e) => scim(e.into()),
    }
}
