//! Writes that check their references exist, inside the write; references to members found
//! by value.

use std::collections::BTreeSet;

use scim_schema::Registry;
use serde_json::{json, Value};

use crate::{
    block_on, ElementChange, Query, Reference, ReferenceCheck, Referrer, Store, StoreError,
};

use super::{compile, everything, group, member_values, stored, user, GROUP, T, USER};

fn members_check(values: &[&str]) -> Option<ReferenceCheck> {
    Some(ReferenceCheck::new(
        "members",
        [USER, GROUP],
        values.iter().copied(),
    ))
}

fn missing(value: &str) -> StoreError {
    StoreError::MissingReference {
        attribute: "members".into(),
        value: value.into(),
        targets: vec![USER.into(), GROUP.into()],
    }
}

/// A store that [keeps references](Store::keeps_references) refuses, inside the write, a
/// member whose resource does not exist, and writes nothing: `create_checked`,
/// `replace_checked` and (with out-of-line members) `patch_elements_checked`.
pub(super) fn checked_writes<S: Store>(s: &S) {
    if !s.keeps_references() {
        return;
    }
    let u = block_on(s.create(T, USER, user("w1"), vec![]))
        .expect("user")
        .id;
    let g = block_on(s.create(T, GROUP, group("w", &[]), vec![]))
        .expect("group")
        .id;
    let groups = || {
        block_on(s.query(T, GROUP, everything()))
            .expect("query")
            .resources
            .len()
    };
    let before = groups();
    assert_eq!(
        block_on(s.create_checked(
            T,
            GROUP,
            group("bad", &[&u, "nope"]),
            vec![],
            members_check(&[&u, "nope"])
        )),
        Err(missing("nope")),
        "checked create: a missing member"
    );
    assert_eq!(groups(), before, "checked create: nothing written");
    let ok = block_on(s.create_checked(
        T,
        GROUP,
        group("good", &[&u, &g]),
        vec![],
        members_check(&[&u, &g]),
    ))
    .expect("checked create: users and groups exist");
    assert_eq!(
        member_values(&stored(s, T, GROUP, &ok.id).resource, "members"),
        [u.clone(), g.clone()]
    );
    block_on(s.create_checked(T, GROUP, group("unchecked", &["nope"]), vec![], None))
        .expect("no check: written as given");

    let mut replaced = group("w", &["nope"]);
    replaced["id"] = json!(g);
    assert_eq!(
        block_on(s.replace_checked(
            T,
            GROUP,
            &g,
            1,
            replaced.clone(),
            vec![],
            members_check(&["nope"])
        )),
        Err(missing("nope")),
        "checked replace: a missing member"
    );
    assert_eq!(
        stored(s, T, GROUP, &g).version,
        1,
        "checked replace: nothing written"
    );
    assert_eq!(
        block_on(s.replace_checked(T, GROUP, &g, 9, replaced, vec![], members_check(&["nope"]))),
        Err(StoreError::VersionMismatch),
        "checked replace: the version first"
    );

    let Some(attr) = s.out_of_line(GROUP).map(str::to_owned) else {
        return;
    };
    let head = block_on(s.get_head(T, GROUP, &ok.id))
        .expect("head")
        .expect("present");
    let add = |value: &str| {
        let mut change = ElementChange::new(attr.clone());
        change.added = vec![json!({"value": value})];
        block_on(s.patch_elements_checked(
            T,
            GROUP,
            &ok.id,
            head.version,
            head.resource.clone(),
            false,
            change,
            vec![],
            members_check(&[value]),
        ))
    };
    assert_eq!(
        add("nope"),
        Err(missing("nope")),
        "checked patch: a missing member"
    );
    let now = stored(s, T, GROUP, &ok.id);
    assert_eq!(
        (now.version, member_values(&now.resource, &attr)),
        (1, vec![u.clone(), g.clone()]),
        "checked patch: nothing written"
    );
    let extra = block_on(s.create(T, USER, user("w2"), vec![]))
        .expect("user")
        .id;
    let done = add(&extra).expect("checked patch: an existing member");
    assert!(done.changed && done.version == 2);
}

/// [`Store::references_to`] and [`Store::get_with_references`], where a store answers them
/// (`Some`): exactly the groups whose `members` hold each target, matched as
/// `members.value eq` would (case-insensitively), each group once per target, with its
/// `displayName`; other tenants' groups are not seen. The answer agrees with the query the
/// engine would make instead.
pub(super) fn references_to_members<S: Store>(s: &S) {
    let create = |tenant: &str, rt: &str, body: Value| {
        block_on(s.create(tenant, rt, body, vec![]))
            .expect("create")
            .id
    };
    let u1 = create(T, USER, user("ref-u1"));
    let u2 = create(T, USER, user("ref-u2"));
    let lonely = create(T, USER, user("ref-lonely"));
    let g1 = create(T, GROUP, group("G1", &[&u1, &u2, &u1.to_uppercase()]));
    let g2 = create(T, GROUP, group("G2", &[&u1]));
    let nested = create(T, GROUP, group("Nested", &[&g2]));
    create("kit-other", GROUP, group("Elsewhere", &[&u1]));
    let referrer = Referrer::new(GROUP, "members");
    let pairs = |found: Vec<Reference>| -> BTreeSet<(String, String, Option<String>)> {
        let n = found.len();
        let set: BTreeSet<_> = found
            .into_iter()
            .map(|r| (r.referrer, r.target, r.display.map(|d| d.to_string())))
            .collect();
        assert_eq!(set.len(), n, "a reference repeated");
        set
    };
    let Some(found) =
        block_on(s.references_to(T, &referrer, &[&u1, &u2, &lonely, &g2])).expect("references")
    else {
        return;
    };
    let named =
        |g: &str, t: &str, name: &str| (g.to_owned(), t.to_owned(), Some(json!(name).to_string()));
    let expected: BTreeSet<_> = [
        named(&g1, &u1, "G1"),
        named(&g2, &u1, "G2"),
        named(&g1, &u2, "G1"),
        named(&nested, &g2, "Nested"),
    ]
    .into_iter()
    .collect();
    assert_eq!(pairs(found), expected, "references_to");
    // The same as the filter the engine would run.
    let registry = Registry::standard();
    let compiled = compile(&format!("members.value eq \"{u2}\""), &registry, GROUP);
    let queried = block_on(s.query(
        T,
        GROUP,
        Query {
            filter: Some(&compiled),
            ..everything()
        },
    ))
    .expect("query");
    let by_query: BTreeSet<String> = queried
        .resources
        .iter()
        .filter(|r| compiled.matches(&r.resource))
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(by_query, BTreeSet::from([g1.clone()]));
    let (user, refs) = block_on(s.get_with_references(T, USER, &u2, &referrer))
        .expect("get")
        .expect("u2 exists");
    assert_eq!(user.id, u2);
    assert_eq!(
        pairs(refs.expect("the store answered references_to")),
        BTreeSet::from([named(&g1, &u2, "G1")])
    );
    assert!(
        block_on(s.get_with_references(T, USER, "nobody", &referrer))
            .expect("get")
            .is_none()
    );
    let (_, none) = block_on(s.get_with_references(T, USER, &lonely, &referrer))
        .expect("get")
        .expect("exists");
    assert_eq!(none, Some(Vec::new()));
}
