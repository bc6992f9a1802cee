//! The document and its search form as text, for a document whose objects have no two keys
//! differing only in case: the document serialised once, one top-level attribute at a
//! time, and the search form put together from those pieces. An attribute whose objects
//! all have lower-case keys (25,000 emails: `value`, `type`, `primary`) reads the same in
//! both, so its text is copied, not serialised again.

use std::cell::Cell;
use std::ops::Range;

use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::{Map, Value};

use super::{lower_keys, search_doc, strip_hidden, unavailable, Hidden};
use scim_core::StoreError;

/// A document serialised for storage, with where each top-level attribute's value lies.
pub(crate) struct DocText<'a> {
    /// The document.
    doc: &'a Value,
    /// Exactly `serde_json::to_string` of the document.
    pub(crate) text: String,
    /// The top-level attributes, in the document's order.
    parts: Vec<Part<'a>>,
}

/// One top-level attribute of a [`DocText`].
struct Part<'a> {
    key: &'a str,
    /// The value, unless its text was copied from an edit ([`DocText::of_edit`]).
    value: Option<&'a Value>,
    /// Its value's bytes in [`DocText::text`].
    range: Range<usize>,
    /// Whether every object key in the value is free of ASCII upper case: then its search
    /// form is the same text.
    lower: bool,
}

/// What serialising a value saw of its object keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Keys {
    /// Some key has an ASCII upper-case letter.
    pub(crate) upper: bool,
    /// Some object has two keys that differ only in ASCII case.
    pub(crate) collide: bool,
}

impl Keys {
    pub(crate) fn merge(self, other: Keys) -> Keys {
        Keys {
            upper: self.upper || other.upper,
            collide: self.collide || other.collide,
        }
    }
}

/// The keys of one object: upper case in them, and a collision among them.
fn object_keys(m: &Map<String, Value>) -> Keys {
    if !m.keys().any(|k| k.bytes().any(|b| b.is_ascii_uppercase())) {
        return Keys::default();
    }
    let mut lowered: Vec<String> = m.keys().map(|k| k.to_ascii_lowercase()).collect();
    lowered.sort_unstable();
    Keys {
        upper: true,
        collide: lowered.windows(2).any(|w| w[0] == w[1]),
    }
}

/// Serialises like the value itself, noting in passing what [`Keys`] its objects have: the
/// walk that writes the text is the walk that checks the keys.
struct Probed<'v, 'c>(&'v Value, &'c Cell<Keys>);

impl serde::Serialize for Probed<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => {
                self.1.set(self.1.get().merge(object_keys(m)));
                let mut out = serializer.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    out.serialize_entry(k, &Probed(v, self.1))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Probed(item, self.1))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

impl<'a> DocText<'a> {
    /// The document's text, or `None` when some object of it has two keys differing only
    /// in case (its search form would be [ambiguous](search_doc)).
    pub(crate) fn of(resource: &'a Value) -> Result<Option<DocText<'a>>, StoreError> {
        let Value::Object(m) = resource else {
            let text = serde_json::to_string(resource).map_err(unavailable)?;
            return Ok(Some(DocText {
                doc: resource,
                text,
                parts: Vec::new(),
            }));
        };
        if object_keys(m).collide {
            return Ok(None);
        }
        let members = m.iter().map(|(k, v)| (k.as_str(), Some(v))).collect();
        DocText::of_members(resource, members, "")
    }

    /// The text of a document whose top-level members other than `key` are `head`'s and
    /// whose `key` holds the JSON array `array` (with no upper-case keys in its objects:
    /// `keys` says what [`ArrayProbe`](crate::probe::ArrayProbe) found of it), the array's
    /// text copied; `None` when a key of `head` collides by case, `array`'s keys have upper
    /// case or collide, or `head` holds `key`.
    pub(crate) fn of_edit(
        head: &'a Value,
        key: &'a str,
        array: &str,
        keys: Keys,
    ) -> Result<Option<DocText<'a>>, StoreError> {
        let Value::Object(m) = head else {
            return Ok(None);
        };
        if keys.upper || keys.collide || m.contains_key(key) || object_keys(m).collide {
            return Ok(None);
        }
        // The members in order, as a map with `key` among them writes them.
        let mut members: Vec<(&'a str, Option<&'a Value>)> =
            m.iter().map(|(k, v)| (k.as_str(), Some(v))).collect();
        let at = members.partition_point(|(k, _)| *k < key);
        members.insert(at, (key, None));
        DocText::of_members(head, members, array)
    }

    /// The text of `doc`, whose members are `members` in order: each value serialised (its
    /// keys noted), or `array` copied for the one without a value (checked by the caller to
    /// have lower-case keys); `None` when a value's keys collide by case.
    fn of_members(
        doc: &'a Value,
        members: Vec<(&'a str, Option<&'a Value>)>,
        array: &str,
    ) -> Result<Option<DocText<'a>>, StoreError> {
        let mut buf = Vec::with_capacity(array.len() + 1024);
        let mut parts = Vec::with_capacity(members.len());
        buf.push(b'{');
        for (k, v) in members {
            if !parts.is_empty() {
                buf.push(b',');
            }
            serde_json::to_writer(&mut buf, k).map_err(unavailable)?;
            buf.push(b':');
            let start = buf.len();
            let lower = match v {
                Some(v) => {
                    let seen = Cell::new(Keys::default());
                    serde_json::to_writer(&mut buf, &Probed(v, &seen)).map_err(unavailable)?;
                    if seen.get().collide {
                        return Ok(None);
                    }
                    !seen.get().upper
                }
                None => {
                    buf.extend_from_slice(array.as_bytes());
                    true
                }
            };
            parts.push(Part {
                key: k,
                value: v,
                range: start..buf.len(),
                lower,
            });
        }
        buf.push(b'}');
        let text = String::from_utf8(buf).map_err(unavailable)?;
        Ok(Some(DocText { doc, text, parts }))
    }

    /// The search form of the document as text: [`search_doc`] with the `hidden` attributes
    /// stripped, serialised. Only the top-level attributes a hidden one is in (a password,
    /// not 25,000 emails) are built as values; an attribute with lower-case keys throughout
    /// is copied from the document's text.
    pub(crate) fn search(&self, hidden: &[Hidden]) -> Result<String, StoreError> {
        if !self.doc.is_object() {
            let (mut search, _) = search_doc(self.doc);
            strip_hidden(&mut search, hidden);
            return serde_json::to_string(&search).map_err(unavailable);
        }
        let touched = |key: &str| {
            hidden.iter().any(|h| match &h.urn {
                Some(urn) => urn.as_str() == key,
                None => h.name == key,
            })
        };
        // In the order of the lower-cased keys, as the search document's map has them.
        let mut entries: Vec<(String, &Part<'_>)> = self
            .parts
            .iter()
            .map(|p| (p.key.to_ascii_lowercase(), p))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut buf = Vec::with_capacity(self.text.len());
        buf.push(b'{');
        let mut first = true;
        for (key, part) in entries {
            let built = if touched(&key) {
                // That attribute alone, the old way; nothing of it may be left.
                let value = part
                    .value
                    .ok_or_else(|| unavailable("an edited attribute is hidden"))?;
                let mut one = Map::new();
                one.insert(key.clone(), lower_keys(value, &mut false));
                let mut one = Value::Object(one);
                strip_hidden(&mut one, hidden);
                match one.as_object_mut().and_then(|o| o.remove(&key)) {
                    Some(kept) => Some(kept),
                    None => continue,
                }
            } else {
                None
            };
            if !first {
                buf.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut buf, &key).map_err(unavailable)?;
            buf.push(b':');
            match built {
                Some(v) => serde_json::to_writer(&mut buf, &v).map_err(unavailable)?,
                None if part.lower => {
                    buf.extend_from_slice(&self.text.as_bytes()[part.range.clone()])
                }
                None => {
                    let value = part
                        .value
                        .ok_or_else(|| unavailable("an edited attribute has upper-case keys"))?;
                    serde_json::to_writer(&mut buf, &Lowered(value)).map_err(unavailable)?
                }
            }
        }
        buf.push(b'}');
        String::from_utf8(buf).map_err(unavailable)
    }
}

/// Serialises a document as its search form (object keys ASCII-lower-cased, objects in the
/// order of their lower-cased keys, as a [`Map`] of them would be) without building it.
/// For a document without keys duplicated by case.
struct Lowered<'a>(&'a Value);

impl serde::Serialize for Lowered<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => {
                let mut out = serializer.serialize_map(Some(m.len()))?;
                if m.keys().any(|k| k.bytes().any(|b| b.is_ascii_uppercase())) {
                    let mut entries: Vec<(String, &Value)> =
                        m.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                    for (k, v) in entries {
                        out.serialize_entry(&k, &Lowered(v))?;
                    }
                } else {
                    for (k, v) in m {
                        out.serialize_entry(k, &Lowered(v))?;
                    }
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Lowered(item))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn the_text_is_the_documents_and_lower_case_parts_are_copied() {
        let user = json!({"userName": "U", "emails": [{"value": "a@x", "type": "work"}],
            "name": {"givenName": "B"}, "x": [1, "two", null]});
        let doc = DocText::of(&user).unwrap().unwrap();
        assert_eq!(doc.text, serde_json::to_string(&user).unwrap());
        let lower: Vec<(&str, bool)> = doc.parts.iter().map(|p| (p.key, p.lower)).collect();
        assert_eq!(
            lower,
            vec![
                ("emails", true),
                ("name", false),
                ("userName", true),
                ("x", true)
            ]
        );
        for p in &doc.parts {
            assert_eq!(
                &doc.text[p.range.clone()],
                serde_json::to_string(&p.value).unwrap()
            );
        }
        let (search, _) = search_doc(&user);
        assert_eq!(
            doc.search(&[]).unwrap(),
            serde_json::to_string(&search).unwrap()
        );
    }

    #[test]
    fn keys_colliding_by_case_anywhere_give_no_text() {
        for odd in [
            json!({"userName": "a", "USERNAME": "b"}),
            json!({"name": {"givenName": "a", "givenname": "b"}}),
            json!({"emails": [{"value": "a"}, {"Value": "b", "VALUE": "c"}]}),
        ] {
            assert!(DocText::of(&odd).unwrap().is_none(), "{odd}");
        }
        assert!(DocText::of(&json!({"a": {"B": 1}, "b": {"b": 2}}))
            .unwrap()
            .is_some());
    }
}
