//! The tables: in the configured schema only, their layout version recorded, connecting
//! again changing nothing; two schemas in one database are two stores.

use scim_core::{block_on, Store};
use scim_store_postgres::LAYOUT_VERSION;
use scim_test_support::postgres::TestSchema;
use serde_json::json;

use super::store_in;

#[test]
fn the_layout_version_is_recorded_and_connecting_again_changes_nothing() {
    let Some(schema) = TestSchema::new("layout_version") else {
        return;
    };
    let first = store_in(&schema);
    let id = block_on(first.create("t", "User", json!({"userName": "kept"}), vec![]))
        .unwrap()
        .id;
    let layout =
        || schema.scalar("SELECT string_agg(version::text, ',' ORDER BY version) FROM layout");
    // Every version applied, one after the other.
    let all: Vec<String> = (1..=LAYOUT_VERSION).map(|v| v.to_string()).collect();
    let all = Some(all.join(","));
    assert_eq!(layout(), all);
    let tables = format!(
        "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables \
         WHERE table_schema = '{}'",
        schema.name()
    );
    assert_eq!(
        schema.scalar(&tables).as_deref(),
        Some("attr_index,layout,members,resources,unique_keys")
    );
    let second = store_in(&schema);
    assert_eq!(layout(), all, "migrated once");
    let got = block_on(second.get("t", "User", &id)).unwrap().unwrap();
    assert_eq!(got.resource["userName"], "kept");
    drop((first, second));
    let third = store_in(&schema);
    assert!(block_on(third.get("t", "User", &id)).unwrap().is_some());

    // The trigram index, where the server has pg_trgm.
    if schema
        .scalar("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        .is_some()
    {
        // Layout 3: one per indexed attribute, none keeping a pending list.
        let indexes = format!(
            "SELECT string_agg(c.relname || ' ' || array_to_string(c.reloptions, ','), ';' \
             ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = '{}' AND c.relname LIKE 'attr\\_index\\_trgm%'",
            schema.name()
        );
        assert_eq!(
            schema.scalar(&indexes).as_deref(),
            Some(
                "attr_index_trgm_displayname fastupdate=off;\
                 attr_index_trgm_emails_value fastupdate=off;\
                 attr_index_trgm_externalid fastupdate=off;\
                 attr_index_trgm_username fastupdate=off"
            )
        );
        // Never in the store's own schema: dropping it would drop every schema's index.
        let home = schema.scalar(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'",
        );
        assert_ne!(home.as_deref(), Some(schema.name()));
    }
}

#[test]
fn two_schemas_in_one_database_are_two_stores() {
    let Some(one) = TestSchema::new("layout_one") else {
        return;
    };
    let two = TestSchema::new("layout_two").expect("the server answered a moment ago");
    let (a, b) = (store_in(&one), store_in(&two));
    let id = block_on(a.create("t", "User", json!({"userName": "only-in-one"}), vec![]))
        .unwrap()
        .id;
    assert!(block_on(b.get("t", "User", &id)).unwrap().is_none());
    assert_eq!(
        one.scalar("SELECT count(*) FROM resources").as_deref(),
        Some("1")
    );
    assert_eq!(
        two.scalar("SELECT count(*) FROM resources").as_deref(),
        Some("0")
    );
}

/// What the engine never sees in clear stays out of the searchable column and the index
/// tables, and a `\u0000` (which `jsonb` cannot hold) is stored exactly in the document.
#[test]
fn documents_are_kept_exactly_and_search_forms_leave_secrets_out() {
    let Some(schema) = TestSchema::new("layout_exact") else {
        return;
    };
    let store = store_in(&schema);
    let doc = json!({"userName": "nul", "displayName": "a\u{0}b", "password": "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA",
        "zeta": 1, "Alpha": 2});
    let created = block_on(store.create("t", "User", doc, vec![])).unwrap();
    let got = block_on(store.get("t", "User", &created.id))
        .unwrap()
        .unwrap();
    assert_eq!(got.resource, created.resource);
    assert_eq!(got.resource["displayName"], "a\u{0}b");
    let keys: Vec<&String> = got.resource.as_object().unwrap().keys().collect();
    assert!(
        keys.contains(&&"Alpha".to_owned()),
        "keys keep their spelling"
    );
    assert_eq!(
        schema
            .scalar("SELECT ambiguous::text FROM resources")
            .as_deref(),
        Some("true"),
        "the engine filters a document search cannot hold exactly"
    );
    assert_eq!(
        schema
            .scalar("SELECT (search ? 'password')::text FROM resources")
            .as_deref(),
        Some("false")
    );
}

/// A database of the test's own (the trigram extension is database-wide, so moving it
/// around in the shared one would disturb other tests), dropped with its connections.
struct OwnDatabase {
    admin: TestSchema,
    name: String,
    url: String,
}

impl OwnDatabase {
    fn new(admin: TestSchema, label: &str) -> OwnDatabase {
        let name = format!("{}_{label}", admin.name());
        admin.execute(&format!("CREATE DATABASE {name}"));
        let base = admin.url();
        let (head, tail) = base.rsplit_once('/').expect("a database in the URL");
        let query = tail.find('?').map_or("", |q| &tail[q..]);
        let url = format!("{head}/{name}{query}");
        OwnDatabase { admin, name, url }
    }

    /// Runs `sql` on the database.
    fn execute(&self, sql: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let driver = tokio::spawn(connection);
            client.batch_execute(sql).await.unwrap();
            drop(client);
            let _ = driver.await;
        });
    }

    fn store(&self, schema: &str) -> scim_store_postgres::PostgresStore {
        scim_store_postgres::PostgresStore::connect(
            scim_store_postgres::PostgresOptions::new(&self.url)
                .schema(schema)
                .pool_size(1),
            scim_core::StoreSchema::of(&scim_schema::Registry::standard()),
        )
        .expect("connect")
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        self.admin.execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// `pg_trgm` installed in a schema that is not on the store's `search_path` (an
/// `extensions` schema, as some hosted PostgreSQL services do): the store still starts and
/// builds its trigram index. Where the store installs the extension itself, it goes to
/// `public`, not into the deployment's schema, so dropping one deployment's schema does
/// not take the extension (and every other deployment's index) with it.
#[test]
fn the_trigram_index_is_built_wherever_pg_trgm_lives() {
    let Some(admin) = TestSchema::new("layout_trgm") else {
        return;
    };
    if admin
        .scalar("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        .is_none()
    {
        eprintln!("skipping: this server has no pg_trgm");
        return;
    }
    let db = OwnDatabase::new(admin, "elsewhere");
    db.execute("CREATE SCHEMA extensions; CREATE EXTENSION pg_trgm SCHEMA extensions");
    let store = db.store("deployment");
    assert!(block_on(store.get("t", "User", "none")).unwrap().is_none());
    drop(store);
    // A second deployment, a fresh database where the store installs pg_trgm itself.
    let admin = TestSchema::new("layout_trgm_own").expect("the server answered a moment ago");
    let fresh = OwnDatabase::new(admin, "fresh");
    drop(fresh.store("first"));
    drop(fresh.store("second"));
    fresh.execute(
        "DO $$ BEGIN \
           IF (SELECT extnamespace::regnamespace::text FROM pg_extension \
               WHERE extname = 'pg_trgm') IS DISTINCT FROM 'public' THEN \
             RAISE EXCEPTION 'pg_trgm is not in public'; END IF; \
           IF (SELECT count(*) FROM pg_indexes WHERE indexname = 'attr_index_trgm_username') <> 2 THEN \
             RAISE EXCEPTION 'a trigram index is missing'; END IF; \
         END $$; \
         DROP SCHEMA first CASCADE; \
         DO $$ BEGIN \
           IF (SELECT count(*) FROM pg_indexes WHERE indexname = 'attr_index_trgm_username' \
               AND schemaname = 'second') <> 1 THEN \
             RAISE EXCEPTION 'dropping one deployment took the other index'; END IF; \
         END $$;",
    );
    drop(db);
}
