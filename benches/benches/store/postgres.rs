//! `store-postgres/<n>/*`: the PostgreSQL store beside the SQLite rows of `store/<n>/*`, on the
//! same generated users and the same sizes (`SCIM_STORE_BENCH_SIZES`), with the same filters;
//! then `store-postgres/100000-member-group/add-one-member`.
//!
//! The server is `SCIM_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`,
//! as the tests use); where none answers, one line says so and these benches are skipped.
//! Each data set lives in a schema of its own (`scim_bench_users_<n>`,
//! `scim_bench_group_100000`), loaded once and reused while its `bench_loaded` table is there
//! (`DROP SCHEMA scim_bench_users_<n> CASCADE` to rebuild). Loading runs concurrent
//! `Store::create` calls with `synchronous_commit=off` (the data is the same; only the load is
//! faster), then `VACUUM ANALYZE`. What is timed runs on a store with the default options, as
//! `scim serve --db postgres://…` has them: durable commits, a pool of 8, TLS if the server
//! offers it.
//!
//! Each bench's answer is checked once before it is timed, against the generator's users.

use std::cell::Cell;
use std::time::{Duration, Instant};

use criterion::Criterion;
use scim_core::{block_on, Store, StoreSchema};
use scim_filter::CompiledFilter;
use scim_schema::Registry;
use scim_store_postgres::{PostgresOptions, PostgresStore};
use serde_json::{json, Value};

use super::{
    big_group, compile, list, query, sizes, user, user_key, MemberAdds, FAMILY, GIVEN, MEMBERS, T,
};

/// Concurrent creates while loading (each one a pooled connection).
const LOADERS: usize = 8;

/// One connection for the bench's own statements (schema checks, `VACUUM`), outside the store.
struct Admin {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    url: String,
}

impl Admin {
    /// A connection to the bench's server, or `None` after one line saying why.
    fn connect() -> Option<Admin> {
        let url = scim_test_support::postgres::url();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let connected = runtime.block_on(async {
            let mut config: tokio_postgres::Config = url.parse()?;
            config.connect_timeout(Duration::from_secs(3));
            let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            Ok::<_, tokio_postgres::Error>(client)
        });
        match connected {
            Ok(client) => Some(Admin {
                runtime,
                client,
                url,
            }),
            Err(e) => {
                eprintln!(
                    "skipping store-postgres: no PostgreSQL at {} ({e}; set SCIM_TEST_POSTGRES_URL)",
                    scim_store_postgres::redacted_url(&url)
                );
                None
            }
        }
    }

    /// Runs `sql` (statements without parameters).
    fn execute(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map(|_| ())
    }

    /// The first column of the first row of `sql`, as text.
    fn scalar(&self, sql: &str) -> Option<String> {
        let messages = self.runtime.block_on(self.client.simple_query(sql)).ok()?;
        messages.into_iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
    }

    /// The store on `schema`, with `options` applied to the defaults.
    fn store(
        &self,
        url: &str,
        schema: &str,
        options: impl FnOnce(PostgresOptions) -> PostgresOptions,
    ) -> PostgresStore {
        PostgresStore::connect(
            options(PostgresOptions::new(url).schema(schema)),
            StoreSchema::of(&Registry::standard()),
        )
        .unwrap()
    }

    /// The store on `schema`, loaded by `load` (on a store that commits without waiting
    /// for the WAL flush) unless a finished load is there, then vacuumed and analysed.
    fn cached(&self, schema: &str, load: impl FnOnce(&PostgresStore)) -> PostgresStore {
        let loaded = self.scalar(&format!("SELECT 1 FROM {schema}.bench_loaded"));
        if loaded.is_none() {
            self.execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .unwrap();
            let sep = if self.url.contains('?') { '&' } else { '?' };
            let fast = format!("{}{sep}options=-c%20synchronous_commit%3Doff", self.url);
            let loader = self.store(&fast, schema, |o| {
                o.pool_size(LOADERS)
                    .statement_timeout(Duration::from_secs(3600))
            });
            let start = Instant::now();
            load(&loader);
            drop(loader);
            let loaded_in = start.elapsed();
            for table in ["resources", "attr_index", "unique_keys", "members"] {
                self.execute(&format!("VACUUM ANALYZE {schema}.{table}"))
                    .unwrap();
            }
            let size = self
                .scalar(&format!(
                    "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = '{schema}' AND c.relkind = 'r'"
                ))
                .unwrap_or_default();
            eprintln!(
                "built PostgreSQL schema {schema} in {loaded_in:.1?} (+ vacuum {:.1?}), {size}",
                start.elapsed() - loaded_in
            );
            self.execute(&format!(
                "CREATE TABLE {schema}.bench_loaded (seconds float8); \
                 INSERT INTO {schema}.bench_loaded VALUES ({})",
                loaded_in.as_secs_f64()
            ))
            .unwrap();
        }
        self.store(&self.url, schema, |o| o)
    }
}

/// Users `0..n` created by [`LOADERS`] threads at once.
fn load_users(store: &PostgresStore, n: usize) {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..LOADERS {
            s.spawn(move || {
                for i in (t..n).step_by(LOADERS) {
                    let u = user(i);
                    let keys = user_key(&u);
                    block_on(store.create(T, "User", u, keys)).unwrap();
                    if t == 0 && i % 100_000 < LOADERS && i > 0 {
                        eprintln!("  {i} users in {:.1?}", start.elapsed());
                    }
                }
            });
        }
    });
}

/// A user the generator never makes (its `userName`, `displayName` and `externalId` match
/// none of the benches' filters).
fn new_user(nonce: u128, k: u64) -> Value {
    let mut u = user(0);
    u["userName"] = json!(format!("created-{nonce}-{k}@bench.invalid"));
    u["displayName"] = json!(format!("Created {k}"));
    u["externalId"] = json!(format!("created-{nonce}-{k}"));
    u["name"] = json!({"givenName": "Created", "familyName": "Created"});
    u
}

fn nonce() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// `store-postgres/<n>/*`.
pub(crate) fn users(c: &mut Criterion) {
    let Some(admin) = Admin::connect() else {
        return;
    };
    for n in sizes() {
        let store = admin.cached(&format!("scim_bench_users_{n}"), |s| load_users(s, n));
        let mut g = c.benchmark_group(format!("store-postgres/{n}"));

        // The filters, and their answers from the generator (one pass over the users).
        let probe = user(n / 2);
        let probe_name = probe["userName"].as_str().unwrap().to_owned();
        let by_name = compile(
            &format!(r#"userName eq "{}""#, probe_name.to_uppercase()),
            "User",
        );
        let prefix = format!("{}.{}", GIVEN[0].to_lowercase(), FAMILY[0].to_lowercase());
        let pushed = compile(
            &format!(r#"userName sw "{prefix}" and active eq true"#),
            "User",
        );
        let across = format!("{} {}", &GIVEN[0][2..], &FAMILY[0][..3]).to_uppercase();
        let co: Vec<(&str, CompiledFilter)> = [
            ("displayname-co", across.as_str()),
            ("displayname-co-short", "ck"),
        ]
        .into_iter()
        .map(|(id, literal)| {
            (
                id,
                compile(&format!(r#"displayName co "{literal}""#), "User"),
            )
        })
        .collect();
        let mut expected = [0usize; 3];
        for u in (0..n).map(user) {
            for (e, f) in expected.iter_mut().zip([&pushed, &co[0].1, &co[1].1]) {
                *e += usize::from(f.matches(&u));
            }
        }

        // userName eq through the index; the id it finds.
        let found = block_on(store.query(T, "User", query(&by_name, 100))).unwrap();
        assert!(found.filtered, "userName eq is answered by SQL");
        assert_eq!(found.resources.len(), 1);
        assert_eq!(found.resources[0].resource["userName"], probe["userName"]);
        let id = found.resources[0].id.clone();

        let nonce = nonce();
        let k = Cell::new(0u64);
        let first = new_user(nonce, 0);
        let created = block_on(store.create(T, "User", first.clone(), user_key(&first))).unwrap();
        assert_eq!(created.version, 1);
        let again = block_on(store.create(T, "User", first.clone(), user_key(&first)));
        assert!(
            matches!(again, Err(scim_core::StoreError::Conflict { .. })),
            "{again:?}"
        );
        g.bench_function("create", |b| {
            b.iter(|| {
                k.set(k.get() + 1);
                let u = new_user(nonce, k.get());
                let keys = user_key(&u);
                block_on(store.create(T, "User", u, keys)).unwrap()
            })
        });

        let got = block_on(store.get(T, "User", &id)).unwrap().unwrap();
        assert_eq!(got.resource["userName"], probe["userName"]);
        g.bench_function("get-by-id", |b| {
            b.iter(|| block_on(store.get(T, "User", &id)).unwrap().unwrap())
        });

        // The same user by `id eq` through `Store::query`.
        let by_id = compile(&format!(r#"id eq "{id}""#), "User");
        let r = block_on(store.query(T, "User", query(&by_id, 100))).unwrap();
        assert!(r.filtered && r.paged);
        assert_eq!(r.resources.len(), 1);
        assert_eq!(r.resources[0].resource["userName"], probe["userName"]);
        g.bench_function("id-eq", |b| {
            b.iter(|| {
                let r = block_on(store.query(T, "User", query(&by_id, 100))).unwrap();
                assert_eq!(r.resources.len(), 1);
                r
            })
        });

        g.bench_function("username-eq", |b| {
            b.iter(|| {
                let r = block_on(store.query(T, "User", query(&by_name, 100))).unwrap();
                assert_eq!(r.resources.len(), 1);
                r
            })
        });

        // `sw` on userName from the index, `active` from the documents; a page of 100.
        let (page, total, exact) = list(&store, &pushed, 100);
        assert!(exact, "pushed down");
        assert_eq!(total, expected[0]);
        assert_eq!(page.len(), expected[0].min(100));
        assert!(page.iter().all(|u| pushed.matches(u)));
        g.bench_function("filtered-list-pushed", |b| {
            b.iter(|| list(&store, &pushed, 100))
        });

        // `co` through the trigram index (a literal across the given and the family name,
        // one name in 2,500), and a two-character literal (no trigram; up to 100,000 users); a
        // page of 20.
        for ((id, co), expected) in co.iter().zip(&expected[1..]) {
            if *id == "displayname-co-short" && n > 100_000 {
                // A scan of every displayName key: about 1 s at 1M, near the default
                // statement timeout (2 s) on a loaded machine; its cost shows at 100k.
                eprintln!("store-postgres/{n}/{id}: skipped above 100,000 users (a scan)");
                continue;
            }
            let (page, total, exact) = list(&store, co, 20);
            assert!(exact, "pushed down");
            assert!(*expected > 0);
            assert_eq!(total, *expected);
            assert_eq!(page.len(), (*expected).min(20));
            assert!(page.iter().all(|u| co.matches(u)));
            g.bench_function(*id, |b| b.iter(|| list(&store, co, 20)));
        }
        g.finish();
    }
}

/// `store-postgres/100000-member-group/add-one-member`: one member added to a group of
/// 100,000 with `patch_elements`, committed.
pub(crate) fn group(c: &mut Criterion) {
    let Some(admin) = Admin::connect() else {
        return;
    };
    let store = admin.cached(&format!("scim_bench_group_{MEMBERS}"), |store| {
        block_on(store.create(T, "Group", big_group(0..MEMBERS), vec![])).unwrap();
    });
    let adds = MemberAdds::open(&store);
    let old = compile(r#"members.value eq "member-0099999""#, "Group");
    let r = block_on(store.query(T, "Group", query(&old, 10))).unwrap();
    let members = r.resources[0].resource["members"].as_array().unwrap().len();
    assert!(members > MEMBERS, "{members}");

    let k = Cell::new(0u64);
    let mut g = c.benchmark_group(format!("store-postgres/{MEMBERS}-member-group"));
    g.bench_function("add-one-member", |b| {
        b.iter(|| {
            k.set(k.get() + 1);
            adds.add(k.get())
        })
    });
    g.finish();
}
