//! `scim`: the SCIM 2.0 host and tools.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A request allocates and frees many small JSON values: mimalloc's thread-local free lists
/// cost far less per request than glibc's arenas under two busy workers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use scim_cli::client_cmd::{self, Connection, ListArgs};
use scim_cli::serve::{self, ServeOptions};
use scim_cli::tools;

/// SCIM 2.0: serve it, or check filters, PATCH requests and resources from the command line.
#[derive(Parser)]
#[command(name = "scim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the SCIM server on localhost, over SQLite (`scim.db` unless `--db`) or PostgreSQL.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Path the SCIM endpoints live under.
        #[arg(long, default_value = "/scim/v2")]
        base_path: String,
        /// A bearer token granting every scope (repeatable). Without any, one is generated.
        #[arg(long = "token")]
        tokens: Vec<String>,
        /// JSON config file (tokens with scopes, addr, base_path, public_url, idp_profiles,
        /// primary_rule ("rfc" or "keep_existing"), db, postgres ({"schema", "pool_size",
        /// "statement_timeout_ms", "connect_timeout_ms", "tls", "serialization_retries",
        /// "read_cache", "read_cache_bytes", "read_cache_ttl_ms", "time_ordered_ids",
        /// "analyze_after_writes"}),
        /// the SQLite store's read_cache, read_cache_bytes, read_cache_ttl_ms,
        /// read_cache_poll_ms, and the limits: max_payload, max_connections,
        /// header_timeout_ms, idle_timeout_ms, body_timeout_ms, max_uri_length,
        /// max_header_bytes, max_discard, listen_backlog;
        /// tls_cert, tls_key, metrics_token, log_json; tokens with their tenant; jwt).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Turn the Entra ID / Okta leniency off (strict RFC 7643/7644).
        #[arg(long)]
        strict: bool,
        /// SQLite file for the data (created if missing); `:memory:` keeps it in memory;
        /// `postgres://user@host/db` (or `postgresql://…`) keeps it in PostgreSQL, where
        /// several servers can share it (schema, pool size, statement timeout and TLS mode:
        /// the config file's "postgres" key).
        #[arg(long, default_value = "scim.db")]
        db: String,
        /// Answer PATCH with 204 No Content instead of 200 and the resource (what Entra ID
        /// and Okta expect; spares reading a large group back after a membership change).
        #[arg(long)]
        patch_no_content: bool,
        /// Serve HTTPS only, with this certificate chain (PEM, server certificate first);
        /// needs --tls-key. Config key `tls_cert`.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key for --tls-cert (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC). Config key
        /// `tls_key`.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Require `Authorization: Bearer TOKEN` on GET /metrics (/healthz and /readyz stay
        /// open). Prefer the config key `metrics_token`: a flag shows in the process list.
        #[arg(long, value_name = "TOKEN")]
        metrics_token: Option<String>,
        /// Log one JSON object per line instead of text (query values redacted as in the
        /// text log). Config key `log_json`.
        #[arg(long)]
        log_json: bool,
    },
    /// Parse a filter and print its canonical form; with a file, print the resources that match.
    Filter {
        /// The filter, e.g. 'userName sw "J"'.
        expr: String,
        /// Resources: a JSON array, one object, or JSON lines.
        file: Option<PathBuf>,
        /// Resource type whose schema the filter compiles against.
        #[arg(long, default_value = "User")]
        resource_type: String,
    },
    /// Apply a PatchOp message to a resource; print the result and the delta. With three
    /// arguments, `scim patch ENDPOINT ID PATCH.json`, send it to a SCIM server instead.
    Patch {
        /// The PatchOp message (remote: the endpoint, e.g. `/Users`).
        patch: PathBuf,
        /// The resource (remote: its id).
        resource: PathBuf,
        /// Remote only: the PatchOp message (`-`: standard input).
        remote_patch: Option<PathBuf>,
        /// Resource type.
        #[arg(long, default_value = "User")]
        resource_type: String,
        /// Accept Entra ID / Okta deviations.
        #[arg(long)]
        lenient: bool,
        /// Remote only: only if the resource is still at this version (`If-Match`).
        #[arg(long)]
        if_match: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
    /// Validate a resource as a create request; print it normalised or the issues.
    Validate {
        /// The resource.
        file: PathBuf,
        /// Resource type.
        #[arg(long, default_value = "User")]
        resource_type: String,
        /// Accept Entra ID / Okta deviations.
        #[arg(long)]
        lenient: bool,
    },
    /// Read a resource from a SCIM server: `scim get /Users ID --url URL` (SCIM_URL, SCIM_TOKEN).
    Get {
        /// The endpoint, e.g. `/Users`.
        endpoint: String,
        /// The resource id.
        id: String,
        /// `attributes` (comma-separated).
        #[arg(long)]
        attributes: Option<String>,
        /// `excludedAttributes` (comma-separated).
        #[arg(long)]
        excluded_attributes: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
    /// List or search resources on a SCIM server (`--all` follows every page).
    List {
        /// The endpoint, e.g. `/Users` (`/` for the service root).
        endpoint: String,
        #[command(flatten)]
        args: ListArgs,
        #[command(flatten)]
        connection: Connection,
    },
    /// Create a resource on a SCIM server from a JSON file (`-`: standard input).
    Create {
        /// The endpoint, e.g. `/Users`.
        endpoint: String,
        /// The resource.
        file: PathBuf,
        #[command(flatten)]
        connection: Connection,
    },
    /// Replace (PUT) a resource on a SCIM server.
    Replace {
        /// The endpoint, e.g. `/Users`.
        endpoint: String,
        /// The resource id.
        id: String,
        /// The resource.
        file: PathBuf,
        /// Only if the resource is still at this version (`If-Match`).
        #[arg(long)]
        if_match: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
    /// Delete a resource on a SCIM server.
    Delete {
        /// The endpoint, e.g. `/Users`.
        endpoint: String,
        /// The resource id.
        id: String,
        /// Only if the resource is still at this version (`If-Match`).
        #[arg(long)]
        if_match: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
    /// Send a Bulk request (split to the server's limits) from a JSON file.
    Bulk {
        /// A BulkRequest message, or an array of operations.
        file: PathBuf,
        /// Stop after this many errors.
        #[arg(long)]
        fail_on_errors: Option<u64>,
        #[command(flatten)]
        connection: Connection,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let outcome = match cli.command {
        Command::Serve {
            addr,
            base_path,
            tokens,
            config,
            strict,
            db,
            patch_no_content,
            tls_cert,
            tls_key,
            metrics_token,
            log_json,
        } => {
            return serve_main(
                addr,
                base_path,
                tokens,
                config,
                ServeFlags {
                    strict,
                    db,
                    patch_no_content,
                    tls_cert,
                    tls_key,
                    metrics_token,
                    log_json,
                },
            )
        }
        Command::Filter {
            expr,
            file,
            resource_type,
        } => tools::filter(&expr, file.as_deref(), &resource_type),
        Command::Patch {
            patch,
            resource,
            remote_patch: Some(file),
            if_match,
            connection,
            ..
        } => client_cmd::patch(
            &connection,
            &patch.to_string_lossy(),
            &resource.to_string_lossy(),
            &file,
            if_match,
        ),
        Command::Patch {
            patch,
            resource,
            remote_patch: None,
            resource_type,
            lenient,
            ..
        } => tools::patch(&patch, &resource, &resource_type, lenient),
        Command::Validate {
            file,
            resource_type,
            lenient,
        } => tools::validate(&file, &resource_type, lenient),
        Command::Get {
            endpoint,
            id,
            attributes,
            excluded_attributes,
            connection,
        } => client_cmd::get(
            &connection,
            &endpoint,
            &id,
            attributes.as_deref(),
            excluded_attributes.as_deref(),
        ),
        Command::List {
            endpoint,
            args,
            connection,
        } => client_cmd::list(&connection, &endpoint, &args),
        Command::Create {
            endpoint,
            file,
            connection,
        } => client_cmd::create(&connection, &endpoint, &file),
        Command::Replace {
            endpoint,
            id,
            file,
            if_match,
            connection,
        } => client_cmd::replace(&connection, &endpoint, &id, &file, if_match),
        Command::Delete {
            endpoint,
            id,
            if_match,
            connection,
        } => client_cmd::delete(&connection, &endpoint, &id, if_match),
        Command::Bulk {
            file,
            fail_on_errors,
            connection,
        } => client_cmd::bulk(&connection, &file, fail_on_errors),
    };
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    ExitCode::from(u8::try_from(outcome.code).unwrap_or(1))
}

/// The flags of `scim serve` that override its config file.
struct ServeFlags {
    strict: bool,
    db: String,
    patch_no_content: bool,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    metrics_token: Option<String>,
    log_json: bool,
}

fn serve_main(
    addr: std::net::SocketAddr,
    base_path: String,
    tokens: Vec<String>,
    config: Option<PathBuf>,
    flags: ServeFlags,
) -> ExitCode {
    let ServeFlags {
        strict,
        db,
        patch_no_content,
        tls_cert,
        tls_key,
        metrics_token,
        log_json,
    } = flags;
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let ansi = std::io::stderr().is_terminal();
    // Log lines are copied into a buffer that a thread of their own writes to stderr every
    // few milliseconds: no request waits on stderr, nor wakes a thread per line. A caller
    // that finds 1 MiB pending writes it out itself (and waits) rather than lose lines. The
    // guard writes out what is left when `serve_main` returns.
    let (writer, _flush_on_exit) = serve::BatchedLog::new(std::io::stderr(), 1 << 20);
    let mut options = ServeOptions::new();
    options.addr = addr;
    options.base_path = base_path;
    options.db = (db != ":memory:").then(|| PathBuf::from(db));
    if let Some(path) = config {
        options = match options.load(&path) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
    }
    if strict {
        options.idp_profiles = false;
    }
    if patch_no_content {
        options.patch_no_content = true;
    }
    for t in tokens {
        options.tokens.insert(t, scim_core::Scopes::All);
    }
    if let (Some(cert), Some(key)) = (tls_cert, tls_key) {
        (options.tls_cert, options.tls_key) = (Some(cert), Some(key));
    }
    if let Some(token) = metrics_token {
        if token.is_empty() {
            eprintln!("--metrics-token must not be empty");
            return ExitCode::from(2);
        }
        options.metrics_token = Some(serve::MetricsToken::new(token));
    }
    options.log_json |= log_json;
    // The log format is known once the config file is read: the subscriber is set here.
    let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = if options.log_json {
        Box::new(serve::json_log_subscriber(writer, &directives))
    } else {
        Box::new(serve::log_subscriber(writer, ansi, &directives))
    };
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("scim serve: a log subscriber was already set");
    }
    match serve::raise_open_files_limit() {
        Ok(n) if n < options.max_connections as u64 + 64 => tracing::warn!(
            open_files = n,
            max_connections = options.max_connections,
            "the open-files limit is below max_connections plus some room"
        ),
        Ok(n) => tracing::debug!(open_files = n, "open-files limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-files limit"),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        let listener = serve::bind(options.addr, options.listen_backlog)?;
        serve::run(listener, options, serve::ctrl_c()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scim serve: {e}");
            ExitCode::from(1)
        }
    }
}
