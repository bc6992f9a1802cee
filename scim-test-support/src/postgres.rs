//! A PostgreSQL schema of a test's own (feature `postgres`): created empty, dropped when the
//! [`TestSchema`] is dropped (also when the test panics).
//!
//! The server is `SCIM_TEST_POSTGRES_URL` (default [`DEFAULT_URL`]). Where none answers, a
//! test prints one line saying so and skips — unless `SCIM_REQUIRE_POSTGRES=1` (as `.ci/run`
//! sets), which turns the skip into a failure, so CI never passes without these tests.
//!
//! ```no_run
//! let Some(schema) = scim_test_support::postgres::TestSchema::new("demo") else {
//!     return; // no PostgreSQL here: skipped
//! };
//! assert!(schema.name().starts_with("t_demo_"));
//! assert_eq!(schema.scalar("SELECT 1 + 1").as_deref(), Some("2"));
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The server tests use when `SCIM_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `SCIM_TEST_POSTGRES_URL`, or [`DEFAULT_URL`].
pub fn url() -> String {
    std::env::var("SCIM_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Whether `SCIM_REQUIRE_POSTGRES=1`: a missing server fails the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("SCIM_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A schema named after the test, the process and a counter, dropped (`CASCADE`) on drop.
#[derive(Debug)]
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// A new empty schema for the test `test` on the server at [`url`]; `None` after one line
    /// on stderr when no server answers (a panic instead when [`required`]).
    pub fn new(test: &str) -> Option<TestSchema> {
        let url = url();
        let label: String = test
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(32)
            .collect();
        let name = format!(
            "t_{label}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let schema = TestSchema { url, name };
        match schema.try_execute(&format!("CREATE SCHEMA {}", schema.name)) {
            Ok(()) => Some(schema),
            Err(e) if required() => {
                // Nothing to drop.
                std::mem::forget(schema);
                #[allow(clippy::panic)]
                {
                    panic!(
                        "SCIM_REQUIRE_POSTGRES=1 but no PostgreSQL at {}: {e}",
                        url_of_env()
                    );
                }
            }
            Err(e) => {
                eprintln!(
                    "skipping: no PostgreSQL at {} ({e}; set SCIM_TEST_POSTGRES_URL)",
                    url_of_env()
                );
                std::mem::forget(schema);
                None
            }
        }
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `sql` (one or more statements) on a connection of its own.
    ///
    /// # Panics
    /// When the statement fails.
    pub fn execute(&self, sql: &str) {
        if let Err(e) = self.try_execute(sql) {
            #[allow(clippy::panic)]
            {
                panic!("{sql}: {e}");
            }
        }
    }

    /// The first column of the first row `sql` returns, as text (`None` for no row or
    /// NULL), on a connection of its own with the schema first on its `search_path`.
    ///
    /// # Panics
    /// When the statement fails.
    pub fn scalar(&self, sql: &str) -> Option<String> {
        let with_path = format!("SET search_path = {}, public; {sql}", self.name);
        match self.run(&with_path) {
            Ok(rows) => rows.into_iter().find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_owned)),
                _ => None,
            })?,
            #[allow(clippy::panic)]
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    fn try_execute(&self, sql: &str) -> Result<(), String> {
        self.run(sql).map(|_| ())
    }

    fn run(&self, sql: &str) -> Result<Vec<tokio_postgres::SimpleQueryMessage>, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let mut config: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|e: tokio_postgres::Error| e.to_string())?;
        config.connect_timeout(Duration::from_secs(3));
        runtime.block_on(async {
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| error_text(&e))?;
            let driver = tokio::spawn(connection);
            let result = client.simple_query(sql).await.map_err(|e| error_text(&e));
            drop(client);
            let _ = driver.await;
            result
        })
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let _ = self.try_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// The URL for messages (tests use no passwords, but the variable might hold one).
fn url_of_env() -> String {
    let u = url();
    match (u.find("://"), u.rfind('@')) {
        (Some(s), Some(at)) if u[s + 3..at].contains(':') => {
            let colon = s + 3 + u[s + 3..at].find(':').unwrap_or(0);
            format!("{}:***{}", &u[..colon], &u[at..])
        }
        _ => u,
    }
}

fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut text = e.to_string();
            if let Some(s) = std::error::Error::source(e) {
                text = format!("{text}: {s}");
            }
            text
        }
    }
}
