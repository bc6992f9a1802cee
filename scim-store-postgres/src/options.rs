//! [`PostgresOptions`]: where the database is and how the store uses it; [`TlsMode`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How the store encrypts its connections, named after libpq's `sslmode`.
///
/// ```
/// use scim_store_postgres::TlsMode;
/// assert_eq!("verify-full".parse::<TlsMode>(), Ok(TlsMode::VerifyFull));
/// assert_eq!(TlsMode::default(), TlsMode::Prefer);
/// assert_eq!(TlsMode::Require.as_str(), "require");
/// assert!("allow".parse::<TlsMode>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain TCP when it does not; the certificate is not
    /// checked (libpq's default, as `require`).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not checked (it protects against
    /// eavesdroppers, not against a server impersonated on the path — libpq's `require`).
    Require,
    /// TLS with the server's certificate checked against the system's trust roots and its
    /// name against the host connected to (libpq's `verify-full`).
    VerifyFull,
}

impl TlsMode {
    /// The name, as [`FromStr`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TlsMode {
    type Err = String;

    /// `disable`, `prefer`, `require` or `verify-full` (also `verify_full`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(TlsMode::Disable),
            "prefer" => Ok(TlsMode::Prefer),
            "require" => Ok(TlsMode::Require),
            "verify-full" | "verify_full" => Ok(TlsMode::VerifyFull),
            other => Err(format!(
                "unknown TLS mode `{other}` (disable, prefer, require or verify-full)"
            )),
        }
    }
}

/// How [`PostgresStore::connect`](crate::PostgresStore::connect) reaches the database and
/// what each connection runs with. `Debug` never shows the URL's password.
///
/// ```
/// use std::time::Duration;
/// use scim_store_postgres::{PostgresOptions, TlsMode};
/// let o = PostgresOptions::new("postgres://scim:s3cret@db.internal/directory")
///     .schema("tenant_a")
///     .pool_size(16)
///     .statement_timeout(Duration::from_millis(500))
///     .tls(TlsMode::VerifyFull);
/// assert_eq!(o.pool_size, 16);
/// assert!(!format!("{o:?}").contains("s3cret"));
/// let d = PostgresOptions::new("postgres://localhost/scim");
/// assert_eq!((d.schema.as_str(), d.pool_size, d.tls), ("scim", 8, TlsMode::Prefer));
/// assert_eq!(d.statement_timeout, Duration::from_secs(2));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// `postgres://user[:password]@host[:port]/database[?…]` (or `postgresql://…`, or
    /// libpq's `key=value` form). Its `sslmode` is overridden by [`PostgresOptions::tls`].
    pub url: String,
    /// The PostgreSQL schema holding the store's tables (created on connect): one database
    /// can hold several deployments, each in a schema of its own. Lower-case ASCII letters,
    /// digits and `_`, not starting with a digit, at most 63 bytes. Default `scim`.
    pub schema: String,
    /// Most connections open at once (default 8). Each call holds one for its duration.
    pub pool_size: usize,
    /// The longest one statement may run (PostgreSQL's `statement_timeout`, set for every
    /// connection; default 2 s, as the SQLite store's query budget). Over it the statement
    /// is cancelled and the engine answers 400 `tooMany`.
    pub statement_timeout: Duration,
    /// How long connecting (and waiting for a free connection) may take (default 5 s).
    pub connect_timeout: Duration,
    /// TLS (default [`TlsMode::Prefer`]).
    pub tls: TlsMode,
    /// How many times a write is tried again after PostgreSQL aborted it for a deadlock or
    /// a serialization failure (SQLSTATE 40P01, 40001; default 5). Past it the write fails
    /// as unavailable.
    pub serialization_retries: u32,
    /// Threads of the store's own runtime, which drives the connections (default 2).
    pub worker_threads: usize,
    /// Most answers of `GET /Users/{id}` ([`Store::get_with_references`]) kept in memory
    /// (default 10,000; 0 turns the cache off). Each is invalidated when the resource, or
    /// a group it is in, is written — by this store before the write returns, and by any
    /// other process through a notification the database sends at commit (triggers the
    /// store installs on its tables; `LISTEN` on one extra connection). While that
    /// connection is down nothing is cached. So one replica always reads its own writes;
    /// another replica may answer the previous version until the notification arrives
    /// (typically well under a millisecond), and a write with that version's ETag then
    /// gets 412. With 0, every read goes to the database.
    ///
    /// [`Store::get_with_references`]: scim_core::Store::get_with_references
    pub read_cache: usize,
    /// About how many bytes of memory the read cache may take in all (default 64 MiB);
    /// an answer over a sixteenth of it (a user with thousands of emails) is never kept.
    pub read_cache_bytes: usize,
    /// The longest an answer stays in the read cache, however quiet its resource (default
    /// 5 minutes): a bound on anything missed.
    pub read_cache_ttl: Duration,
    /// Whether new ids are version-7 UUIDs (the creation time, then 74 random bits; see
    /// [`scim_core::secret::time_ordered_uuid`]) rather than version-4 (all random).
    /// Default `true`: ids made in a row land at the end of every B-tree keyed by id
    /// instead of on a random page each. Either kind is unguessable; a version-7 id also
    /// tells the millisecond of its creation, as `meta.created` does.
    pub time_ordered_ids: bool,
    /// After how many resources written (by this store, since its last) it runs `ANALYZE`
    /// on its tables, in the background (default 1,000; or a tenth of the resources, if
    /// that is more; 0 leaves it to autovacuum). A schema filled in one go otherwise has
    /// no statistics until autovacuum's next round, up to a minute, and its lookups are
    /// planned as if each table held one row (see `statistics.rs`).
    pub analyze_after_writes: u64,
}

impl PostgresOptions {
    /// The defaults, for the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresOptions {
            url: url.into(),
            schema: "scim".to_owned(),
            pool_size: 8,
            statement_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            tls: TlsMode::default(),
            serialization_retries: 5,
            worker_threads: 2,
            read_cache: 10_000,
            read_cache_bytes: 64 << 20,
            read_cache_ttl: Duration::from_secs(300),
            time_ordered_ids: true,
            analyze_after_writes: 1_000,
        }
    }

    /// Sets [`PostgresOptions::schema`].
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Sets [`PostgresOptions::pool_size`] (at least 1).
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// Sets [`PostgresOptions::statement_timeout`].
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Sets [`PostgresOptions::connect_timeout`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`PostgresOptions::tls`].
    pub fn tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }

    /// Sets [`PostgresOptions::serialization_retries`].
    pub fn serialization_retries(mut self, n: u32) -> Self {
        self.serialization_retries = n;
        self
    }

    /// Sets [`PostgresOptions::worker_threads`] (at least 1).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n.max(1);
        self
    }

    /// Sets [`PostgresOptions::read_cache`] (0: off).
    ///
    /// ```
    /// let o = scim_store_postgres::PostgresOptions::new("postgres://localhost/scim");
    /// assert_eq!(o.read_cache, 10_000);
    /// assert_eq!(o.read_cache(0).read_cache, 0);
    /// ```
    pub fn read_cache(mut self, entries: usize) -> Self {
        self.read_cache = entries;
        self
    }

    /// Sets [`PostgresOptions::analyze_after_writes`].
    ///
    /// ```
    /// let o = scim_store_postgres::PostgresOptions::new("postgres://localhost/scim");
    /// assert_eq!(o.analyze_after_writes, 1_000);
    /// assert_eq!(o.analyze_after_writes(0).analyze_after_writes, 0);
    /// ```
    pub fn analyze_after_writes(mut self, rows: u64) -> Self {
        self.analyze_after_writes = rows;
        self
    }

    /// Sets [`PostgresOptions::time_ordered_ids`].
    ///
    /// ```
    /// let o = scim_store_postgres::PostgresOptions::new("postgres://localhost/scim");
    /// assert!(o.time_ordered_ids);
    /// assert!(!o.time_ordered_ids(false).time_ordered_ids);
    /// ```
    pub fn time_ordered_ids(mut self, on: bool) -> Self {
        self.time_ordered_ids = on;
        self
    }

    /// Sets [`PostgresOptions::read_cache_bytes`].
    ///
    /// ```
    /// let o = scim_store_postgres::PostgresOptions::new("postgres://localhost/scim");
    /// assert_eq!(o.read_cache_bytes, 64 << 20);
    /// assert_eq!(o.read_cache_bytes(1 << 20).read_cache_bytes, 1 << 20);
    /// ```
    pub fn read_cache_bytes(mut self, bytes: usize) -> Self {
        self.read_cache_bytes = bytes;
        self
    }

    /// Sets [`PostgresOptions::read_cache_ttl`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = scim_store_postgres::PostgresOptions::new("postgres://localhost/scim")
    ///     .read_cache_ttl(Duration::from_secs(30));
    /// assert_eq!(o.read_cache_ttl, Duration::from_secs(30));
    /// ```
    pub fn read_cache_ttl(mut self, ttl: Duration) -> Self {
        self.read_cache_ttl = ttl;
        self
    }
}

impl fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &redacted_url(&self.url))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("tls", &self.tls)
            .field("serialization_retries", &self.serialization_retries)
            .field("worker_threads", &self.worker_threads)
            .field("read_cache", &self.read_cache)
            .field("read_cache_bytes", &self.read_cache_bytes)
            .field("read_cache_ttl", &self.read_cache_ttl)
            .field("time_ordered_ids", &self.time_ordered_ids)
            .field("analyze_after_writes", &self.analyze_after_writes)
            .finish()
    }
}

/// Whether `db` names a PostgreSQL database (`postgres://…` or `postgresql://…`) rather
/// than a file.
///
/// ```
/// assert!(scim_store_postgres::is_postgres_url("postgresql://db/scim"));
/// assert!(!scim_store_postgres::is_postgres_url("scim.db"));
/// ```
pub fn is_postgres_url(db: &str) -> bool {
    let lower = db.get(..13).unwrap_or(db).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` without its password (for logs and error messages): the password between `:` and
/// `@` of a URL's user part, or a `password=` of the `key=value` form, becomes `***`.
///
/// ```
/// use scim_store_postgres::redacted_url;
/// assert_eq!(redacted_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
/// assert_eq!(redacted_url("postgres://u@h/db?password=pw"), "postgres://u@h/db?password=***");
/// assert_eq!(redacted_url("host=h password=pw user=u"), "host=h password=*** user=u");
/// ```
pub fn redacted_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let at = rest + at;
            if let Some(colon) = out[rest..at].find(':') {
                out.replace_range(rest + colon + 1..at, "***");
            }
        }
    }
    // `password=` as a query parameter or a key of the key=value form.
    let mut from = 0;
    while let Some(i) = out[from..].find("password=") {
        let start = from + i + "password=".len();
        let boundary = start == "password=".len()
            || out[..start - "password=".len()].ends_with(['?', '&', ' ']);
        let end = out[start..]
            .find(['&', ' '])
            .map_or(out.len(), |e| start + e);
        if boundary {
            out.replace_range(start..end, "***");
            from = start + 3;
        } else {
            from = end;
        }
    }
    out
}

/// Checks [`PostgresOptions::schema`]: a name that needs no quoting in SQL.
pub(crate) fn check_schema(schema: &str) -> Result<(), String> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(format!(
            "invalid schema name `{schema}`: lower-case ASCII letters, digits and `_`, not \
             starting with a digit or `pg_`, at most 63 bytes"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_need_no_quoting() {
        assert!(check_schema("scim").is_ok());
        assert!(check_schema("_t1").is_ok());
        for bad in ["", "1a", "Scim", "a-b", "a\"b", "pg_x", &"a".repeat(64)] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redaction_keeps_the_rest() {
        assert_eq!(redacted_url("postgres://u@h:5/db"), "postgres://u@h:5/db");
        assert_eq!(
            redacted_url("postgresql://u:p%40ss@h/db?sslmode=require"),
            "postgresql://u:***@h/db?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgres://h/db?xpassword=a"),
            "postgres://h/db?xpassword=a"
        );
    }

    #[test]
    fn postgres_urls_are_recognised() {
        assert!(is_postgres_url("POSTGRES://h/db"));
        assert!(!is_postgres_url(":memory:"));
        assert!(!is_postgres_url("postgres.db"));
    }
}
