//! Every operation against our own `scim serve` on a loopback port.

use futures_util::TryStreamExt;
use scim_client::{
    BulkOperation, Client, ClientConfig, Error, Group, ListQuery, Member, MultiValue, Paging,
    RequestOptions, SortOrder, User,
};
use scim_filter::{AttrPath, CompValue, CompareOp, Filter};
use scim_patch::{PatchOptions, PatchRequest};
use serde_json::{Value, json};

use super::support::{Running, TOKEN};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn patch(ops: Value) -> PatchRequest {
    PatchRequest::from_json(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
        &PatchOptions::default(),
    )
    .unwrap()
}

fn eq(attr: &str, value: &str) -> Filter {
    Filter::compare(
        AttrPath::new(attr),
        CompareOp::Eq,
        CompValue::String(value.into()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_user_crud_with_versions_and_extensions() {
    let server = Running::start();
    let client = server.client();
    let d = client.discover().await.unwrap();
    assert!(d.registry.resource_type("User").is_some());
    assert!(d.registry.resource_type("Group").is_some());
    assert!(d.config.patch && d.config.filter && d.config.bulk);

    let mut user = User::new("bjensen");
    user.display_name = Some("Barbara Jensen".into());
    user.emails.push(
        MultiValue::new("bjensen@example.com")
            .with_type("work")
            .primary(),
    );
    user.set_extension(ENTERPRISE, &json!({"employeeNumber": "701984"}))
        .unwrap();
    let created: User = client.create("/Users", &user).await.unwrap();
    let id = created.id.clone().unwrap();
    let ent: Value = created.extension(ENTERPRISE).unwrap().unwrap();
    assert_eq!(ent["employeeNumber"], "701984");

    // Read with its version, replace conditionally: the first PUT wins, a second with the
    // same (now old) version is a typed 412.
    let read = client
        .get_with::<User>("/Users", &id, &RequestOptions::new())
        .await
        .unwrap();
    let v1 = read.version.clone().expect("scim serve sends an ETag");
    let mut changed = read.resource.clone();
    changed.display_name = Some("Babs".into());
    let replaced: User = client
        .replace(
            "/Users",
            &id,
            &changed,
            &RequestOptions::new().if_match(&v1),
        )
        .await
        .unwrap();
    assert_eq!(replaced.display_name.as_deref(), Some("Babs"));
    let stale = client
        .replace(
            "/Users",
            &id,
            &changed,
            &RequestOptions::new().if_match(&v1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(stale, Error::PreconditionFailed(ref b) if b.status == 412),
        "{stale:?}"
    );

    // PATCH from scim_patch's request, with the current version.
    let now = client
        .get_with::<Value>("/Users", &id, &RequestOptions::new())
        .await
        .unwrap();
    let patched: Option<User> = client
        .patch(
            "/Users",
            &id,
            &patch(
                json!([{"op": "replace", "path": "name.givenName", "value": "Barbara"},
                          {"op": "add", "path": "title", "value": "Tour Guide"}]),
            ),
            &RequestOptions::new().if_match(now.version.unwrap()),
        )
        .await
        .unwrap();
    let patched = patched.unwrap();
    assert_eq!(patched.name.unwrap().given_name.as_deref(), Some("Barbara"));
    assert_eq!(patched.other["title"], "Tour Guide");

    // Projection.
    let shown = client
        .get_with::<Value>(
            "/Users",
            &id,
            &RequestOptions::new().attributes(["userName"]),
        )
        .await
        .unwrap()
        .resource;
    assert!(shown.get("displayName").is_none());
    assert_eq!(shown["userName"], "bjensen");

    client
        .delete("/Users", &id, &RequestOptions::new())
        .await
        .unwrap();
    let gone = client.get::<User>("/Users", &id).await.unwrap_err();
    assert_eq!(gone.status(), Some(404), "{gone:?}");
    // A uniqueness conflict is a SCIM error with its scimType.
    client.create("/Users", &User::new("dup")).await.unwrap();
    let dup = client
        .create("/Users", &User::new("dup"))
        .await
        .unwrap_err();
    assert_eq!(dup.scim().unwrap().scim_type.as_deref(), Some("uniqueness"));
    // Everything received matched the discovered schemas.
    assert_eq!(
        client.reports(),
        vec![],
        "our server matches its own schemas"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_values_are_quoted_and_escaped() {
    let server = Running::start();
    let client = server.client();
    let tricky = "o'\"quote\" back\\slash Zoë 日本 \u{1F600}";
    for name in [tricky, "plain", "o'"] {
        client.create("/Users", &User::new(name)).await.unwrap();
    }
    // The AST's canonical text: the value as a JSON string.
    let f = eq("userName", tricky);
    assert_eq!(
        f.to_string(),
        "userName eq \"o'\\\"quote\\\" back\\\\slash Zoë 日本 \u{1F600}\""
    );
    let q = ListQuery::new().filter(f);
    let page = client.list::<User>("/Users", &q).await.unwrap();
    assert_eq!(page.total_results, 1);
    assert_eq!(page.resources[0].user_name, tricky);
    // The same through POST .search (the filter in the body).
    let page = client.search::<User>("/Users", &q).await.unwrap();
    assert_eq!(page.total_results, 1);
    assert_eq!(page.resources[0].user_name, tricky);
    // And from the root.
    let page = client.search::<Value>("", &q).await.unwrap();
    assert_eq!(page.total_results, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_as_a_stream_sorted_and_projected() {
    let server = Running::start();
    let client = server.client();
    for i in 0..23 {
        client
            .create("/Users", &User::new(format!("user{i:02}")))
            .await
            .unwrap();
    }
    let q = ListQuery::new()
        .filter_str(r#"userName sw "user""#)
        .unwrap()
        .sort_by("userName", SortOrder::Descending)
        .attributes(["userName"])
        .count(5)
        .paging(Paging::Index);
    let pages: Vec<_> = client
        .pages::<Value>("/Users", q.clone())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 5, "23 users, 5 a page");
    let all: Vec<User> = client.list_all("/Users", q).try_collect().await.unwrap();
    let names: Vec<&str> = all.iter().map(|u| u.user_name.as_str()).collect();
    let mut expected: Vec<String> = (0..23).map(|i| format!("user{i:02}")).collect();
    expected.reverse();
    assert_eq!(names, expected);
    assert!(
        all.iter()
            .all(|u| u.emails.is_empty() && u.display_name.is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_with_headers_bulk_and_me() {
    let server = Running::start();
    let mut config = ClientConfig::default();
    config.bulk_max_operations = 2;
    let client = Client::builder(&server.base)
        .unwrap()
        .bearer(TOKEN)
        .header("X-Client-Test", "1")
        .unwrap()
        .config(config)
        .build()
        .unwrap();
    let alice: User = client.create("/Users", &User::new("alice")).await.unwrap();
    let mut group = Group::new("Admins");
    group.members.push(Member::new(alice.id.clone().unwrap()));
    let g: Group = client.create("/Groups", &group).await.unwrap();
    let gid = g.id.clone().unwrap();
    // Gluu's Group-Overhead-Bypass per request: members are not looked up.
    let bypass = RequestOptions::new()
        .header("Group-Overhead-Bypass", "true")
        .excluded_attributes(["members.display"]);
    let read = client
        .get_with::<Group>("/Groups", &gid, &bypass)
        .await
        .unwrap();
    assert_eq!(read.resource.members.len(), 1);
    assert!(read.resource.members[0].display.is_none());

    // Bulk over three requests (two operations each, no discovery): the group in the
    // last request names a user created in the first by bulkId.
    let user =
        |n: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": n});
    let ops = vec![
        BulkOperation::post("/Users", "u1", user("bulk1")),
        BulkOperation::post("/Users", "u2", user("bulk2")),
        BulkOperation::post("/Users", "u3", user("bulk3")),
        BulkOperation::new(
            "DELETE",
            &format!("/Users/{}", alice.id.clone().unwrap()),
            None,
        ),
        BulkOperation::post(
            "/Groups",
            "g1",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Bulk", "members": [{"value": "bulkId:u1"}]}),
        ),
    ];
    let results = client.bulk(ops, None).await.unwrap();
    assert_eq!(results.len(), 5);
    let codes: Vec<u16> = results.iter().map(|r| r.status_code()).collect();
    assert_eq!(codes, vec![201, 201, 201, 204, 201]);
    let u1 = results[0].id().unwrap().to_owned();
    let bulk_group: Group = client
        .get("/Groups", results[4].id().unwrap())
        .await
        .unwrap();
    assert_eq!(bulk_group.members[0].value, u1);

    // /Me with a static token names nobody: a SCIM error, not a panic or a transport error.
    let me = client.me::<Value>().await.unwrap_err();
    assert!(matches!(me, Error::Scim(_)), "{me:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_before_sending_and_unknown_token() {
    let server = Running::start();
    let mut config = ClientConfig::default();
    config.validate_requests = true;
    let client = Client::builder(&server.base)
        .unwrap()
        .bearer(TOKEN)
        .config(config)
        .build()
        .unwrap();
    client.discover().await.unwrap();
    let bad = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": 5});
    let e = client.create("/Users", &bad).await.unwrap_err();
    assert!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
    let missing = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]});
    assert!(matches!(
        client.create("/Users", &missing).await.unwrap_err(),
        Error::InvalidRequest(_)
    ));
    let page = client
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap();
    assert_eq!(page.total_results, 0, "nothing was sent");
    // PATCH values are checked against the attribute their path names.
    let ok: User = client.create("/Users", &User::new("valid")).await.unwrap();
    let id = ok.id.unwrap();
    for ops in [
        json!([{"op": "replace", "path": "active", "value": "yes"}]),
        json!([{"op": "add", "path": "emails[type eq \"work\"].primary", "value": "no"}]),
        json!([{"op": "replace", "value": {"displayName": 7}}]),
        json!([{"op": "replace", "value": {ENTERPRISE: {"employeeNumber": []}}}]),
    ] {
        let e = client
            .patch::<Value>("/Users", &id, &patch(ops.clone()), &RequestOptions::new())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidRequest(_)), "{ops}: {e:?}");
    }
    let fine = client
        .patch::<Value>(
            "/Users",
            &id,
            &patch(json!([{"op": "replace", "value": {"displayName": "V", ENTERPRISE: {"employeeNumber": "1"}}},
                          {"op": "add", "path": "emails", "value": [{"value": "v@example.com", "type": "work"}]}])),
            &RequestOptions::new(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fine["displayName"], "V");
    assert_eq!(fine[ENTERPRISE]["employeeNumber"], "1");

    let stranger = Client::builder(&server.base)
        .unwrap()
        .bearer("wrong")
        .build()
        .unwrap();
    let e = stranger
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_pages_where_asked() {
    let server = Running::start();
    let client = server.client();
    let d = client.discover().await.unwrap();
    // scim serve offers cursors but pages by index by default: Auto keeps index paging.
    assert!(d.config.pagination_cursor && !d.config.prefers_cursor());
    for i in 0..9 {
        client
            .create("/Users", &User::new(format!("c{i}")))
            .await
            .unwrap();
    }
    let by_index: Vec<_> = client
        .pages::<User>("/Users", ListQuery::new().count(4))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_index.len(), 3);
    assert!(by_index.iter().all(|p| p.next_cursor.is_none()));
    let by_cursor: Vec<_> = client
        .pages::<User>("/Users", ListQuery::new().count(4).paging(Paging::Cursor))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_cursor.len(), 3);
    assert!(by_cursor[0].next_cursor.is_some() && by_cursor[2].next_cursor.is_none());
    let mut names: Vec<String> = by_cursor
        .into_iter()
        .flat_map(|p| p.resources)
        .map(|u| u.user_name)
        .collect();
    names.sort();
    assert_eq!(names, (0..9).map(|i| format!("c{i}")).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_with_a_private_ca() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let dir = std::env::temp_dir().join(format!("scim-client-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let mut options = scim_cli::serve::ServeOptions::new();
    options.tokens.insert(TOKEN, scim_core::Scopes::All);
    options.tls_cert = Some(cert_path);
    options.tls_key = Some(key_path);
    let server = Running::start_with(options);
    let https = server.base.replace("http://127.0.0.1", "https://localhost");
    // Trusting the private CA: works.
    let client = Client::builder(&https)
        .unwrap()
        .bearer(TOKEN)
        .root_certificate_pem(ca_cert.pem().as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let created: User = client.create("/Users", &User::new("tls")).await.unwrap();
    assert_eq!(created.user_name, "tls");
    // Without it (webpki roots only): a transport error, nothing sent.
    let stranger = Client::builder(&https)
        .unwrap()
        .bearer(TOKEN)
        .build()
        .unwrap();
    let e = stranger
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_writes_back_only_the_version_read() {
    let server = Running::start();
    let client = server.client();
    let g: Group = client.create("/Groups", &Group::new("Ops")).await.unwrap();
    let gid = g.id.unwrap();
    let mut first = client
        .get_with::<Group>("/Groups", &gid, &RequestOptions::new())
        .await
        .unwrap();
    let mut second = first.clone();
    first.resource.display_name = "Ops 1".into();
    client.update(&first).await.unwrap();
    second.resource.display_name = "Ops 2".into();
    let e = client.update(&second).await.unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed(_)), "{e:?}");
    let now: Group = client.get("/Groups", &gid).await.unwrap();
    assert_eq!(now.display_name, "Ops 1");
}
