//! Secrets (issue: no password oracle, hashed passwords, look-alike identifiers, guessable
//! ids): what a client holding a read token, or a writer, can learn or spoof.

use std::sync::{Arc, Mutex};

use scim_core::secret::{Argon2Params, Argon2id, Cleartext};
use scim_core::{
    Config, Engine, Hooks, MemoryStore, Method, RequestContext, ScimError, Scopes, Store,
};
use serde_json::{json, Value};

use super::{ctx, req, send, BASE};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SECRET: &str = "Hunter2-Secret!";

fn gluu() -> scim_schema::Registry {
    scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
        .build()
        .unwrap()
}

fn config(lenient: bool) -> Config {
    let mut config = Config::new(BASE).password_scheme(Arc::new(Argon2id::new(
        Argon2Params::fast_for_tests(),
        scim_core::secret::default_entropy(),
    )));
    if lenient {
        config = config
            .lenient_filters(true)
            .patch_options(scim_patch::PatchOptions::lenient())
            .validation_options(
                scim_schema::ValidationOptions::default().leniency(scim_schema::Leniency::all()),
            );
    }
    config
}

fn victim<S: Store>(e: &Engine<S>) -> String {
    let (status, body, _) = send(
        e,
        &ctx(),
        req(Method::Post, "/Users")
            .with_json(&json!({"schemas": [USER], "userName": "victim", "password": SECRET})),
    );
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The attack of the issue: with only `users.read`, a filter or a sort that depends on the
/// password, through every endpoint that takes one, strict and lenient.
#[test]
fn no_filter_or_sort_reads_a_password() {
    for lenient in [false, true] {
        let e = Engine::new(gluu(), MemoryStore::new(), config(lenient));
        victim(&e);
        let reader = ctx().scopes(Scopes::of([
            "https://gluu.org/scim/users.read",
            "https://gluu.org/scim/all-resources.search",
        ]));
        let filters = [
            r#"userName eq "victim" and password sw "H""#,
            r#"password eq "Hunter2-Secret!""#,
            r#"password co "Secret""#,
            r#"password ew "!""#,
            "password pr",
            r#"not (password gt "A")"#,
            r#"PassWord lt "Z""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:password sw "H""#,
            r#"urn:not:a:known:schema:password sw "H""#,
        ];
        for filter in filters {
            let attempts = [
                req(Method::Get, "/Users").with_query("filter", filter),
                req(Method::Post, "/Users/.search")
                    .with_json(&json!({"schemas": [SEARCH], "filter": filter})),
                req(Method::Post, "/.search")
                    .with_json(&json!({"schemas": [SEARCH], "filter": filter})),
            ];
            for attempt in attempts {
                let what = format!("{lenient} {} {filter}", attempt.path);
                let (status, body, _) = send(&e, &reader, attempt);
                assert_eq!(status, 400, "{what}: {body}");
                assert_eq!(body["scimType"], "invalidFilter", "{what}");
                assert!(!body.to_string().contains(SECRET), "{what}");
            }
        }
        for attempt in [
            req(Method::Get, "/Users").with_query("sortBy", "password"),
            req(Method::Post, "/Users/.search")
                .with_json(&json!({"schemas": [SEARCH], "sortBy": "Password"})),
            req(Method::Post, "/.search").with_json(
                &json!({"schemas": [SEARCH], "sortBy": "urn:ietf:params:scim:schemas:core:2.0:User:password"}),
            ),
        ] {
            let what = format!("{lenient} {}", attempt.path);
            let (status, body, _) = send(&e, &reader, attempt);
            assert_eq!(status, 400, "{what}: {body}");
            assert_eq!(body["scimType"], "invalidValue", "{what}");
        }
        // Filters that do not touch the password still work.
        let (status, body, _) = send(
            &e,
            &reader,
            req(Method::Get, "/Users").with_query("filter", r#"userName eq "victim""#),
        );
        assert_eq!((status, body["totalResults"].clone()), (200, json!(1)));
    }
}

/// Records what `before_create` / `before_replace` saw.
#[derive(Default)]
struct Seen(Mutex<Vec<Value>>);

impl Hooks for Seen {
    fn before_create(
        &self,
        _: &RequestContext,
        _: &str,
        resource: &mut Value,
    ) -> Result<(), ScimError> {
        self.0.lock().unwrap().push(resource["password"].clone());
        Ok(())
    }
    fn before_replace(
        &self,
        _: &RequestContext,
        _: &str,
        _: &str,
        resource: &mut Value,
    ) -> Result<(), ScimError> {
        self.0.lock().unwrap().push(resource["password"].clone());
        Ok(())
    }
}

#[test]
fn passwords_are_stored_only_as_salted_hashes_and_hooks_see_the_cleartext() {
    let seen = Arc::new(Seen::default());
    let e = Engine::new(gluu(), MemoryStore::new(), config(false)).with_hooks(seen.clone());
    let stored_password = |id: &str| {
        let r = scim_core::block_on(e.store().get("default", "User", id))
            .unwrap()
            .unwrap();
        assert!(
            !r.resource.to_string().contains("Hunter2"),
            "{}",
            r.resource
        );
        r.resource["password"].as_str().unwrap().to_owned()
    };
    let id = victim(&e);
    assert_eq!(seen.0.lock().unwrap()[0], json!(SECRET));
    let first = stored_password(&id);
    assert!(first.starts_with("$argon2id$v=19$"), "{first}");
    let scheme = &e.config().passwords;
    assert!(scheme.verify(&Cleartext::new(SECRET), &first).unwrap());
    assert!(!scheme
        .verify(&Cleartext::new("hunter2-secret!"), &first)
        .unwrap());

    // A PATCH that leaves the password alone keeps the stored hash as it is.
    let patch = |ops: Value| {
        req(Method::Patch, &format!("/Users/{id}"))
            .with_json(&json!({"schemas": [PATCH_OP], "Operations": ops}))
    };
    let (status, _, _) = send(
        &e,
        &ctx(),
        patch(json!([{"op": "replace", "path": "title", "value": "Boss"}])),
    );
    assert_eq!(status, 200);
    assert_eq!(stored_password(&id), first);

    // A PATCH that sets it, even to the same cleartext, stores a new salted hash.
    let (status, _, _) = send(
        &e,
        &ctx(),
        patch(json!([{"op": "replace", "path": "password", "value": "Hunter2-Secret!2"}])),
    );
    assert_eq!(status, 200);
    let patched = stored_password(&id);
    assert_ne!(patched, first);
    assert!(scheme
        .verify(&Cleartext::new("Hunter2-Secret!2"), &patched)
        .unwrap());

    // A client sending the stored hash back as a password does not get it stored verbatim
    // as a *new* value on create: it is hashed like any cleartext.
    let (status, body, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Users")
            .with_json(&json!({"schemas": [USER], "userName": "copycat", "password": patched})),
    );
    assert_eq!(status, 201, "{body}");
    let copy = stored_password(body["id"].as_str().unwrap());
    assert_ne!(copy, patched);
    assert!(scheme.verify(&Cleartext::new(&patched), &copy).unwrap());

    // PUT: the hook sees the cleartext, the store the hash.
    let (status, _, _) = send(
        &e,
        &ctx(),
        req(Method::Put, &format!("/Users/{id}"))
            .with_json(&json!({"schemas": [USER], "userName": "victim", "password": "put-Secret"})),
    );
    assert_eq!(status, 200);
    assert_eq!(seen.0.lock().unwrap().last(), Some(&json!("put-Secret")));
    assert!(scheme
        .verify(&Cleartext::new("put-Secret"), &stored_password(&id))
        .unwrap());
}

/// Without random numbers, no password is stored (a 500 whose cause says why, for the host's
/// log) rather than one with a predictable salt.
#[test]
fn no_entropy_no_password() {
    let config = Config::new(BASE).password_scheme(Arc::new(Argon2id::new(
        Argon2Params::fast_for_tests(),
        Arc::new(scim_core::secret::NoEntropy),
    )));
    let e = Engine::new(gluu(), MemoryStore::new(), config);
    let resp = scim_core::block_on(
        e.handle(
            &ctx(),
            req(Method::Post, "/Users")
                .with_json(&json!({"schemas": [USER], "userName": "x", "password": "p"})),
        ),
    );
    assert_eq!(resp.status, 500);
    assert!(
        resp.cause().is_some_and(|c| c.contains("random")),
        "{:?}",
        resp.cause()
    );
    assert!(!String::from_utf8_lossy(&resp.body).contains("random"));
    assert_eq!(e.store().len("default", "User"), 0);
}

/// With `trim_identifiers`, padding is trimmed instead, and the trimmed name collides.
#[test]
fn trimming_is_an_option() {
    let mut c = config(false);
    c.trim_identifiers = true;
    let e = Engine::new(gluu(), MemoryStore::new(), c);
    let post = |name: &str| {
        send(
            &e,
            &ctx(),
            req(Method::Post, "/Users").with_json(&json!({"schemas": [USER], "userName": name})),
        )
    };
    let (status, body, _) = post("  carol\u{200B}\t");
    assert_eq!((status, body["userName"].clone()), (201, json!("carol")));
    assert_eq!(post("carol ").0, 409);
    assert_eq!(
        post("ca\u{200B}rol").0,
        400,
        "inside, an invisible character is refused"
    );
}

#[test]
fn memory_store_ids_are_random_uuids() {
    let ids: Vec<String> = (0..2)
        .flat_map(|_| {
            let e = Engine::new(gluu(), MemoryStore::new(), config(false));
            (0..3)
                .map(|n| {
                    let (_, body, _) = send(
                        &e,
                        &ctx(),
                        req(Method::Post, "/Users")
                            .with_json(&json!({"schemas": [USER], "userName": format!("u{n}")})),
                    );
                    body["id"].as_str().unwrap().to_owned()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for id in &ids {
        let parsed = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(parsed.get_version_num(), 4, "{id}");
    }
    // No two equal, and no shared run of 8 hex digits anywhere (no counter, no fixed part).
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            assert_ne!(a, b);
            let a = a.replace('-', "");
            let b = b.replace('-', "");
            assert!(
                !(0..=a.len() - 8).any(|k| b.contains(&a[k..k + 8])),
                "{a} and {b} share a run"
            );
        }
    }
}
