//! Connecting: an unreachable database is one clear line (and no password), TLS modes,
//! the statement timeout.

use std::time::Duration;

use scim_core::{block_on, Store, StoreError};
use scim_schema::Registry;
use scim_store_postgres::{PostgresOptions, PostgresStore, TlsMode};
use scim_test_support::postgres::TestSchema;
use serde_json::json;

use super::options;

fn refused(options: PostgresOptions) -> String {
    match PostgresStore::connect(options, scim_core::StoreSchema::of(&Registry::standard())) {
        Err(StoreError::Unavailable(why)) => why,
        Err(other) => panic!("not unavailable: {other:?}"),
        Ok(_) => panic!("connected"),
    }
}

/// Needs no server: nothing listens on port 1.
#[test]
fn an_unreachable_database_is_one_clear_line_without_the_password() {
    let why = refused(
        PostgresOptions::new("postgres://scim:hunter2@127.0.0.1:1/test")
            .connect_timeout(Duration::from_secs(2)),
    );
    assert!(
        why.contains("postgres://scim:***@127.0.0.1:1/test"),
        "{why}"
    );
    assert!(why.to_lowercase().contains("refused"), "{why}");
    assert!(!why.contains("hunter2"), "{why}");
    assert!(!why.contains('\n'), "{why}");
}

#[test]
fn bad_urls_and_schema_names_are_refused_before_connecting() {
    let why = refused(PostgresOptions::new("postgres://h/db").schema("Robert'); DROP"));
    assert!(why.contains("invalid schema name"), "{why}");
    let why = refused(PostgresOptions::new("postgres://h:notaport/db"));
    assert!(why.contains("invalid PostgreSQL URL"), "{why}");
}

/// `require` encrypts (the server's own view of the connection says so); `verify-full`
/// refuses a certificate no trusted root signed; `disable` does not encrypt. Checked only
/// where the server has TLS on.
#[test]
fn tls_modes_do_what_libpq_names_promise() {
    let Some(schema) = TestSchema::new("connect_tls") else {
        return;
    };
    if schema.scalar("SHOW ssl").as_deref() != Some("on") {
        eprintln!("skipping the TLS checks: the server has ssl off");
        return;
    }
    let encrypted = |app: &str| {
        schema.scalar(&format!(
            "SELECT string_agg(DISTINCT s.ssl::text, ',') FROM pg_stat_ssl AS s \
             JOIN pg_stat_activity AS a USING (pid) WHERE a.application_name = '{app}'"
        ))
    };
    let with_app = |app: &str, tls: TlsMode| {
        let mut o = options(&schema).tls(tls);
        o.url = format!("{}?application_name={app}", schema.url());
        o
    };
    let required = PostgresStore::connect(
        with_app("scim_tls_require", TlsMode::Require),
        scim_core::StoreSchema::of(&Registry::standard()),
    )
    .expect("require");
    assert_eq!(encrypted("scim_tls_require").as_deref(), Some("true"));
    let plain = PostgresStore::connect(
        with_app("scim_tls_disable", TlsMode::Disable),
        scim_core::StoreSchema::of(&Registry::standard()),
    )
    .expect("disable");
    assert_eq!(encrypted("scim_tls_disable").as_deref(), Some("false"));
    drop((required, plain));
    let verified = PostgresStore::connect(
        with_app("scim_tls_verify", TlsMode::VerifyFull),
        scim_core::StoreSchema::of(&Registry::standard()),
    );
    // The test server's certificate is self-signed (Debian's snakeoil) or has no trusted
    // root here: refused; a server with a certificate this system trusts is let in.
    if let Err(e) = verified {
        let text = e.to_string();
        assert!(
            text.contains("certificate") || text.contains("TLS"),
            "{text}"
        );
    }
}

/// A statement kept waiting past the timeout (here for a row lock another connection
/// holds) is cancelled and reported as too expensive; the connection serves the next call.
#[test]
fn the_statement_timeout_is_too_expensive_and_the_store_goes_on() {
    let Some(schema) = TestSchema::new("connect_timeout") else {
        return;
    };
    let store = PostgresStore::connect(
        options(&schema)
            .statement_timeout(Duration::from_millis(300))
            .pool_size(1),
        scim_core::StoreSchema::of(&Registry::standard()),
    )
    .unwrap();
    let id = block_on(store.create("t", "User", json!({"userName": "locked"}), vec![]))
        .unwrap()
        .id;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (client, connection) = runtime
        .block_on(tokio_postgres::connect(schema.url(), tokio_postgres::NoTls))
        .unwrap();
    runtime.spawn(connection);
    runtime
        .block_on(client.batch_execute(&format!(
            "BEGIN; SELECT 1 FROM {}.resources WHERE id = '{id}' FOR UPDATE",
            schema.name()
        )))
        .unwrap();
    let outcome = block_on(store.replace("t", "User", &id, 1, json!({"userName": "x"}), vec![]));
    assert!(
        matches!(outcome, Err(StoreError::TooExpensive(_))),
        "{outcome:?}"
    );
    runtime.block_on(client.batch_execute("ROLLBACK")).unwrap();
    let again = block_on(store.replace("t", "User", &id, 1, json!({"userName": "y"}), vec![]));
    assert_eq!(again.unwrap().version, 2);
}
