//! `scim get|list|create|replace|patch|delete|bulk`: scim-client against any SCIM server.
//! Each returns an [`Outcome`]: 0 success, 1 the operation failed (a SCIM error's JSON on
//! standard output; a transport, token or protocol failure on standard error), 2 usage.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use scim_client::{
    BulkOperation, Client, ClientAuthMethod, ClientConfig, ClientCredentials, Error, ListQuery,
    RequestOptions, SortOrder,
};
use serde_json::{json, Value};

use crate::tools::Outcome;

/// How to reach and authenticate to the server (flags, or `SCIM_*` environment variables).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Connection {
    /// The service's base URL, e.g. `https://host/scim/v2`.
    #[arg(long, env = "SCIM_URL")]
    pub url: Option<String>,
    /// A static bearer token (prefer SCIM_TOKEN: a flag shows in the process list).
    #[arg(long, env = "SCIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// OAuth 2.0 token endpoint, for the client-credentials grant.
    #[arg(long, env = "SCIM_TOKEN_URL")]
    pub token_url: Option<String>,
    /// OAuth 2.0 client id (with --token-url).
    #[arg(long, env = "SCIM_CLIENT_ID")]
    pub client_id: Option<String>,
    /// OAuth 2.0 client secret (with --token-url; prefer SCIM_CLIENT_SECRET).
    #[arg(long, env = "SCIM_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// How the client authenticates at the token endpoint: `basic` (client_secret_basic)
    /// or `post` (client_secret_post).
    #[arg(long, default_value = "basic")]
    pub client_auth: String,
    /// OAuth 2.0 scopes (space-separated).
    #[arg(long)]
    pub scope: Option<String>,
    /// A header for every request, `Name: value` (repeatable), e.g.
    /// `-H 'Group-Overhead-Bypass: true'`.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Read the server's schemas first (`/ServiceProviderConfig`, `/ResourceTypes`,
    /// `/Schemas`): validate what is sent, refuse what the server says it does not support,
    /// and report (on standard error) received resources that do not match.
    #[arg(long)]
    pub discover: bool,
}

fn usage(message: impl Into<String>) -> Outcome {
    Outcome {
        stdout: String::new(),
        stderr: format!("{}\n", message.into()),
        code: 2,
    }
}

fn ok_json(v: &Value) -> Outcome {
    Outcome {
        stdout: format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default()),
        stderr: String::new(),
        code: 0,
    }
}

fn failed(e: Error) -> Outcome {
    match e.scim() {
        Some(body) => {
            let mut v = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                               "status": body.status.to_string()});
            if let Some(t) = &body.scim_type {
                v["scimType"] = json!(t);
            }
            if let Some(d) = &body.detail {
                v["detail"] = json!(d);
            }
            Outcome {
                stdout: format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()),
                stderr: String::new(),
                code: 1,
            }
        }
        None => Outcome {
            stdout: String::new(),
            stderr: format!("{e}\n"),
            code: if matches!(e, Error::InvalidRequest(_)) {
                2
            } else {
                1
            },
        },
    }
}

/// Builds a client from the connection flags.
///
/// # Errors
/// The usage [`Outcome`] (exit 2) for a missing URL, a bad header or half the
/// client-credentials flags.
pub fn client(c: &Connection) -> Result<Client, Outcome> {
    let Some(url) = &c.url else {
        return Err(usage("no server: pass --url or set SCIM_URL"));
    };
    let mut config = ClientConfig::default();
    config.timeout = Duration::from_secs(c.timeout.max(1));
    config.validate_requests = c.discover;
    let mut b = Client::builder(url).map_err(|e| usage(e.to_string()))?;
    b = b.config(config);
    for h in &c.headers {
        let Some((name, value)) = h.split_once(':') else {
            return Err(usage(format!("--header `{h}`: expected `Name: value`")));
        };
        b = b
            .header(name.trim(), value.trim())
            .map_err(|e| usage(e.to_string()))?;
    }
    match (&c.token_url, &c.client_id, &c.client_secret, &c.token) {
        (Some(t), Some(id), Some(secret), _) => {
            let method = match c.client_auth.as_str() {
                "basic" => ClientAuthMethod::Basic,
                "post" => ClientAuthMethod::Post,
                other => {
                    return Err(usage(format!(
                        "--client-auth `{other}`: expected basic or post"
                    )))
                }
            };
            let mut creds = ClientCredentials::new(t, id, secret).method(method);
            if let Some(s) = &c.scope {
                creds = creds.scope(s);
            }
            b = b.auth(creds);
        }
        (Some(_), _, _, _) | (None, Some(_), _, _) => {
            return Err(usage(
                "client credentials need --token-url, --client-id and --client-secret",
            ))
        }
        (None, None, _, Some(token)) => b = b.bearer(token),
        (None, None, _, None) => {}
    }
    b.build().map_err(|e| usage(e.to_string()))
}

fn read_input(path: &Path) -> Result<Value, Outcome> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| usage(format!("standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))?
    };
    serde_json::from_str(&text).map_err(|e| usage(format!("{}: not JSON: {e}", path.display())))
}

fn runtime() -> Result<tokio::runtime::Runtime, Outcome> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Outcome {
            stdout: String::new(),
            stderr: format!("cannot start the runtime: {e}\n"),
            code: 1,
        })
}

/// Runs `body` with a client (after discovery if asked), printing reports to stderr.
fn with_client<F, Fut>(c: &Connection, body: F) -> Outcome
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let client = match client(c) {
        Ok(cl) => cl,
        Err(o) => return o,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(o) => return o,
    };
    rt.block_on(async {
        if c.discover {
            match client.discover().await {
                Ok(d) => {
                    for n in &d.notes {
                        eprintln!("discovery: {n}");
                    }
                }
                Err(e) => return failed(e),
            }
        }
        let mut out = body(client.clone()).await;
        for r in client.reports() {
            out.stderr.push_str(&format!(
                "warning: {} {}: {}\n",
                r.endpoint,
                r.id.as_deref().unwrap_or("-"),
                r.message
            ));
        }
        out
    })
}

fn options(
    if_match: Option<String>,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> RequestOptions {
    let mut o = RequestOptions::new();
    if let Some(v) = if_match {
        o = o.if_match(v);
    }
    if let Some(a) = attributes {
        o = o.attributes(a.split(',').map(str::trim));
    }
    if let Some(x) = excluded {
        o = o.excluded_attributes(x.split(',').map(str::trim));
    }
    o
}

/// `scim get ENDPOINT ID`.
pub fn get(
    c: &Connection,
    endpoint: &str,
    id: &str,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Outcome {
    let opts = options(None, attributes, excluded);
    with_client(c, |client| async move {
        match client.get_with::<Value>(endpoint, id, &opts).await {
            Ok(v) => ok_json(&v.resource),
            Err(e) => failed(e),
        }
    })
}

/// `scim list` flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListArgs {
    /// `filter`, e.g. 'userName sw "J"' (checked before sending).
    #[arg(long)]
    pub filter: Option<String>,
    /// `sortBy`.
    #[arg(long)]
    pub sort_by: Option<String>,
    /// `sortOrder`: ascending or descending.
    #[arg(long)]
    pub sort_order: Option<String>,
    /// `attributes` (comma-separated).
    #[arg(long)]
    pub attributes: Option<String>,
    /// `excludedAttributes` (comma-separated).
    #[arg(long)]
    pub excluded_attributes: Option<String>,
    /// `startIndex` (1-based).
    #[arg(long)]
    pub start_index: Option<u64>,
    /// `count`: per page.
    #[arg(long)]
    pub count: Option<u64>,
    /// Follow every page and print each resource as a JSON line (a progress bar on
    /// standard error when it is a terminal).
    #[arg(long)]
    pub all: bool,
    /// Send the query as POST `.search` instead of GET.
    #[arg(long)]
    pub search: bool,
}

fn list_query(a: &ListArgs) -> Result<ListQuery, Outcome> {
    let mut q = ListQuery::new();
    if let Some(f) = &a.filter {
        q = match scim_filter::Filter::parse(f) {
            Ok(parsed) => q.filter(parsed),
            Err(e) => {
                return Err(failed(Error::Scim(scim_client::ScimErrorBody::from_body(
                    400,
                    json!({"scimType": "invalidFilter", "detail": e.to_string()})
                        .to_string()
                        .as_bytes(),
                ))))
            }
        };
    }
    if let Some(by) = &a.sort_by {
        let order = match a.sort_order.as_deref() {
            None | Some("ascending") => SortOrder::Ascending,
            Some("descending") => SortOrder::Descending,
            Some(o) => {
                return Err(usage(format!(
                    "--sort-order `{o}`: ascending or descending"
                )))
            }
        };
        q = q.sort_by(by, order);
    }
    if let Some(x) = &a.attributes {
        q = q.attributes(x.split(',').map(str::trim));
    }
    if let Some(x) = &a.excluded_attributes {
        q = q.excluded_attributes(x.split(',').map(str::trim));
    }
    if let Some(i) = a.start_index {
        q = q.start_index(i);
    }
    if let Some(n) = a.count {
        q = q.count(n);
    }
    Ok(q)
}

/// A one-line progress bar on standard error.
fn progress(done: u64, total: u64) {
    let width = 30u64;
    let filled = (done.min(total).saturating_mul(width))
        .checked_div(total)
        .unwrap_or(width);
    let bar: String = (0..width)
        .map(|i| if i < filled { '#' } else { ' ' })
        .collect();
    eprint!("\r[{bar}] {done}/{total}");
    let _ = std::io::stderr().flush();
}

/// `scim list ENDPOINT`: one page as the ListResponse, or with `--all` every resource as
/// JSON lines (written as the pages arrive).
pub fn list(c: &Connection, endpoint: &str, args: &ListArgs) -> Outcome {
    if args.all && args.search {
        return usage("--all pages with GET; leave out --search");
    }
    let q = match list_query(args) {
        Ok(q) => q,
        Err(o) => return o,
    };
    with_client(c, |client| async move {
        if !args.all {
            let page = if args.search {
                client.search::<Value>(endpoint, &q).await
            } else {
                client.list::<Value>(endpoint, &q).await
            };
            return match page.and_then(|p| {
                serde_json::to_value(&p).map_err(|e| Error::InvalidResponse(e.to_string()))
            }) {
                Ok(mut v) => {
                    v["schemas"] = json!([scim_client::LIST_RESPONSE]);
                    ok_json(&v)
                }
                Err(e) => failed(e),
            };
        }
        let bar = std::io::stderr().is_terminal();
        let mut pages = std::pin::pin!(client.pages::<Value>(endpoint, q));
        let mut done = 0u64;
        let stdout = std::io::stdout();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    if bar {
                        eprintln!();
                    }
                    return failed(e);
                }
            };
            let mut out = stdout.lock();
            for r in &page.resources {
                if writeln!(out, "{r}").is_err() {
                    return Outcome {
                        stdout: String::new(),
                        stderr: "standard output closed\n".into(),
                        code: 1,
                    };
                }
            }
            let _ = out.flush();
            done += page.resources.len() as u64;
            if bar {
                progress(done, page.total_results.max(done));
            }
        }
        if bar {
            eprintln!();
        }
        Outcome {
            stdout: String::new(),
            stderr: String::new(),
            code: 0,
        }
    })
}

/// `scim create ENDPOINT FILE` (`-` for standard input).
pub fn create(c: &Connection, endpoint: &str, file: &Path) -> Outcome {
    let resource = match read_input(file) {
        Ok(v) => v,
        Err(o) => return o,
    };
    with_client(c, |client| async move {
        match client.create(endpoint, &resource).await {
            Ok(v) => ok_json(&v),
            Err(e) => failed(e),
        }
    })
}

/// `scim replace ENDPOINT ID FILE [--if-match VERSION]`.
pub fn replace(
    c: &Connection,
    endpoint: &str,
    id: &str,
    file: &Path,
    if_match: Option<String>,
) -> Outcome {
    let resource = match read_input(file) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let opts = options(if_match, None, None);
    with_client(c, |client| async move {
        match client.replace(endpoint, id, &resource, &opts).await {
            Ok(v) => ok_json(&v),
            Err(e) => failed(e),
        }
    })
}

/// `scim patch ENDPOINT ID FILE [--if-match VERSION]`: the file is a PatchOp message,
/// checked by scim-patch before it is sent.
pub fn patch(
    c: &Connection,
    endpoint: &str,
    id: &str,
    file: &Path,
    if_match: Option<String>,
) -> Outcome {
    let message = match read_input(file) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let request =
        match scim_patch::PatchRequest::from_json(&message, &scim_patch::PatchOptions::default()) {
            Ok(r) => r,
            Err(e) => {
                let err = scim_core::ScimError::from(e);
                return Outcome {
                    stdout: format!(
                        "{}\n",
                        serde_json::to_string_pretty(&err.to_json()).unwrap_or_default()
                    ),
                    stderr: String::new(),
                    code: 1,
                };
            }
        };
    let opts = options(if_match, None, None);
    with_client(c, |client| async move {
        match client.patch::<Value>(endpoint, id, &request, &opts).await {
            Ok(Some(v)) => ok_json(&v),
            Ok(None) => Outcome {
                stdout: String::new(),
                stderr: String::new(),
                code: 0,
            },
            Err(e) => failed(e),
        }
    })
}

/// `scim delete ENDPOINT ID [--if-match VERSION]`.
pub fn delete(c: &Connection, endpoint: &str, id: &str, if_match: Option<String>) -> Outcome {
    let opts = options(if_match, None, None);
    with_client(c, |client| async move {
        match client.delete(endpoint, id, &opts).await {
            Ok(()) => Outcome {
                stdout: String::new(),
                stderr: String::new(),
                code: 0,
            },
            Err(e) => failed(e),
        }
    })
}

/// `scim bulk FILE`: a BulkRequest message (or an array of operations), split to the
/// server's limits; prints the BulkResponse; exit 1 if any operation failed.
pub fn bulk(c: &Connection, file: &Path, fail_on_errors: Option<u64>) -> Outcome {
    let input = match read_input(file) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let (ops, fail_on_errors) = match &input {
        Value::Array(_) => (input.clone(), fail_on_errors),
        Value::Object(o) => (
            o.get("Operations").cloned().unwrap_or(Value::Null),
            fail_on_errors.or_else(|| o.get("failOnErrors").and_then(Value::as_u64)),
        ),
        _ => (Value::Null, None),
    };
    let operations: Vec<BulkOperation> = match serde_json::from_value(ops) {
        Ok(o) => o,
        Err(e) => {
            return usage(format!(
                "{}: expected a BulkRequest or an array of operations: {e}",
                file.display()
            ))
        }
    };
    with_client(c, |client| async move {
        match client.bulk(operations, fail_on_errors).await {
            Ok(results) => {
                let failed_any = results
                    .iter()
                    .any(|r| !(200..300).contains(&r.status_code()));
                let mut out = ok_json(&json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
                    "Operations": results,
                }));
                if failed_any {
                    out.code = 1;
                }
                out
            }
            Err(e) => failed(e),
        }
    })
}
