//! The `scim serve --config` JSON file, read with serde into typed structs. A key the file
//! format does not have is refused with its name (a mistyped `max_conections` must not be
//! silently ignored); every key is optional and one left out (or `null`) keeps its value.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use scim_core::secret::Argon2Params;
use scim_core::Scopes;
use scim_store_postgres::PostgresOptions;
use serde::Deserialize;

use super::options::{JwksSource, JwtOptions};
use super::{MetricsToken, ServeOptions};

/// The whole file. Field names are the file's keys; the meaning of each is documented on
/// the [`ServeOptions`] field it sets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    addr: Option<SocketAddr>,
    base_path: Option<String>,
    public_url: Option<String>,
    idp_profiles: Option<bool>,
    primary_rule: Option<PrimaryRuleKey>,
    /// A file, `:memory:`, or a `postgres://` URL.
    db: Option<String>,
    postgres: Option<PostgresKeys>,
    patch_no_content: Option<bool>,
    max_patch_retries: Option<u64>,
    max_values: Option<u64>,
    min_values_patched_in_text: Option<u64>,
    argon2: Option<Argon2Keys>,
    max_payload: Option<u64>,
    header_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    body_timeout_ms: Option<u64>,
    max_connections: Option<u64>,
    max_uri_length: Option<u64>,
    max_header_bytes: Option<u64>,
    max_discard: Option<u64>,
    listen_backlog: Option<u64>,
    sqlite_readers: Option<u64>,
    query_budget_ms: Option<u64>,
    max_scan: Option<u64>,
    max_indexed_values: Option<u64>,
    max_write_batch: Option<u64>,
    max_wal_frames: Option<u64>,
    time_ordered_ids: Option<bool>,
    read_cache: Option<u64>,
    read_cache_bytes: Option<u64>,
    read_cache_ttl_ms: Option<u64>,
    read_cache_poll_ms: Option<u64>,
    tokens: Option<Vec<TokenEntry>>,
    jwt: Option<JwtKeys>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    metrics_token: Option<MetricsTokenKey>,
    log_json: Option<bool>,
}

/// `"metrics_token"`: a non-empty string. Its `Debug` never shows it.
#[derive(Deserialize)]
struct MetricsTokenKey(String);

impl fmt::Debug for MetricsTokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `"jwt": {"issuer": "...", "audience": "...", "jwks_url": "https://..." | "jwks_file":
/// "keys.json", "algorithms": ["RS256", "ES256", "EdDSA"], "leeway_secs": 60,
/// "hmac_secret": "...", "scope_map": {"scim.read": ["https://gluu.org/scim/users.read"]},
/// "tenant_claim": "tid", "subject_claim": "sub", "jwks_refresh_secs": 300}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JwtKeys {
    issuer: String,
    audience: String,
    jwks_url: Option<String>,
    jwks_file: Option<String>,
    algorithms: Option<Vec<String>>,
    leeway_secs: Option<u64>,
    hmac_secret: Option<String>,
    scope_map: Option<std::collections::HashMap<String, Vec<String>>>,
    tenant_claim: Option<String>,
    subject_claim: Option<String>,
    jwks_refresh_secs: Option<u64>,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("jwks_url", &self.jwks_url)
            .field("jwks_file", &self.jwks_file)
            .field(
                "hmac_secret",
                &self.hmac_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// The JWT options these keys describe.
    fn options(self) -> Result<JwtOptions, String> {
        let source = match (self.jwks_url, self.jwks_file) {
            (Some(url), None) => JwksSource::Url(url),
            (None, Some(file)) => JwksSource::File(file.into()),
            _ => return Err("\"jwt\" needs exactly one of \"jwks_url\" and \"jwks_file\"".into()),
        };
        let mut config = scim_tower::JwtConfig::new(self.issuer, self.audience);
        if let Some(names) = self.algorithms {
            config.algorithms = names
                .iter()
                .map(|n| {
                    n.parse::<scim_tower::Algorithm>()
                        .map_err(|_| format!("\"jwt.algorithms\": unknown algorithm {n:?}"))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(s) = self.leeway_secs {
            config.leeway = Duration::from_secs(s);
        }
        config.hmac_secret = self.hmac_secret.map(String::into_bytes);
        if let Some(m) = self.scope_map {
            config.scope_map = m;
        }
        config.tenant_claim = self.tenant_claim;
        if let Some(c) = self.subject_claim {
            config.subject_claim = Some(c);
        }
        if let Some(s) = self.jwks_refresh_secs {
            config.refresh_every = Duration::from_secs(s.max(1));
        }
        Ok(JwtOptions { config, source })
    }
}

/// `"primary_rule"`: `"rfc"` or `"keep_existing"`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PrimaryRuleKey {
    Rfc,
    KeepExisting,
}

/// `"argon2": {"memory_kib": 19456, "iterations": 2, "lanes": 1}`; a cost left out is
/// OWASP's default.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct Argon2Keys {
    memory_kib: Option<u32>,
    iterations: Option<u32>,
    lanes: Option<u32>,
}

/// `"postgres": {"schema": …, "pool_size": …, "statement_timeout_ms": …,
/// "connect_timeout_ms": …, "tls": …, "serialization_retries": …, "read_cache": …,
/// "read_cache_bytes": …, "read_cache_ttl_ms": …, "time_ordered_ids": …,
/// "analyze_after_writes": …}`; a key left out keeps its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostgresKeys {
    schema: Option<String>,
    pool_size: Option<u64>,
    statement_timeout_ms: Option<u64>,
    connect_timeout_ms: Option<u64>,
    tls: Option<String>,
    serialization_retries: Option<u32>,
    read_cache: Option<u64>,
    read_cache_bytes: Option<u64>,
    read_cache_ttl_ms: Option<u64>,
    time_ordered_ids: Option<bool>,
    analyze_after_writes: Option<u64>,
}

impl PostgresKeys {
    /// Sets what the keys set on `o`, refusing zero sizes and times and unknown TLS modes.
    fn apply(self, o: &mut PostgresOptions) -> Result<(), String> {
        if let Some(s) = self.schema {
            o.schema = s;
        }
        if let Some(n) = self.pool_size {
            if n == 0 {
                return Err("\"postgres.pool_size\" must be at least 1".into());
            }
            o.pool_size = size(n);
        }
        if let Some(d) = millis("postgres.statement_timeout_ms", self.statement_timeout_ms)? {
            o.statement_timeout = d;
        }
        if let Some(d) = millis("postgres.connect_timeout_ms", self.connect_timeout_ms)? {
            o.connect_timeout = d;
        }
        if let Some(t) = self.tls {
            o.tls = t.parse().map_err(|e| format!("\"postgres.tls\": {e}"))?;
        }
        if let Some(n) = self.serialization_retries {
            o.serialization_retries = n;
        }
        if let Some(n) = self.read_cache {
            o.read_cache = size(n);
        }
        if let Some(n) = self.read_cache_bytes {
            o.read_cache_bytes = size(n);
        }
        if let Some(d) = millis("postgres.read_cache_ttl_ms", self.read_cache_ttl_ms)? {
            o.read_cache_ttl = d;
        }
        if let Some(on) = self.time_ordered_ids {
            o.time_ordered_ids = on;
        }
        if let Some(n) = self.analyze_after_writes {
            o.analyze_after_writes = n;
        }
        Ok(())
    }
}

/// One entry of `"tokens"`: `{"token": "...", "scopes": "all" | [...], "tenant": "acme"}`
/// (all scopes when `scopes` is left out; tenant `default` when `tenant` is). Its `Debug`
/// never shows the token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: String,
    scopes: Option<ScopesKey>,
    tenant: Option<String>,
}

impl fmt::Debug for TokenEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEntry")
            .field("token", &format_args!("<redacted>"))
            .field("scopes", &self.scopes)
            .field("tenant", &self.tenant)
            .finish()
    }
}

/// `"scopes"`: `"all"` or a list of scope strings.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "\"all\" or a list of scopes")]
enum ScopesKey {
    All(AllScopes),
    List(Vec<String>),
}

/// The one string `"scopes"` may be.
#[derive(Debug, Deserialize)]
enum AllScopes {
    #[serde(rename = "all")]
    All,
}

impl ConfigFile {
    /// Reads the file's text; a syntax error, a value of the wrong type or an unknown key is
    /// an error naming where it is (`tokens[0]: unknown field `tokn``).
    pub(crate) fn parse(text: &str) -> Result<ConfigFile, String> {
        let mut json = serde_json::Deserializer::from_str(text);
        let file: ConfigFile =
            serde_path_to_error::deserialize(&mut json).map_err(|e| e.to_string())?;
        json.end().map_err(|e| e.to_string())?;
        Ok(file)
    }

    /// Sets what the file sets on `o`, after the checks no type expresses (no zero
    /// durations, at least one connection and one write per batch).
    pub(crate) fn apply(self, o: &mut ServeOptions) -> Result<(), String> {
        if let Some(a) = self.addr {
            o.addr = a;
        }
        if let Some(b) = self.base_path {
            o.base_path = b;
        }
        if let Some(u) = self.public_url {
            o.public_url = Some(u);
        }
        if let Some(p) = self.idp_profiles {
            o.idp_profiles = p;
        }
        if let Some(r) = self.primary_rule {
            o.primary_rule = match r {
                PrimaryRuleKey::Rfc => scim_patch::PrimaryRule::RequestWins,
                PrimaryRuleKey::KeepExisting => scim_patch::PrimaryRule::KeepExisting,
            };
        }
        if let Some(d) = self.db {
            o.db = (d != ":memory:").then(|| d.into());
        }
        if let Some(p) = self.postgres {
            p.apply(&mut o.postgres)?;
        }
        if let Some(p) = self.patch_no_content {
            o.patch_no_content = p;
        }
        if let Some(n) = self.max_patch_retries {
            o.max_patch_retries = size(n);
        }
        if let Some(n) = self.max_values {
            o.max_values = size(n);
        }
        if let Some(n) = self.min_values_patched_in_text {
            o.min_values_patched_in_text = size(n);
        }
        if let Some(a) = self.argon2 {
            let d = Argon2Params::default();
            o.argon2 = Argon2Params::new(
                a.memory_kib.unwrap_or(d.memory_kib),
                a.iterations.unwrap_or(d.iterations),
                a.lanes.unwrap_or(d.lanes),
            );
        }
        if let Some(m) = self.max_payload {
            o.max_payload = size(m);
        }
        if let Some(d) = millis("header_timeout_ms", self.header_timeout_ms)? {
            o.header_timeout = d;
        }
        if let Some(d) = millis("idle_timeout_ms", self.idle_timeout_ms)? {
            o.idle_timeout = d;
        }
        if let Some(d) = millis("body_timeout_ms", self.body_timeout_ms)? {
            o.body_timeout = d;
        }
        if let Some(n) = self.max_connections {
            if n == 0 {
                return Err("\"max_connections\" must be at least 1".into());
            }
            o.max_connections = size(n);
        }
        if let Some(n) = self.max_uri_length {
            o.max_uri_length = size(n);
        }
        if let Some(n) = self.max_header_bytes {
            o.max_header_bytes = size(n);
        }
        if let Some(n) = self.max_discard {
            o.max_discard = size(n);
        }
        if let Some(n) = self.listen_backlog {
            o.listen_backlog = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = self.sqlite_readers {
            o.sqlite.readers = size(n);
        }
        if let Some(d) = millis("query_budget_ms", self.query_budget_ms)? {
            o.sqlite.query_budget = d;
        }
        if let Some(n) = self.max_scan {
            o.sqlite.max_scan = n;
        }
        if let Some(n) = self.max_indexed_values {
            o.sqlite_max_indexed_values = size(n);
        }
        if let Some(n) = self.max_write_batch {
            if n == 0 {
                return Err("\"max_write_batch\" must be at least 1".into());
            }
            o.sqlite.max_batch = size(n);
        }
        if let Some(n) = self.max_wal_frames {
            if n == 0 {
                return Err("\"max_wal_frames\" must be at least 1".into());
            }
            o.sqlite.max_wal_frames = n;
        }
        if let Some(on) = self.time_ordered_ids {
            o.sqlite_time_ordered_ids = on;
        }
        if let Some(n) = self.read_cache {
            o.sqlite_read_cache.entries = size(n);
        }
        if let Some(n) = self.read_cache_bytes {
            o.sqlite_read_cache.bytes = size(n);
        }
        if let Some(d) = millis("read_cache_ttl_ms", self.read_cache_ttl_ms)? {
            o.sqlite_read_cache.ttl = d;
        }
        if let Some(d) = millis("read_cache_poll_ms", self.read_cache_poll_ms)? {
            o.sqlite_read_cache.poll = d;
        }
        if let Some(path) = self.tls_cert {
            o.tls_cert = Some(path.into());
        }
        if let Some(path) = self.tls_key {
            o.tls_key = Some(path.into());
        }
        if let Some(MetricsTokenKey(token)) = self.metrics_token {
            if token.is_empty() {
                return Err("\"metrics_token\" must not be empty".into());
            }
            o.metrics_token = Some(MetricsToken::new(token));
        }
        if let Some(json) = self.log_json {
            o.log_json = json;
        }
        for t in self.tokens.into_iter().flatten() {
            let scopes = match t.scopes {
                None | Some(ScopesKey::All(AllScopes::All)) => Scopes::All,
                Some(ScopesKey::List(list)) => Scopes::of(list),
            };
            let grant = scim_tower::Grant::new(scopes);
            let grant = match t.tenant {
                Some(tenant) => grant.tenant(tenant),
                None => grant,
            };
            o.tokens.insert_grant(t.token, grant);
        }
        if let Some(j) = self.jwt {
            o.jwt = Some(j.options()?);
        }
        Ok(())
    }
}

/// A count or size from the file, capped at what the platform can hold.
fn size(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A duration key in milliseconds: more than 0 when present.
fn millis(key: &str, value: Option<u64>) -> Result<Option<Duration>, String> {
    match value {
        Some(0) => Err(format!("\"{key}\" must be more than 0")),
        Some(n) => Ok(Some(Duration::from_millis(n))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn load(text: &str) -> Result<ServeOptions, String> {
        let mut o = ServeOptions::new();
        ConfigFile::parse(text)?.apply(&mut o)?;
        Ok(o)
    }

    #[test]
    fn every_documented_key_is_read() {
        let o = load(
            r#"{"addr": "127.0.0.1:9090", "base_path": "/v2", "public_url": "https://x.example/v2",
                "idp_profiles": false, "primary_rule": "keep_existing", "max_payload": 2048,
                "patch_no_content": true, "max_patch_retries": 13, "db": ":memory:",
                "max_values": 20, "min_values_patched_in_text": 21,
                "header_timeout_ms": 1,
                "idle_timeout_ms": 2, "body_timeout_ms": 3, "max_connections": 4,
                "max_uri_length": 5, "max_header_bytes": 6, "max_discard": 7, "listen_backlog": 8,
                "argon2": {"memory_kib": 64, "iterations": 3, "lanes": 2},
                "sqlite_readers": 9, "query_budget_ms": 10, "max_write_batch": 11, "max_scan": 12,
                "max_indexed_values": 14, "max_wal_frames": 15, "time_ordered_ids": false,
                "read_cache": 16, "read_cache_bytes": 17, "read_cache_ttl_ms": 18,
                "read_cache_poll_ms": 19,
                "tokens": [{"token": "t1", "scopes": ["https://gluu.org/scim/users.read"]},
                           {"token": "t2", "scopes": "all"}, {"token": "t3"}],
                "tls_cert": "c.pem", "tls_key": "k.pem", "metrics_token": "m", "log_json": true}"#,
        )
        .unwrap();
        assert_eq!(o.addr, SocketAddr::from(([127, 0, 0, 1], 9090)));
        assert_eq!(
            (o.base_path.as_str(), o.public_url.as_deref()),
            ("/v2", Some("https://x.example/v2"))
        );
        assert!(!o.idp_profiles && o.patch_no_content && o.db.is_none());
        assert_eq!(o.max_patch_retries, 13);
        assert_eq!(ServeOptions::new().max_patch_retries, 1000);
        assert_eq!(
            (o.max_values, ServeOptions::new().max_values),
            (20, 100_000)
        );
        assert_eq!(
            (
                o.min_values_patched_in_text,
                ServeOptions::new().min_values_patched_in_text
            ),
            (21, 256)
        );
        assert_eq!(o.primary_rule, scim_patch::PrimaryRule::KeepExisting);
        assert_eq!(o.max_payload, 2048);
        assert_eq!(
            (o.header_timeout, o.idle_timeout, o.body_timeout),
            (
                Duration::from_millis(1),
                Duration::from_millis(2),
                Duration::from_millis(3)
            )
        );
        assert_eq!(
            (
                o.max_connections,
                o.max_uri_length,
                o.max_header_bytes,
                o.max_discard,
                o.listen_backlog
            ),
            (4, 5, 6, 7, 8)
        );
        assert_eq!(o.argon2, Argon2Params::new(64, 3, 2));
        assert_eq!(
            (o.sqlite.readers, o.sqlite.max_batch, o.sqlite.max_scan),
            (9, 11, 12)
        );
        assert_eq!(o.sqlite.query_budget, Duration::from_millis(10));
        assert_eq!(o.sqlite_max_indexed_values, 14);
        assert_eq!(ServeOptions::new().sqlite_max_indexed_values, 100);
        assert_eq!(o.sqlite.max_wal_frames, 15);
        assert!(!o.sqlite_time_ordered_ids);
        assert!(ServeOptions::new().sqlite_time_ordered_ids);
        let c = o.sqlite_read_cache;
        assert_eq!((c.entries, c.bytes), (16, 17));
        assert_eq!(
            (c.ttl, c.poll),
            (Duration::from_millis(18), Duration::from_millis(19))
        );
        assert_eq!(ServeOptions::new().sqlite_read_cache.entries, 10_000);
        let scopes = |t: &str| o.tokens.authorize(Some(t)).map(|g| g.scopes.clone());
        assert_eq!(
            scopes("Bearer t1"),
            Some(Scopes::of(["https://gluu.org/scim/users.read"]))
        );
        assert_eq!(scopes("Bearer t2"), Some(Scopes::All));
        assert_eq!(scopes("Bearer t3"), Some(Scopes::All));
        assert_eq!(
            (o.tls_cert.as_deref(), o.tls_key.as_deref()),
            (
                Some(std::path::Path::new("c.pem")),
                Some(std::path::Path::new("k.pem"))
            )
        );
        assert_eq!(o.metrics_token, Some(MetricsToken::new("m")));
        assert!(o.log_json);
        assert!(load(r#"{"metrics_token": ""}"#).is_err());
    }

    #[test]
    fn the_postgres_keys_are_read_and_checked() {
        let o = load(
            r#"{"db": "postgres://scim@db/directory", "postgres": {"schema": "tenant_a",
                "pool_size": 3, "statement_timeout_ms": 250, "connect_timeout_ms": 900,
                "tls": "verify-full", "serialization_retries": 9, "read_cache": 0,
                "read_cache_bytes": 4096, "read_cache_ttl_ms": 1500,
                "time_ordered_ids": false, "analyze_after_writes": 7}}"#,
        )
        .unwrap();
        assert_eq!(
            o.db.as_deref(),
            Some(std::path::Path::new("postgres://scim@db/directory"))
        );
        let p = &o.postgres;
        assert_eq!((p.schema.as_str(), p.pool_size), ("tenant_a", 3));
        assert_eq!(
            (p.statement_timeout, p.connect_timeout),
            (Duration::from_millis(250), Duration::from_millis(900))
        );
        assert_eq!(p.tls, scim_store_postgres::TlsMode::VerifyFull);
        assert_eq!(p.serialization_retries, 9);
        assert_eq!(
            (p.read_cache, p.read_cache_bytes, p.read_cache_ttl),
            (0, 4096, Duration::from_millis(1500))
        );
        assert!(!p.time_ordered_ids);
        assert_eq!(p.analyze_after_writes, 7);
        assert!(ServeOptions::new().postgres.time_ordered_ids);
        let e = load(r#"{"postgres": {"tls": "maybe"}}"#).unwrap_err();
        assert!(e.contains("postgres.tls") && e.contains("maybe"), "{e}");
        let e = load(r#"{"postgres": {"pool_size": 0}}"#).unwrap_err();
        assert!(e.contains("postgres.pool_size"), "{e}");
        let e = load(r#"{"postgres": {"poolsize": 2}}"#).unwrap_err();
        assert!(e.contains("postgres") && e.contains("`poolsize`"), "{e}");
    }

    #[test]
    fn a_mistyped_key_is_refused_by_name() {
        let e = load(r#"{"max_conections": 7}"#).unwrap_err();
        assert!(e.contains("unknown field `max_conections`"), "{e}");
        let e = load(r#"{"argon2": {"lane": 1}}"#).unwrap_err();
        assert!(e.contains("argon2") && e.contains("`lane`"), "{e}");
        let e = load(r#"{"tokens": [{"token": "t", "scope": "all"}]}"#).unwrap_err();
        assert!(e.contains("tokens[0]") && e.contains("`scope`"), "{e}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        let e = load(r#"{"max_discard": "lots"}"#).unwrap_err();
        assert!(e.starts_with("max_discard: "), "{e}");
        let e = load(r#"{"tokens": [{"token": "t", "scopes": 5}]}"#).unwrap_err();
        assert!(
            e.contains("tokens[0].scopes") && e.contains("\"all\" or a list of scopes"),
            "{e}"
        );
        let e = load(r#"{"tokens": [{"scopes": "all"}]}"#).unwrap_err();
        assert!(e.contains("missing field `token`"), "{e}");
        assert!(load(r#"{"primary_rule": "gluu"}"#).is_err());
        assert!(load(r#"{"addr": "localhost"}"#)
            .unwrap_err()
            .starts_with("addr: "));
        assert!(load(r#"{"max_payload": 1} 2"#).is_err());
    }

    #[test]
    fn zero_limits_are_refused() {
        for key in [
            "max_connections",
            "max_write_batch",
            "max_wal_frames",
            "header_timeout_ms",
            "idle_timeout_ms",
            "body_timeout_ms",
            "query_budget_ms",
            "read_cache_ttl_ms",
            "read_cache_poll_ms",
        ] {
            let e = load(&format!(r#"{{"{key}": 0}}"#)).unwrap_err();
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn debug_never_shows_a_token() {
        let text = r#"{"tokens": [{"token": "very-secret-token", "scopes": "all"}],
                       "metrics_token": "very-secret-token"}"#;
        let file = ConfigFile::parse(text).unwrap();
        let shown = format!("{file:?}");
        assert!(!shown.contains("very-secret-token"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        let options = load(text).unwrap();
        let shown = format!("{options:?}");
        assert!(!shown.contains("very-secret-token"), "{shown}");
    }

    #[test]
    fn tokens_name_tenants_and_jwt_is_read() {
        let o = load(
            r#"{"tokens": [{"token": "t1", "tenant": "acme"}, {"token": "t2"}],
                "jwt": {"issuer": "https://idp", "audience": "scim", "jwks_file": "keys.json",
                        "algorithms": ["ES256", "EdDSA"], "leeway_secs": 5,
                        "hmac_secret": "shh-do-not-print", "tenant_claim": "tid",
                        "scope_map": {"scim.admin": ["all"]}, "jwks_refresh_secs": 60}}"#,
        )
        .unwrap();
        let tenant = |t: &str| o.tokens.authorize(Some(t)).map(|g| g.tenant.clone());
        assert_eq!(tenant("Bearer t1").as_deref(), Some("acme"));
        assert_eq!(tenant("Bearer t2").as_deref(), Some("default"));
        let jwt = o.jwt.as_ref().unwrap();
        assert_eq!(jwt.source, super::JwksSource::File("keys.json".into()));
        assert_eq!(
            jwt.config.algorithms,
            [scim_tower::Algorithm::ES256, scim_tower::Algorithm::EdDSA]
        );
        assert_eq!(jwt.config.leeway, Duration::from_secs(5));
        assert_eq!(jwt.config.tenant_claim.as_deref(), Some("tid"));
        assert_eq!(jwt.config.refresh_every, Duration::from_secs(60));
        assert!(!format!("{o:?}").contains("shh-do-not-print"));

        let both =
            r#"{"jwt": {"issuer": "i", "audience": "a", "jwks_file": "f", "jwks_url": "u"}}"#;
        assert!(load(both).unwrap_err().contains("exactly one"));
        let bad_alg = r#"{"jwt": {"issuer": "i", "audience": "a", "jwks_file": "f", "algorithms": ["none"]}}"#;
        assert!(load(bad_alg).unwrap_err().contains("unknown algorithm"));
    }

    /// The names of the fields a derived `Deserialize` struct reads, as serde hands them to
    /// `deserialize_struct`.
    fn fields_of<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
        use serde::de::{self, Visitor};
        struct Capture(std::rc::Rc<std::cell::RefCell<Vec<&'static str>>>);
        impl<'de> de::Deserializer<'de> for Capture {
            type Error = de::value::Error;
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _name: &'static str,
                fields: &'static [&'static str],
                _visitor: V,
            ) -> Result<V::Value, Self::Error> {
                self.0.borrow_mut().extend(fields);
                Err(de::Error::custom("fields captured"))
            }
            fn deserialize_any<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Self::Error> {
                Err(de::Error::custom("not a struct"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
                enum identifier ignored_any
            }
        }
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let _ = T::deserialize(Capture(std::rc::Rc::clone(&seen)));
        let fields = seen.borrow().clone();
        assert!(!fields.is_empty());
        fields
    }

    /// The example file loads, and it and the reference page name every key the format
    /// has, nested ones included (the example has one of `jwks_url`/`jwks_file`, which
    /// exclude each other).
    #[test]
    fn the_documented_example_sets_every_key() {
        let example = include_str!("../../../docs/scim-serve.example.json");
        let page = include_str!("../../../docs/config.md");
        let o = load(example).unwrap();
        assert_eq!(
            o.tokens
                .authorize(Some("Bearer change-me-admin-token"))
                .map(|g| g.tenant.as_str()),
            Some("acme")
        );
        assert!(o.jwt.is_some() && o.tls_cert.is_some() && o.metrics_token.is_some());
        let json: serde_json::Value = serde_json::from_str(example).unwrap();
        let sections: [(&str, Vec<&str>, &serde_json::Value); 5] = [
            ("", fields_of::<ConfigFile>(), &json),
            ("argon2.", fields_of::<Argon2Keys>(), &json["argon2"]),
            ("postgres.", fields_of::<PostgresKeys>(), &json["postgres"]),
            ("jwt.", fields_of::<JwtKeys>(), &json["jwt"]),
            ("tokens[].", fields_of::<TokenEntry>(), &json["tokens"][0]),
        ];
        for (prefix, fields, value) in sections {
            for field in fields {
                let documented = page.contains(&format!("`{prefix}{field}`"))
                    || (prefix == "argon2." || prefix == "tokens[].")
                        && page.contains(&format!("\"{field}\""));
                assert!(
                    documented,
                    "docs/config.md does not document `{prefix}{field}`"
                );
                if field != "jwks_file" {
                    assert!(
                        value.get(field).is_some(),
                        "the example lacks `{prefix}{field}`"
                    );
                }
            }
        }
    }
}
