//! Filters on what the server computes at read time (a User's `groups`), and schema URNs
//! foreign to the resource type, through the engine on the store under test.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::Store;

use super::{engine_group_members, engine_over, engine_with, group, post_user, send, user};

/// `GET {path}?filter=…` through the engine: the status, and the `userName`s (or
/// `displayName`s) listed when it is 200.
fn list_names<S: Store>(
    e: &crate::Engine<S>,
    path: &str,
    filter: &str,
) -> (u16, Value, BTreeSet<String>) {
    let req = crate::Request::new(crate::Method::Get, path).with_query("filter", filter);
    let (status, body) = send(e, req);
    let names: BTreeSet<String> = body["Resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.get("userName").or_else(|| r.get("displayName")))
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if status == 200 {
        assert_eq!(body["totalResults"], json!(names.len()), "{filter}: {body}");
    }
    (status, body, names)
}

/// Through the engine, filters on attributes computed at read time: a User's `groups` is
/// answered as `GET` shows it (through the groups' members); a Group's `members.display`,
/// `groups.$ref`, `meta.location` and `meta.version` are refused with 400 `invalidFilter`
/// naming the attribute, in a list filter and in a PATCH value filter — never an empty
/// answer or a PATCH that silently removes nothing.
pub(super) fn engine_read_time_filters<S: Store>(store: S) {
    use crate::{Method, Request};
    let e = engine_over(store);
    let mut ids = std::collections::HashMap::new();
    for name in ["rt-alice", "rt-bob", "rt-carol"] {
        let (status, body) = post_user(&e, user(name));
        assert_eq!(status, 201, "{body}");
        ids.insert(name, body["id"].as_str().expect("id").to_owned());
    }
    let post_group = |name: &str, members: &[&str]| {
        let members: Vec<&str> = members.iter().map(|m| ids[m].as_str()).collect();
        let (status, body) = send(
            &e,
            Request::new(Method::Post, "/Groups").with_json(&group(name, &members)),
        );
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    };
    let admins = post_group("Admins", &["rt-alice", "rt-bob"]);
    let ops = post_group("Ops", &["rt-bob"]);
    let set = |names: &[&str]| {
        names
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<BTreeSet<String>>()
    };
    for (filter, expected) in [
        (
            format!(r#"groups.value eq "{admins}""#),
            set(&["rt-alice", "rt-bob"]),
        ),
        (format!(r#"groups eq "{ops}""#), set(&["rt-bob"])),
        (format!(r#"groups.value ne "{admins}""#), set(&["rt-bob"])),
        (
            format!(r#"not (groups.value eq "{admins}")"#),
            set(&["rt-carol"]),
        ),
        ("groups pr".to_owned(), set(&["rt-alice", "rt-bob"])),
        ("groups.value pr".to_owned(), set(&["rt-alice", "rt-bob"])),
        ("not (groups pr)".to_owned(), set(&["rt-carol"])),
        ("groups eq null".to_owned(), set(&["rt-carol"])),
        (r#"groups.display eq "ops""#.to_owned(), set(&["rt-bob"])),
        (
            r#"groups.display co "MIN""#.to_owned(),
            set(&["rt-alice", "rt-bob"]),
        ),
        (r#"groups.display ne "Admins""#.to_owned(), set(&["rt-bob"])),
        (
            r#"groups.type eq "direct""#.to_owned(),
            set(&["rt-alice", "rt-bob"]),
        ),
        (r#"groups.type eq "indirect""#.to_owned(), set(&[])),
        (
            format!(r#"groups[value eq "{admins}" and display eq "Ops"]"#),
            set(&[]),
        ),
        (
            format!(r#"groups[value eq "{ops}" or display eq "nope"]"#),
            set(&["rt-bob"]),
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:groups.display sw "adm""#.to_owned(),
            set(&["rt-alice", "rt-bob"]),
        ),
        (
            r#"userName sw "rt-" and (groups.display eq "Ops" or userName eq "rt-carol")"#
                .to_owned(),
            set(&["rt-bob", "rt-carol"]),
        ),
    ] {
        let (status, body, names) = list_names(&e, "/Users", &filter);
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(names, expected, "{filter}");
    }
    // What `GET` shows agrees with the filter.
    let (_, body) = send(
        &e,
        Request::new(Method::Get, format!("/Users/{}", ids["rt-bob"])),
    );
    let shown: BTreeSet<&str> = body["groups"]
        .as_array()
        .map(|g| g.iter().filter_map(|x| x["value"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        shown,
        [admins.as_str(), ops.as_str()].into_iter().collect(),
        "{body}"
    );
    // Refused, naming the attribute.
    for (path, filter, attr) in [
        ("/Users", r#"groups.$ref co "Groups""#, "groups.$ref"),
        ("/Users", r#"groups[$ref pr]"#, "groups.$ref"),
        (
            "/Groups",
            r#"members.display eq "rt-alice""#,
            "members.display",
        ),
        (
            "/Groups",
            r#"members[display eq "rt-alice"]"#,
            "members.display",
        ),
        (
            "/Groups",
            r#"members[value pr and not (display pr)]"#,
            "members.display",
        ),
        ("/Groups", r#"members.$ref co "/Users/""#, "members.$ref"),
        ("/Users", r#"meta.location co "/Users/""#, "meta.location"),
        ("/Groups", r#"meta.version eq "W/\"1\"""#, "meta.version"),
    ] {
        let (status, body, _) = list_names(&e, path, filter);
        assert_eq!(status, 400, "{filter}: {body}");
        assert_eq!(body["scimType"], "invalidFilter", "{filter}");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains(attr)),
            "{filter}: {body}"
        );
    }
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members[display eq \"rt-alice\"]"}]});
    let (status, body) = send(
        &e,
        Request::new(Method::Patch, format!("/Groups/{admins}")).with_json(&patch),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidFilter");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("members.display")),
        "{body}"
    );
    assert_eq!(
        engine_group_members(&e, &admins).len(),
        2,
        "nothing removed"
    );
}

/// Through the engine: an attribute qualified by a schema the resource type does not have
/// (`urn:…:core:2.0:Group:userName` on /Users) names nothing — no match with lenient
/// filters, 400 `invalidFilter` without (the default, strict RFC).
pub(super) fn engine_foreign_schema_urns<S: Store>(strict_store: S, lenient_store: S) {
    let strict = engine_with(strict_store, false);
    let lenient = engine_with(lenient_store, true);
    for e in [&strict, &lenient] {
        let (status, body) = post_user(e, user("fu-alice"));
        assert_eq!(status, 201, "{body}");
    }
    let group_urn = "urn:ietf:params:scim:schemas:core:2.0:Group";
    for filter in [
        format!(r#"{group_urn}:userName eq "fu-alice""#),
        format!("{group_urn}:userName pr"),
        format!(r#"userName eq "fu-alice" and not ({group_urn}:displayName eq "x")"#),
    ] {
        let (status, body, _) = list_names(&strict, "/Users", &filter);
        assert_eq!(
            (status, &body["scimType"]),
            (400, &json!("invalidFilter")),
            "{filter}: {body}"
        );
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains(group_urn)),
            "{body}"
        );
    }
    for (filter, expected) in [
        (format!(r#"{group_urn}:userName eq "fu-alice""#), 0),
        (format!("{group_urn}:userName pr"), 0),
        (
            format!(r#"userName eq "fu-alice" and not ({group_urn}:displayName eq "x")"#),
            1,
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "fu-alice""#.to_owned(),
            1,
        ),
    ] {
        let (status, body, names) = list_names(&lenient, "/Users", &filter);
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(names.len(), expected, "{filter}: {body}");
    }
    let (status, body, names) = list_names(
        &strict,
        "/Users",
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "fu-alice""#,
    );
    assert_eq!((status, names.len()), (200, 1), "{body}");
}
