//! An edit ([`Store::replace_edited`]: a PATCH of some of a user's many emails) writes the
//! row that replacing the user with its whole document writes: the document as text, its
//! search forms, the flags and times, and the index keys.

use scim_core::{block_on, ResourceEdit, Store};
use scim_test_support::postgres::TestSchema;
use serde_json::{json, Value};

use super::store_in;

fn user(n: usize, moved: &str) -> Value {
    let emails: Vec<Value> = (0..n)
        .map(|i| {
            let value = if i == 2 {
                moved.to_owned()
            } else {
                format!("u{i}@Example.com")
            };
            json!({"value": value, "type": "work", "primary": i == 0})
        })
        .collect();
    json!({"userName": "bjensen", "displayName": "Babs Jensen", "emails": emails,
        "name": {"givenName": "Babs"},
        "meta": {"created": "2024-01-01T00:00:00Z", "lastModified": "2024-03-01T00:00:00Z"}})
}

/// The edit that writes `after`, whose `emails` element 2 changed.
fn edit_to(after: &Value) -> ResourceEdit {
    let text = serde_json::to_string(after).unwrap();
    let mut head = after.as_object().unwrap().clone();
    let array = serde_json::to_string(&head.remove("emails").unwrap()).unwrap();
    let start = text.find(&array).unwrap();
    ResourceEdit {
        text,
        attribute: "emails".to_owned(),
        elements: vec![(2, after["emails"][2].clone())],
        head,
        range: start..start + array.len(),
    }
}

#[test]
fn an_edit_writes_what_replacing_the_whole_document_writes() {
    let Some(schema) = TestSchema::new("edits_rows") else {
        return;
    };
    let store = store_in(&schema);
    for n in [5, 300] {
        let before = user(n, "first@example.org");
        let after = user(n, "Moved@Example.org");
        let [edited, whole] = [0, 1].map(|_| {
            block_on(store.create("t", "User", before.clone(), vec![]))
                .unwrap()
                .id
        });
        let answer =
            block_on(store.replace_edited("t", "User", &edited, 1, edit_to(&after), vec![]))
                .unwrap();
        assert_eq!(answer.version, 2);
        assert_eq!(
            answer.text.as_deref(),
            Some(serde_json::to_string(&after).unwrap().as_str())
        );
        block_on(store.replace("t", "User", &whole, 1, after.clone(), vec![])).unwrap();
        let written = |id: &str| {
            let row = schema.scalar(&format!(
                "SELECT resource::text || ' ' || (to_jsonb(r) - 'id' - 'resource')::text \
                 FROM resources r WHERE id = '{id}'"
            ));
            let keys = schema.scalar(&format!(
                "SELECT string_agg(attr || '=' || key, ',' ORDER BY attr, key) \
                 FROM attr_index WHERE id = '{id}'"
            ));
            (row, keys)
        };
        let (row, keys) = written(&edited);
        assert!(row
            .as_deref()
            .is_some_and(|r| r.contains("moved@example.org")));
        assert!(keys
            .as_deref()
            .is_some_and(|k| k.contains("emails.value=moved@example.org")));
        assert_eq!((row, keys), written(&whole), "{n} emails");
        let got = block_on(store.get("t", "User", &edited)).unwrap().unwrap();
        assert_eq!(got.resource, after);
    }
}
