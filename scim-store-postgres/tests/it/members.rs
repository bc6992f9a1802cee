//! A group of 100,000 members: a membership change writes one member row and the group's
//! head, whatever the group's size (counted in the database, not timed).

use scim_core::{block_on, ElementChange, Store};
use scim_test_support::postgres::TestSchema;
use serde_json::{json, Value};

use super::store_in;

const N: usize = 100_000;

#[test]
fn a_membership_patch_of_a_100000_member_group_writes_one_row() {
    let Some(schema) = TestSchema::new("members_100k") else {
        return;
    };
    let store = store_in(&schema);
    let members: Vec<Value> = (0..N).map(|i| json!({"value": format!("u{i}")})).collect();
    let group = block_on(store.create(
        "t",
        "Group",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "everyone", "members": members}),
        vec![],
    ))
    .unwrap();
    let id = group.id;
    let count = |sql: &str| -> u64 {
        schema
            .scalar(&sql.replace("{id}", &id))
            .expect("a row")
            .parse()
            .unwrap()
    };
    // The rows the last write to the group wrote: those with the transaction id of the
    // group's row (`xmin`).
    let written = |table: &str, owner: &str| {
        count(&format!(
            "SELECT count(*) FROM {table} WHERE xmin = \
             (SELECT xmin FROM resources WHERE id = '{{id}}') AND {owner} = '{{id}}'"
        ))
    };
    assert_eq!(
        written("members", "owner_id"),
        N as u64,
        "created in one write"
    );

    let head = block_on(store.get_head("t", "Group", &id))
        .unwrap()
        .unwrap();
    assert!(head.resource.get("members").is_none());
    let mut add = ElementChange::new("members");
    add.added = vec![json!({"value": "newcomer"})];
    let done = block_on(store.patch_elements(
        "t",
        "Group",
        &id,
        head.version,
        head.resource.clone(),
        false,
        add,
        vec![],
    ))
    .unwrap();
    assert!(done.changed && done.version == 2);
    assert_eq!(written("members", "owner_id"), 1, "one member row written");
    assert_eq!(
        written("attr_index", "id"),
        0,
        "the head's index keys unchanged"
    );
    assert_eq!(
        count("SELECT count(*) FROM members WHERE owner_id = '{id}'"),
        N as u64 + 1
    );

    let mut remove = ElementChange::new("members");
    remove.removed = vec!["U17".into()];
    let done =
        block_on(store.patch_elements("t", "Group", &id, 2, head.resource, false, remove, vec![]))
            .unwrap();
    assert!(done.changed && done.version == 3);
    assert_eq!(written("members", "owner_id"), 0, "no member row rewritten");
    assert_eq!(
        count("SELECT count(*) FROM members WHERE owner_id = '{id}'"),
        N as u64,
        "one member row deleted"
    );
    assert_eq!(
        count("SELECT count(*) FROM members WHERE owner_id = '{id}' AND value_key = 'u17'"),
        0
    );
    let got = block_on(store.get("t", "Group", &id)).unwrap().unwrap();
    let values = got.resource["members"].as_array().unwrap();
    assert_eq!(values.len(), N);
    assert_eq!(values[0]["value"], "u0");
    assert_eq!(values[N - 1]["value"], "newcomer");
}
