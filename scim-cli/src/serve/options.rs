//! [`ServeOptions`]: what `scim serve` runs with, and its `--config` JSON file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use scim_core::secret::Argon2Params;
use scim_store_postgres::PostgresOptions;
use scim_store_sqlite::PoolOptions;

use super::config_file::ConfigFile;
use super::ops::MetricsToken;
use crate::auth::Tokens;

/// What `scim serve` runs with. Every limit has a default (see [`ServeOptions::new`]) and a
/// key of the same name in the `--config` file (durations in milliseconds, `…_ms`).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The path the SCIM endpoints live under, e.g. `/scim/v2`.
    pub base_path: String,
    /// The public base URL for `meta.location` (default `http://{addr}{base_path}`).
    pub public_url: Option<String>,
    /// Known tokens.
    pub tokens: Tokens,
    /// Entra ID / Okta leniency (PATCH profiles and schema coercions). Default on.
    pub idp_profiles: bool,
    /// Which value stays primary when a PATCH leaves two (key `primary_rule`: `"rfc"`, the
    /// default, lets the value the request made primary win; `"keep_existing"` keeps the
    /// old one, as Gluu does).
    pub primary_rule: scim_patch::PrimaryRule,
    /// Largest request body, in bytes (default 1 MiB). A larger one is answered 413.
    pub max_payload: usize,
    /// Where to keep data: a SQLite file, or a PostgreSQL database when it reads
    /// `postgres://…` or `postgresql://…` (with [`ServeOptions::postgres`]); `None` keeps it
    /// in memory.
    pub db: Option<PathBuf>,
    /// Answer PATCH with 204 No Content (RFC 7644 §3.5.2 allows it; Entra ID and Okta
    /// expect nothing more). A membership PATCH of a large group then neither reads nor
    /// writes its other members. Default off: 200 with the resource.
    pub patch_no_content: bool,
    /// How often a PATCH without `If-Match` is applied again, on the new version, after a
    /// concurrent write to the same resource (on this replica or another) committed first
    /// (default 1,000; key `max_patch_retries`). A try fails only when another write
    /// committed since it read the resource, so a PATCH is answered 412 only when more
    /// writes than this commit to that resource while it runs: 100 member adds racing on
    /// one group over two replicas all succeed (`tests/replicas.rs`), where the engine's
    /// default of 16 answered 60 of them 412.
    pub max_patch_retries: usize,
    /// Most values one multi-valued attribute of a resource may hold after a write (default
    /// 100,000; key `max_values`): a write that would grow one past it is answered 400
    /// `invalidValue`, so repeated PATCH `add`s cannot grow a user without end. A group's
    /// members in the SQL stores are not counted (they are kept out of line).
    pub max_values: usize,
    /// Fewest values of a multi-valued attribute for a PATCH that changes some of them by
    /// value filter to be applied to the stored text (default 256; key
    /// `min_values_patched_in_text`; see
    /// [`Config::min_values_patched_in_text`](scim_core::Config::min_values_patched_in_text)).
    pub min_values_patched_in_text: usize,
    /// How long a client may take to send a whole request head, counted from the
    /// connection's start or from its first byte after an idle spell (default 10 s; key
    /// `header_timeout_ms`). The connection is then closed.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may sit with no request in flight and no byte
    /// received before it is closed (default 60 s; key `idle_timeout_ms`).
    pub idle_timeout: Duration,
    /// How long reading one request body may take, including any discarding of an
    /// oversized one (default 30 s; key `body_timeout_ms`). Answered 408.
    pub body_timeout: Duration,
    /// Most connections open at once (default 1,024; key `max_connections`). At the cap a
    /// newcomer is still accepted and the connection that has waited longest without a
    /// request in flight is closed; if every connection has a request in flight, the
    /// newcomer is answered 503.
    pub max_connections: usize,
    /// Longest request target (path and query), in bytes (default 8 KiB; key
    /// `max_uri_length`). Answered 414.
    pub max_uri_length: usize,
    /// Most bytes of request header fields (names, values and separators; default 16 KiB;
    /// key `max_header_bytes`). Answered 431.
    pub max_header_bytes: usize,
    /// Most bytes of an oversized or refused request body read and thrown away before the
    /// answer, so that a client still sending it reads the answer instead of a reset
    /// (default 16 MiB; key `max_discard`). Past it the connection is closed.
    pub max_discard: usize,
    /// How many connections the kernel may hold ready before they are accepted (default
    /// 1,024; key `listen_backlog`; the kernel caps it at `net.core.somaxconn`).
    pub listen_backlog: u32,
    /// The cost of the Argon2id hash passwords are stored with (key `"argon2": {"memory_kib":
    /// 19456, "iterations": 2, "lanes": 1}`; OWASP's recommendation by default).
    pub argon2: Argon2Params,
    /// The SQLite store's threads: `readers` (key `sqlite_readers`, default 4), the longest
    /// one read may run before it is answered 400 `tooMany` (`query_budget_ms`, default
    /// 2,000), the most writes committed together (`max_write_batch`, default 256) and the
    /// WAL's length before the writer starts it over (`max_wal_frames`, default 16,384).
    pub sqlite: PoolOptions,
    /// The SQLite store's per-resource index cap (key `max_indexed_values`, default 100): an
    /// attribute with more values than this in one resource is not indexed value by value,
    /// and lookups on it read such resources' documents instead
    /// (`scim_store_sqlite::SqliteOptions::max_indexed_values`).
    pub sqlite_max_indexed_values: usize,
    /// Whether the SQLite store makes time-ordered (version-7) ids (key `time_ordered_ids`,
    /// default `true`; `scim_store_sqlite::SqliteOptions::time_ordered_ids`).
    pub sqlite_time_ordered_ids: bool,
    /// The SQLite store's read cache (`scim_store_sqlite::SqliteOptions::read_cache`):
    /// keys `read_cache` (answers kept, default 10,000; 0 turns it off), `read_cache_bytes`
    /// (default 64 MiB), `read_cache_ttl_ms` (default 300,000) and `read_cache_poll_ms` (how
    /// soon another process's write to the file is noticed, default 50).
    pub sqlite_read_cache: scim_store_sqlite::CacheOptions,
    /// The PostgreSQL store's settings, for a `db` that is a `postgres://` URL (its `url`
    /// is taken from `db`): key `"postgres": {"schema": "scim", "pool_size": 8,
    /// "statement_timeout_ms": 2000, "connect_timeout_ms": 5000, "tls": "prefer",
    /// "serialization_retries": 5, "read_cache": 10000, "read_cache_bytes": 67108864,
    /// "read_cache_ttl_ms": 300000, "time_ordered_ids": true, "analyze_after_writes": 1000}`
    /// (`tls`: `disable`, `prefer`, `require` or `verify-full`; `read_cache` 0 turns the
    /// read cache off).
    pub postgres: PostgresOptions,
    /// The TLS certificate chain, a PEM file with the server's certificate first (key
    /// `tls_cert`, flag `--tls-cert`; default none: plain HTTP). Set with
    /// [`tls_key`](Self::tls_key): the server then speaks only HTTPS, `public_url` defaults
    /// to `https://…`, and a missing, unreadable or mismatched file stops it at start.
    pub tls_cert: Option<PathBuf>,
    /// The TLS private key, a PEM file: PKCS#8, PKCS#1 RSA or SEC1 EC (key `tls_key`, flag
    /// `--tls-key`; default none). Needs [`tls_cert`](Self::tls_cert).
    pub tls_key: Option<PathBuf>,
    /// The bearer token `GET /metrics` requires (key `metrics_token`, flag
    /// `--metrics-token`; default none: `/metrics` is open, like `/healthz` and `/readyz`).
    /// The SCIM tokens do not open `/metrics`, nor this token the SCIM endpoints.
    pub metrics_token: Option<MetricsToken>,
    /// Log one JSON object per line instead of text (key `log_json`, flag `--log-json`;
    /// default off). Query values are redacted in both.
    pub log_json: bool,
    /// OAuth 2.0 JWT access tokens, verified against the issuer's key set (key `jwt`), beside
    /// the static `tokens`; `None` (the default): static tokens only.
    pub jwt: Option<JwtOptions>,
}

/// JWT bearer tokens: what is checked and where the keys come from.
#[derive(Debug, Clone)]
pub struct JwtOptions {
    /// Issuer, audience, algorithms, leeway, claims and scope mapping.
    pub config: scim_tower::JwtConfig,
    /// The key set.
    pub source: JwksSource,
}

/// Where the JSON Web Key Set is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// Fetched from this URL at start-up, and again as `jwks_refresh_secs` and key
    /// rotation require.
    Url(String),
    /// Read once from this file.
    File(PathBuf),
}

impl ServeOptions {
    /// Defaults: 127.0.0.1:8080, `/scim/v2`, IdP profiles on, 1 MiB bodies, no tokens,
    /// 10 s to send a request head, 60 s idle keep-alive, 30 s to send a body, 1,024
    /// connections, 8 KiB request targets, 16 KiB of headers, 16 MiB discarded at most, a
    /// listen backlog of 1,024.
    pub fn new() -> Self {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_path: "/scim/v2".to_owned(),
            public_url: None,
            tokens: Tokens::new(),
            idp_profiles: true,
            primary_rule: scim_patch::PrimaryRule::RequestWins,
            max_payload: 1 << 20,
            db: None,
            patch_no_content: false,
            max_patch_retries: 1000,
            max_values: 100_000,
            min_values_patched_in_text: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_uri_length: 8 << 10,
            max_header_bytes: 16 << 10,
            max_discard: 16 << 20,
            listen_backlog: 1024,
            argon2: Argon2Params::default(),
            sqlite: PoolOptions::default(),
            sqlite_max_indexed_values: 100,
            sqlite_time_ordered_ids: true,
            sqlite_read_cache: scim_store_sqlite::CacheOptions::default(),
            postgres: PostgresOptions::new(""),
            jwt: None,
            tls_cert: None,
            tls_key: None,
            metrics_token: None,
            log_json: false,
        }
    }

    /// Reads a JSON config file:
    /// `{"addr": "127.0.0.1:8080", "base_path": "/scim/v2", "public_url": "...",
    ///   "idp_profiles": true, "primary_rule": "rfc", "max_payload": 1048576,
    ///   "patch_no_content": false, "max_patch_retries": 1000, "max_values": 100000,
    ///   "min_values_patched_in_text": 256,
    ///   "db": "scim.db", "header_timeout_ms": 10000, "idle_timeout_ms": 60000,
    ///   "body_timeout_ms": 30000, "max_connections": 1024, "max_uri_length": 8192,
    ///   "max_header_bytes": 16384, "max_discard": 16777216, "listen_backlog": 1024,
    ///   "argon2": {"memory_kib": 19456, "iterations": 2, "lanes": 1},
    ///   "sqlite_readers": 4, "query_budget_ms": 2000, "max_write_batch": 256,
    ///   "max_scan": 2000000, "max_indexed_values": 100, "max_wal_frames": 16384,
    ///   "time_ordered_ids": true, "read_cache": 10000, "read_cache_bytes": 67108864,
    ///   "read_cache_ttl_ms": 300000, "read_cache_poll_ms": 50,
    ///   "postgres": {"schema": "scim", "pool_size": 8, "statement_timeout_ms": 2000,
    ///                "connect_timeout_ms": 5000, "tls": "prefer", "serialization_retries": 5,
    ///                "read_cache": 10000, "read_cache_bytes": 67108864,
    ///                "read_cache_ttl_ms": 300000, "time_ordered_ids": true,
    ///                "analyze_after_writes": 1000},
    ///   "tls_cert": "cert.pem", "tls_key": "key.pem", "metrics_token": "...", "log_json": false,
    ///   "tokens": [{"token": "...", "scopes": ["https://gluu.org/scim/users.read", ...],
    ///               "tenant": "acme"}],
    ///   "jwt": {"issuer": "https://idp.example.com", "audience": "scim",
    ///           "jwks_url": "https://idp.example.com/jwks" (or "jwks_file": "keys.json"),
    ///           "algorithms": ["RS256", "ES256", "EdDSA"], "leeway_secs": 60,
    ///           "hmac_secret": "...", "scope_map": {"scim.admin": ["all"]},
    ///           "tenant_claim": "tid", "subject_claim": "sub", "jwks_refresh_secs": 300}}`
    /// (`"scopes": "all"` grants everything; a token's `tenant` is the tenant its requests
    /// run in, `default` when left out). Keys left out keep their value; a key not
    /// listed here, or a value of the wrong type, is an error that names it.
    pub fn load(mut self, path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        ConfigFile::parse(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .apply(&mut self)?;
        Ok(self)
    }

    /// The size of the buffer the HTTP parser may fill with one request head: room for the
    /// configured target and headers and some slack, so that a head a little over either
    /// limit still reaches the handler (which names the limit) rather than the parser.
    pub(crate) fn head_buffer(&self) -> usize {
        self.max_uri_length
            .saturating_add(self.max_header_bytes)
            .saturating_add(4 << 10)
            .max(8 << 10)
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn load(text: &str) -> Result<ServeOptions, String> {
        let path = std::env::temp_dir().join(format!(
            "scim-serve-opts-{}-{}.json",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        let r = ServeOptions::new().load(&path);
        let _ = std::fs::remove_file(&path);
        r
    }

    #[test]
    fn limits_from_the_config_file() {
        let o = load(
            r#"{"header_timeout_ms": 300, "idle_timeout_ms": 400, "body_timeout_ms": 500,
                "max_connections": 7, "max_uri_length": 100, "max_header_bytes": 200,
                "max_discard": 300}"#,
        )
        .unwrap();
        assert_eq!(o.header_timeout, Duration::from_millis(300));
        assert_eq!(o.idle_timeout, Duration::from_millis(400));
        assert_eq!(o.body_timeout, Duration::from_millis(500));
        assert_eq!(
            (
                o.max_connections,
                o.max_uri_length,
                o.max_header_bytes,
                o.max_discard
            ),
            (7, 100, 200, 300)
        );
        assert_eq!(o.head_buffer(), 8 << 10);
    }

    #[test]
    fn sqlite_limits_from_the_config_file() {
        let o = load(
            r#"{"sqlite_readers": 2, "query_budget_ms": 750, "max_write_batch": 9,
                "max_scan": 12345}"#,
        )
        .unwrap();
        assert_eq!(o.sqlite.readers, 2);
        assert_eq!(o.sqlite.query_budget, Duration::from_millis(750));
        assert_eq!((o.sqlite.max_batch, o.sqlite.max_scan), (9, 12345));
        assert!(load(r#"{"max_scan": -1}"#).is_err());
    }

    #[test]
    fn bad_limits_are_refused() {
        assert!(load(r#"{"max_connections": 0}"#).is_err());
        assert!(load(r#"{"idle_timeout_ms": 0}"#).is_err());
        assert!(load(r#"{"max_discard": "lots"}"#).is_err());
    }

    #[test]
    fn primary_rule_from_the_config_file() {
        use scim_patch::PrimaryRule;
        assert_eq!(ServeOptions::new().primary_rule, PrimaryRule::RequestWins);
        let o = load(r#"{"primary_rule": "keep_existing"}"#).unwrap();
        assert_eq!(o.primary_rule, PrimaryRule::KeepExisting);
        // Lengths differ from the other tests' files (the file name holds the length).
        let o = load(r#"{"primary_rule":   "rfc"}"#).unwrap();
        assert_eq!(o.primary_rule, PrimaryRule::RequestWins);
        assert!(load(r#"{"primary_rule": "gluu"}"#).is_err());
        assert!(load(r#"{"primary_rule": 1}"#).is_err());
    }
}
