//! `store/<n>/*`: the SQLite store under `n` generated users (sizes from
//! `SCIM_STORE_BENCH_SIZES`, default `10000,100000`; `1000000` works), in a file database
//! under `target/scim-store-bench/` that is built once per size and reused (delete the
//! directory to rebuild). Then `store/100000-member-group/*`: adding one member to a group of
//! 100,000 with `patch_elements`, against replacing the whole group.
//!
//! Then `engine/<n>-emails/*` (sizes from `SCIM_EMAIL_BENCH_SIZES`, default
//! `2000,10000,25000`): POST of a user with `n` emails and a PATCH that changes one of its
//! emails, through the engine over a fresh SQLite file (`create`, `patch-one-email`) and over
//! the memory store (`memory-create`, `memory-patch-one-email`); the sizes show whether the
//! cost is linear in `n`.
//!
//! `store-postgres/*` (in `store/postgres.rs`): the same rows on the PostgreSQL store.
//!
//! Every write is durable (WAL, `synchronous=FULL`). Each bench's answer is checked once
//! before it is timed. `displayname-co` is `displayName co` answered through the trigram
//! index (a page of 20); `displayname-co-short` a two-character literal, which scans the
//! `displayName` keys instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::Cell;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use scim_core::{
    block_on, Config, ElementChange, Engine, Method, Query, Request, RequestContext, Store,
    UniqueKey,
};
use scim_filter::{CompiledFilter, Filter};
use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;
use serde_json::{json, Value};

#[path = "store/postgres.rs"]
mod postgres;

const T: &str = "bench";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const GIVEN: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Emily",
    "Paul",
    "Donna",
    "Andrew",
    "Michelle",
    "Joshua",
    "Carol",
    "Kenneth",
    "Amanda",
    "Kevin",
    "Melissa",
    "Brian",
    "Deborah",
    "George",
    "Stephanie",
    "Timothy",
    "Rebecca",
    "Ronald",
    "Sharon",
];
const FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
];
const TITLES: &[&str] = &[
    "Senior Software Engineer",
    "Product Manager",
    "Tour Guide",
    "Accountant",
    "Designer",
];
const DEPARTMENTS: &[&str] = &["Sales", "Engineering", "Finance", "Support", "Marketing"];

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The user numbered `i`, the same on every run (the shape of the shared workload's users).
fn user(i: usize) -> Value {
    let h = splitmix(i as u64);
    let given = GIVEN[(h % GIVEN.len() as u64) as usize];
    let family = FAMILY[((h >> 8) % FAMILY.len() as u64) as usize];
    let user_name = format!(
        "{}.{}{i}@example.com",
        given.to_lowercase(),
        family.to_lowercase()
    );
    let mut emails = vec![json!({"value": user_name, "type": "work", "primary": true})];
    if i % 3 == 0 {
        emails.push(
            json!({"value": format!("{}{i}@example.org", given.to_lowercase()), "type": "home"}),
        );
    }
    let created_year = 2010 + (h >> 16) % 14;
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": format!("ext-{i:07}"),
        "userName": user_name,
        "name": {"givenName": given, "familyName": family, "formatted": format!("{given} {family}")},
        "displayName": format!("{given} {family}"),
        "userType": "Employee",
        "active": i % 10 != 0,
        "emails": emails,
        "title": TITLES[((h >> 24) % TITLES.len() as u64) as usize],
        ENTERPRISE: {
            "employeeNumber": format!("{}", 100_000 + (h >> 32) % 900_000),
            "department": DEPARTMENTS[((h >> 40) % DEPARTMENTS.len() as u64) as usize],
            "costCenter": format!("CC-{}", 100 + (h >> 48) % 100),
        },
        "meta": {
            "resourceType": "User",
            "created": format!("{created_year}-{:02}-{:02}T10:00:00Z", 1 + (h >> 20) % 12, 1 + (h >> 28) % 28),
            "lastModified": "2024-01-01T00:00:00Z",
        },
    })
}

fn user_key(u: &Value) -> Vec<UniqueKey> {
    vec![UniqueKey {
        attribute: "userName".into(),
        value: u["userName"].as_str().unwrap().to_lowercase(),
    }]
}

fn bench_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("scim-store-bench")
}

/// Opens the database `name`, building it with `build` unless a finished one is there.
fn cached(name: &str, build: impl FnOnce(&SqliteStore)) -> SqliteStore {
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("{name}.db"));
    let done = dir.join(format!("{name}.done"));
    if !done.exists() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{name}.db{suffix}")));
        }
        let store =
            SqliteStore::open(&db, scim_core::StoreSchema::of(&Registry::standard())).unwrap();
        let start = Instant::now();
        build(&store);
        eprintln!("built {} in {:.1?}", db.display(), start.elapsed());
        drop(store);
        std::fs::write(&done, "").unwrap();
    }
    SqliteStore::open(&db, scim_core::StoreSchema::of(&Registry::standard())).unwrap()
}

fn users_db(n: usize) -> SqliteStore {
    cached(&format!("users-{n}"), |store| {
        const BATCH: usize = 10_000;
        for start in (0..n).step_by(BATCH) {
            let batch = (start..(start + BATCH).min(n))
                .map(|i| {
                    let u = user(i);
                    let keys = user_key(&u);
                    (u, keys)
                })
                .collect();
            store.create_batch(T, "User", batch).unwrap();
        }
    })
}

fn compile(text: &str, rt: &str) -> CompiledFilter {
    let registry = Registry::standard();
    let filter = Filter::parse(text).unwrap();
    CompiledFilter::compile(&filter, &registry.resource_type(rt).unwrap()).unwrap()
}

fn query(f: &CompiledFilter, count: usize) -> Query<'_> {
    Query {
        filter: Some(f),
        sort: None,
        start_index: 1,
        count,
        attributes: None,
    }
}

/// A list request as the engine runs it: the store's answer, finished in memory where the
/// store could not filter; the page and the total.
fn list<S: Store>(store: &S, f: &CompiledFilter, count: usize) -> (Vec<Value>, usize, bool) {
    let result = block_on(store.query(T, "User", query(f, count))).unwrap();
    if result.filtered && result.paged {
        let total = result.total_results;
        return (
            result.resources.into_iter().map(|r| r.resource).collect(),
            total,
            true,
        );
    }
    let matching: Vec<Value> = result
        .resources
        .into_iter()
        .map(|r| r.resource)
        .filter(|r| f.matches(r))
        .collect();
    let total = matching.len();
    (matching.into_iter().take(count).collect(), total, false)
}

fn sizes() -> Vec<usize> {
    std::env::var("SCIM_STORE_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn users(c: &mut Criterion) {
    for n in sizes() {
        let store = users_db(n);
        let mut g = c.benchmark_group(format!("store/{n}"));

        // A user in the middle, found through the index and by id.
        let probe = user(n / 2);
        let probe_name = probe["userName"].as_str().unwrap().to_owned();
        let by_name = compile(
            &format!(r#"userName eq "{}""#, probe_name.to_uppercase()),
            "User",
        );
        let found = block_on(store.query(T, "User", query(&by_name, 100))).unwrap();
        assert!(found.filtered, "userName eq is answered by SQL");
        assert_eq!(found.resources.len(), 1);
        assert_eq!(found.resources[0].resource["userName"], probe["userName"]);
        let id = found.resources[0].id.clone();

        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let k = Cell::new(0u64);
        let new_user = |k: u64| {
            let mut u = user(n + 1);
            u["userName"] = json!(format!("created-{nonce}-{k}@bench.invalid"));
            u
        };
        let created =
            block_on(store.create(T, "User", new_user(0), user_key(&new_user(0)))).unwrap();
        assert_eq!(created.version, 1);
        g.bench_function("create", |b| {
            b.iter(|| {
                k.set(k.get() + 1);
                let u = new_user(k.get());
                let keys = user_key(&u);
                block_on(store.create(T, "User", u, keys)).unwrap()
            })
        });

        let got = block_on(store.get(T, "User", &id)).unwrap().unwrap();
        assert_eq!(got.resource["userName"], probe["userName"]);
        g.bench_function("get-by-id", |b| {
            b.iter(|| block_on(store.get(T, "User", &id)).unwrap().unwrap())
        });

        g.bench_function("username-eq", |b| {
            b.iter(|| {
                let r = block_on(store.query(T, "User", query(&by_name, 100))).unwrap();
                assert_eq!(r.resources.len(), 1);
                r
            })
        });

        // `sw` on userName is an index range; `active` is read from the documents found.
        let prefix = format!("{}.{}", GIVEN[0].to_lowercase(), FAMILY[0].to_lowercase());
        let pushed = compile(
            &format!(r#"userName sw "{prefix}" and active eq true"#),
            "User",
        );
        let (page, total, exact) = list(&store, &pushed, 100);
        assert!(exact, "pushed down");
        let expected = (0..n)
            .map(user)
            .filter(|u| {
                u["userName"].as_str().unwrap().starts_with(&prefix) && u["active"] == json!(true)
            })
            .count();
        assert_eq!(total, expected);
        assert_eq!(page.len(), expected.min(100));
        assert!(page.iter().all(|u| pushed.matches(u)));
        g.bench_function("filtered-list-pushed", |b| {
            b.iter(|| list(&store, &pushed, 100))
        });

        // A dateTime comparison, as instants in SQL (`scim_instant`).
        let by_date = compile(
            &format!(r#"userName sw "{prefix}" and meta.created gt "2016-01-01T00:00:00Z""#),
            "User",
        );
        let (page, total, exact) = list(&store, &by_date, 100);
        assert!(exact, "pushed down");
        let expected = (0..n).map(user).filter(|u| by_date.matches(u)).count();
        assert_eq!(total, expected);
        assert_eq!(page.len(), expected.min(100));
        assert!(page.iter().all(|u| by_date.matches(u)));
        g.bench_function("filtered-list-pushed-datetime", |b| {
            b.iter(|| list(&store, &by_date, 100))
        });

        // A conjunct SQL does not take (an integer past 2^53; NUL literals are pushed down
        // now): SQL returns the `sw` superset, the rest is finished in memory.
        let not_pushed = compile(
            &format!(r#"userName sw "{prefix}" and title ne 9007199254740993"#),
            "User",
        );
        let (page, total, exact) = list(&store, &not_pushed, 100);
        assert!(!exact, "not pushed down");
        let expected = (0..n).map(user).filter(|u| not_pushed.matches(u)).count();
        assert_eq!(total, expected);
        assert_eq!(page.len(), expected.min(100));
        g.bench_function("filtered-list-not-pushed", |b| {
            b.iter(|| list(&store, &not_pushed, 100))
        });

        // `co` through the trigram index: a literal across the given and the family name
        // (few matches: one name in 2,600), the engine's usual page of 20.
        let across = format!("{} {}", &GIVEN[0][2..], &FAMILY[0][..3]).to_uppercase();
        for (id, literal) in [
            ("displayname-co", across.as_str()),
            // Two characters: no trigram; the `displayName` keys are scanned instead.
            ("displayname-co-short", "ck"),
        ] {
            let co = compile(&format!(r#"displayName co "{literal}""#), "User");
            let (page, total, exact) = list(&store, &co, 20);
            assert!(exact, "pushed down");
            let expected = (0..n).map(user).filter(|u| co.matches(u)).count();
            assert!(expected > 0, "{literal}");
            assert_eq!(total, expected);
            assert_eq!(page.len(), expected.min(20));
            assert!(page.iter().all(|u| co.matches(u)));
            g.bench_function(id, |b| b.iter(|| list(&store, &co, 20)));
        }
        g.finish();
    }
}

const MEMBERS: usize = 100_000;

fn member(i: usize) -> Value {
    json!({"value": format!("member-{i:07}"), "type": "User"})
}

fn big_group(members: std::ops::Range<usize>) -> Value {
    json!({"schemas": [GROUP], "displayName": "Everyone",
        "members": members.map(member).collect::<Vec<_>>()})
}

/// The big group of a store built by [`big_group`], and one member at a time added to it with
/// `patch_elements` (committed), as `store/…-member-group/add-one-member` and
/// `store-postgres/…-member-group/add-one-member` time it.
struct MemberAdds<'s, S> {
    store: &'s S,
    id: String,
    head: Value,
    version: Cell<u64>,
    nonce: u128,
}

impl<'s, S: Store> MemberAdds<'s, S> {
    /// Finds the group and checks the answer once: its head holds no members; an add is a
    /// real change, visible to the membership lookup; the same add again is none.
    fn open(store: &'s S) -> Self {
        let everyone = compile(r#"displayName eq "Everyone""#, "Group");
        let found = block_on(store.query(
            T,
            "Group",
            Query {
                attributes: Some(&["displayName"]),
                ..query(&everyone, 10)
            },
        ))
        .unwrap();
        assert_eq!(found.resources.len(), 1);
        let id = found.resources[0].id.clone();
        let head = block_on(store.get_head(T, "Group", &id)).unwrap().unwrap();
        assert!(head.resource.get("members").is_none());
        let adds = MemberAdds {
            store,
            id,
            head: head.resource,
            version: Cell::new(head.version),
            nonce: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        };
        assert!(adds.add(0).changed);
        let member_of = compile(
            &format!(r#"members.value eq "ADDED-{}-0""#, adds.nonce),
            "Group",
        );
        let r = block_on(store.query(
            T,
            "Group",
            Query {
                attributes: Some(&[]),
                ..query(&member_of, 10)
            },
        ))
        .unwrap();
        assert!(r.filtered);
        assert_eq!(r.resources.len(), 1);
        assert!(!adds.add(0).changed);
        adds
    }

    /// Adds member `added-{nonce}-{k}`.
    fn add(&self, k: u64) -> scim_core::ElementPatch {
        let mut change = ElementChange::new("members");
        change
            .added
            .push(json!({"value": format!("added-{}-{k}", self.nonce), "type": "User"}));
        let p = block_on(self.store.patch_elements(
            T,
            "Group",
            &self.id,
            self.version.get(),
            self.head.clone(),
            false,
            change,
            vec![],
        ))
        .unwrap();
        self.version.set(p.version);
        p
    }
}

fn group(c: &mut Criterion) {
    let store = cached(&format!("group-{MEMBERS}"), |store| {
        block_on(store.create(T, "Group", big_group(0..MEMBERS), vec![])).unwrap();
    });
    let adds = MemberAdds::open(&store);
    let (id, version) = (&adds.id, &adds.version);
    let k = Cell::new(0u64);

    let mut g = c.benchmark_group(format!("store/{MEMBERS}-member-group"));
    g.bench_function("add-one-member", |b| {
        b.iter(|| {
            k.set(k.get() + 1);
            adds.add(k.get())
        })
    });
    g.sample_size(10);
    let full = block_on(store.get(T, "Group", id)).unwrap().unwrap();
    let members = full.resource["members"].as_array().unwrap().len();
    assert!(members > MEMBERS);
    g.bench_function("replace", |b| {
        b.iter(|| {
            let r = block_on(store.replace(
                T,
                "Group",
                id,
                version.get(),
                full.resource.clone(),
                vec![],
            ))
            .unwrap();
            version.set(r.version);
            r
        })
    });
    g.finish();
}

/// The same through the engine, as `scim serve --patch-no-content` runs it: PATCH add one
/// member (an existing user: the engine checks) then PATCH remove it by `value eq`, on a
/// group of 100,000; each PATCH is one durable write.
fn engine_group(c: &mut Criterion) {
    const USERS: usize = 1_000;
    let store = cached(&format!("engine-group-{MEMBERS}"), |store| {
        let users = (0..USERS)
            .map(|i| {
                let u = user(i);
                let keys = user_key(&u);
                (u, keys)
            })
            .collect();
        store.create_batch(T, "User", users).unwrap();
        block_on(store.create(T, "Group", big_group(0..MEMBERS), vec![])).unwrap();
    });
    let all = |rt: &str| {
        block_on(store.query(
            T,
            rt,
            Query {
                filter: None,
                sort: None,
                start_index: 1,
                count: usize::MAX,
                attributes: Some(&["displayName", "userName"]),
            },
        ))
        .unwrap()
        .resources
    };
    let user_ids: Vec<String> = all("User").into_iter().map(|u| u.id).collect();
    assert_eq!(user_ids.len(), USERS);
    let gid = all("Group")[0].id.clone();
    let mut config = Config::new("https://example.com/scim/v2");
    config.patch_no_content = true;
    let engine = Engine::new(Registry::standard(), store, config);
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH).tenant(T);
    let patch = |ops: Value| {
        block_on(engine.handle(
            &ctx,
            Request::new(Method::Patch, format!("/Groups/{gid}")).with_json(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": ops})),
        ))
    };
    let cycle = |uid: &str| {
        let added = patch(json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]));
        let removed =
            patch(json!([{"op": "remove", "path": format!("members[value eq \"{uid}\"]")}]));
        (added, removed)
    };
    // Checked: both change the group (the version moves twice); a missing user is refused.
    let before = block_on(engine.store().get_head(T, "Group", &gid))
        .unwrap()
        .unwrap()
        .version;
    let (added, removed) = cycle(&user_ids[0]);
    assert_eq!((added.status, removed.status), (204, 204));
    let after = block_on(engine.store().get_head(T, "Group", &gid))
        .unwrap()
        .unwrap()
        .version;
    assert_eq!(after, before + 2);
    let missing = patch(json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}]));
    assert_eq!(missing.status, 400);

    let mut g = c.benchmark_group(format!("engine/{MEMBERS}-member-group"));
    let i = Cell::new(0usize);
    g.bench_function("patch-add1-then-remove1", |b| {
        b.iter(|| {
            i.set((i.get() + 1) % USERS);
            cycle(&user_ids[i.get()])
        })
    });
    g.finish();
}

fn email_sizes() -> Vec<usize> {
    std::env::var("SCIM_EMAIL_BENCH_SIZES")
        .unwrap_or_else(|_| "2000,10000,25000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// A user with `n` emails (the first primary), named `name`.
fn user_with_emails(name: &str, n: usize) -> Value {
    let emails: Vec<Value> = (0..n)
        .map(|i| {
            let mut e = json!({"value": format!("{name}.{i}@example.com"), "type": "work"});
            if i == 0 {
                e["primary"] = json!(true);
            }
            e
        })
        .collect();
    json!({"schemas": [USER], "userName": name, "displayName": "Many Emails", "emails": emails})
}

/// The `emails` of a response, as a list of values.
fn email_values(body: &Value) -> Vec<&str> {
    body["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect()
}

/// `engine/<n>-emails/<prefix>create` and `…/<prefix>patch-one-email` over `store`.
fn emails_on<S: Store>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    prefix: &str,
    store: S,
    n: usize,
) {
    let mut config = Config::new("https://example.com/scim/v2");
    config.max_payload = 64 << 20;
    let engine = Engine::new(Registry::standard(), store, config);
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH).tenant(T);
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let post = |k: u64| {
        let body = user_with_emails(&format!("emails-{nonce}-{k}"), n);
        Request::new(Method::Post, "/Users").with_json(&body)
    };
    // Checked: created with every email, in order.
    let resp = block_on(engine.handle(&ctx, post(0)));
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    let created = resp.body_json();
    let values = email_values(&created);
    assert_eq!(values.len(), n);
    assert_eq!(
        values[n / 2],
        format!("emails-{nonce}-0.{}@example.com", n / 2)
    );
    let k = Cell::new(0u64);
    // The users the timed creates make go to a tenant of their own: a lookup of `emails`
    // reads the documents of every user over the index cap of its tenant (the SQLite
    // store's `max_indexed_values`), and the check of the PATCH below is one lookup.
    let many = RequestContext::new(chrono::DateTime::UNIX_EPOCH).tenant(format!("{T}-many"));
    // The request (a 25,000-email body is megabytes of JSON) is built outside the timing:
    // what is measured is the engine's work on it.
    g.bench_function(format!("{prefix}create"), |b| {
        b.iter_batched(
            || {
                k.set(k.get() + 1);
                post(k.get())
            },
            |req| {
                let resp = block_on(engine.handle(&many, req));
                assert_eq!(resp.status, 201);
                resp
            },
            criterion::BatchSize::PerIteration,
        )
    });

    // PATCH: the value of one email (in the middle) changes, through a value filter.
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let current = std::cell::RefCell::new(values[n / 2].to_owned());
    let patch = |k: u64| {
        let new = format!("moved-{k}@example.net");
        let old = current.replace(new.clone());
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": format!("emails[value eq \"{old}\"].value"),
                "value": new}]});
        block_on(engine.handle(
            &ctx,
            Request::new(Method::Patch, path.as_str()).with_json(&body),
        ))
    };
    // Checked: one email changed, the others kept; the index finds the new value.
    let resp = patch(0);
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let body = resp.body_json();
    let after = email_values(&body);
    assert_eq!(after.len(), n);
    assert_eq!(after[n / 2], "moved-0@example.net");
    assert_eq!(after[0], values[0]);
    let found = block_on(
        engine.handle(
            &ctx,
            Request::new(Method::Get, "/Users")
                .with_query("filter", r#"emails.value eq "MOVED-0@example.net""#)
                .with_query("attributes", "userName"),
        ),
    );
    assert_eq!(found.status, 200);
    assert_eq!(found.body_json()["totalResults"], 1);
    let k = Cell::new(0u64);
    g.bench_function(format!("{prefix}patch-one-email"), |b| {
        b.iter(|| {
            k.set(k.get() + 1);
            let resp = patch(k.get());
            assert_eq!(resp.status, 200);
            resp
        })
    });
}

/// A user with thousands of emails, created and patched through the engine: over SQLite (a
/// fresh file database per size) and over the memory store.
fn engine_emails(c: &mut Criterion) {
    for n in email_sizes() {
        let dir = bench_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join(format!("emails-{n}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        let mut g = c.benchmark_group(format!("engine/{n}-emails"));
        g.sample_size(10);
        let sqlite =
            SqliteStore::open(&db, scim_core::StoreSchema::of(&Registry::standard())).unwrap();
        emails_on(&mut g, "", sqlite, n);
        emails_on(&mut g, "memory-", scim_core::MemoryStore::new(), n);
        g.finish();
    }
}

criterion_group!(
    benches,
    postgres::users,
    postgres::group,
    users,
    group,
    engine_group,
    engine_emails
);
criterion_main!(benches);
