//! The row of an edited document ([`ResourceEdit`]): read from its text, the edited
//! attribute's elements copied and probed, not built.

use scim_core::{ResourceEdit, StoreError};
use scim_filter::Instant;
use serde_json::Value;

use crate::probe::{ArrayProbe, Capture};
use crate::text::DocText;
use crate::{
    capped_keys, get_ci, instant_key, meta_time, text_values_ci, Capped, Hidden, Row, INDEXED,
};

impl Row {
    /// The row for the document of `edit` ([`Store::replace_edited`]) with id `id`, as
    /// [`Row::of_capped`] gives it for that document (with nothing kept out of line), read
    /// without building the edited attribute's elements: its array's text is copied to the
    /// document and to the search form, and one pass over it finds what an index reads.
    /// `None` when that cannot be done (keys with upper case or colliding by case in the
    /// array, a hidden attribute the row reads, an edit whose parts do not give its text):
    /// then the document is parsed and [`Row::of_capped`] applies.
    ///
    /// [`Store::replace_edited`]: scim_core::Store::replace_edited
    ///
    /// ```
    /// use scim_core::ResourceEdit;
    /// use scim_store_layout::Row;
    /// let user = serde_json::json!({"emails": [{"value": "A@x"}, {"value": "b@x"}],
    ///     "meta": {"created": "2024-01-01T00:00:00Z"}, "userName": "u"});
    /// let text = serde_json::to_string(&user)?;
    /// let mut head = user.as_object().cloned().unwrap_or_default();
    /// head.remove("emails");
    /// let range = text.find('[').ok_or("an array")?..text.find(']').ok_or("an array")? + 1;
    /// let edit = ResourceEdit { text, attribute: "emails".into(), elements: vec![], head, range };
    /// let (row, over) = Row::of_edit(&edit, "1", &[], 10)?.ok_or("read from the text")?;
    /// let (whole, whole_over) = Row::of_capped(&user, "1", None, &[], 10)?;
    /// assert_eq!((row.resource, row.search, row.keys), (whole.resource, whole.search, whole.keys));
    /// assert_eq!((row.time_keys, over), (whole.time_keys, whole_over));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of_edit(
        edit: &ResourceEdit,
        id: &str,
        hidden: &[Hidden],
        cap: usize,
    ) -> Result<Option<(Row, Vec<Capped>)>, StoreError> {
        let attribute = edit.attribute.to_ascii_lowercase();
        let reads_hidden = hidden.iter().any(|h| {
            h.urn.is_none()
                && (h.name == "id"
                    || h.name == "meta"
                    || h.name == attribute
                    || INDEXED.iter().any(|(name, _, _)| *name == h.name))
        });
        let Some(array) = edit.text.get(edit.range.clone()).filter(|_| !reads_hidden) else {
            return Ok(None);
        };
        let capture = match INDEXED.iter().find(|(name, _, _)| *name == attribute) {
            None => Capture::Nothing,
            Some((_, None, _)) => Capture::Plain,
            Some((_, Some(sub), _)) => Capture::Sub(sub),
        };
        let Some(probe) = ArrayProbe::of(array, capture) else {
            return Ok(None);
        };
        let head = Value::Object(edit.head.clone());
        let Some(text) = DocText::of_edit(&head, &edit.attribute, array, probe.keys)? else {
            return Ok(None);
        };
        // The parts give exactly the text: the range and the head are the edit's.
        if text.text != edit.text {
            return Ok(None);
        }
        let (keys, over) = capped_keys(
            |name, sub| {
                if name == attribute {
                    probe.values.iter().map(AsRef::as_ref).collect()
                } else {
                    text_values_ci(&head, name, sub)
                }
            },
            get_ci(&edit.head, "id"),
            id,
            cap,
        );
        let time = |sub: &str| match text_values_ci(&head, "meta", Some(sub)).as_slice() {
            [] => Some(None),
            [one] => Instant::parse(one).map(|i| Some(instant_key(i))),
            _ => None,
        };
        let search = text.search(hidden)?;
        Ok(Some((
            Row {
                search,
                resource: text.text,
                keys,
                ambiguous: false,
                irregular: false,
                created: meta_time(&head, "created"),
                last_modified: meta_time(&head, "lastModified"),
                time_keys: [time("created"), time("lastmodified")],
                out_of_line: None,
            },
            over,
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::hidden_of;
    use proptest::prelude::*;
    use serde_json::{json, Map};

    /// The edit of `doc` that changes nothing, as the engine writes it.
    fn edit_of(doc: &Value, attribute: &str) -> Option<ResourceEdit> {
        let text = serde_json::to_string(doc).unwrap();
        let mut head = doc.as_object()?.clone();
        let array = head.remove(attribute)?;
        let array = serde_json::to_string(&array).unwrap();
        let key = serde_json::to_string(attribute).unwrap();
        // The array follows its key; keys are in order, so the first such place is it.
        let at = text.find(&format!("{key}:{array}"))? + key.len() + 1;
        Some(ResourceEdit {
            text,
            attribute: attribute.to_owned(),
            elements: Vec::new(),
            head,
            range: at..at + array.len(),
        })
    }

    /// Asserts that the row of the edit is the row of the document, and says whether the
    /// edit gave one.
    fn same_row(doc: &Value, attribute: &str, hidden: &[Hidden], cap: usize) -> bool {
        let Some(edit) = edit_of(doc, attribute) else {
            return false;
        };
        let Some((row, over)) = Row::of_edit(&edit, "1", hidden, cap).unwrap() else {
            return false;
        };
        let (whole, whole_over) = Row::of_capped(doc, "1", None, hidden, cap).unwrap();
        assert_eq!(row.resource, whole.resource);
        assert_eq!(row.search, whole.search);
        assert_eq!(row.keys, whole.keys);
        assert_eq!(over, whole_over);
        assert_eq!(
            (row.ambiguous, row.irregular),
            (whole.ambiguous, whole.irregular)
        );
        assert_eq!(
            (row.created, row.last_modified, row.time_keys),
            (whole.created, whole.last_modified, whole.time_keys)
        );
        assert!(row.out_of_line.is_none() && whole.out_of_line.is_none());
        true
    }

    fn user_hidden() -> Vec<Hidden> {
        let schema = scim_core::StoreSchema::of(&scim_schema::Registry::standard());
        hidden_of(&schema, "User")
    }

    #[test]
    fn an_edit_gives_the_row_of_its_document() {
        let doc = json!({"userName": "Bjensen", "displayName": "B", "id": "1",
            "emails": [{"value": "A@x", "type": "work", "primary": true}, "plain",
                {"value": ["n", "o"]}, {"display": "no value"}, {"value": "é\"\\u0001"}],
            "name": {"givenName": "B"},
            "meta": {"created": "2024-01-01T00:00:00Z", "lastModified": "2024-02-01T00:00:00Z"},
            "phoneNumbers": [{"value": "1", "type": "WORK"}]});
        for cap in [0, 1, 2, 100] {
            assert!(same_row(&doc, "emails", &[], cap));
            assert!(same_row(&doc, "emails", &user_hidden(), cap));
            assert!(same_row(&doc, "phoneNumbers", &[], cap));
        }
    }

    #[test]
    fn what_an_edit_cannot_read_from_its_text_is_left_to_the_document() {
        let upper = json!({"userName": "u", "emails": [{"Value": "a@x"}]});
        let collide = json!({"userName": "u", "emails": [{"value": "a", "VALUE": "b"}]});
        let head = json!({"userName": "u", "USERNAME": "v", "emails": [{"value": "a"}]});
        for doc in [&upper, &collide, &head] {
            assert!(!same_row(doc, "emails", &[], 10), "{doc}");
        }
        // An edit whose parts do not give its text.
        let doc = json!({"userName": "u", "emails": [{"value": "a"}]});
        let mut edit = edit_of(&doc, "emails").unwrap();
        edit.head.insert("userName".into(), json!("v"));
        assert!(Row::of_edit(&edit, "1", &[], 10).unwrap().is_none());
        let mut edit = edit_of(&doc, "emails").unwrap();
        edit.range.start += 1;
        assert!(Row::of_edit(&edit, "1", &[], 10).unwrap().is_none());
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("value".to_owned()),
            Just("type".to_owned()),
            Just("primary".to_owned()),
            Just("display".to_owned()),
            Just("Value".to_owned()),
            Just("$ref".to_owned()),
        ]
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[a-zA-Z@.\u{e9}\"\\\\ ]{0,6}".prop_map(Value::String),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            Just(Value::Null),
            Just(json!("2024-01-01T00:00:00Z")),
        ]
    }

    fn element() -> impl Strategy<Value = Value> {
        let leaf = scalar();
        let nested = prop_oneof![
            scalar(),
            prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(key(), scalar(), 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ];
        prop_oneof![
            1 => leaf,
            4 => prop::collection::btree_map(key(), nested, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    }

    fn document() -> impl Strategy<Value = (Value, &'static str)> {
        let attribute = prop_oneof![Just("emails"), Just("phoneNumbers"), Just("userName")];
        (
            attribute,
            prop::collection::vec(element(), 0..8),
            proptest::option::of("[a-zA-Z]{0,4}"),
            proptest::option::of(scalar()),
            any::<bool>(),
        )
            .prop_map(|(attribute, elements, user_name, created, name)| {
                let mut m = Map::new();
                if let Some(u) = user_name {
                    m.insert("userName".into(), json!(u));
                }
                if let Some(c) = created {
                    m.insert(
                        "meta".into(),
                        json!({"created": c, "lastModified": "2024-02-01T00:00:00Z"}),
                    );
                }
                if name {
                    m.insert("name".into(), json!({"givenName": "B", "familyName": "J"}));
                    m.insert("password".into(), json!("secret"));
                }
                m.insert("displayName".into(), json!("D"));
                m.insert(attribute.to_owned(), Value::Array(elements));
                (Value::Object(m), attribute)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whenever an edit gives a row, it is the row of its document; and it gives one
        /// whenever the array's objects have lower-case keys that do not collide.
        #[test]
        fn an_edit_gives_the_row_of_its_document_or_none(
            (doc, attribute) in document(),
            cap in 0usize..6,
            hide in any::<bool>(),
        ) {
            let hidden = if hide { user_hidden() } else { Vec::new() };
            let gave = same_row(&doc, attribute, &hidden, cap);
            let text = serde_json::to_string(&doc[attribute]).unwrap();
            let lower = !text.contains("\"Value\"");
            prop_assert!(gave || !lower, "no row for {doc}");
        }
    }
}
