//! A resource's response written from the JSON text its store keeps
//! ([`StoredResource::text`](crate::StoredResource::text)): each top-level member the
//! response shows as it is is copied, not parsed and serialised again. Only `meta` (which
//! gets `location` and `version`) and members the projection trims are parsed. A user with
//! 25,000 emails is answered with one copy of their text instead of a walk of 75,000 JSON
//! values, and a small GET skips most of its serialisation.
//!
//! The text is exact: it is what serialising the projected resource writes, byte for byte
//! (a `serde_json::Map` writes its keys in order, and each member is projected on its own,
//! see [`Projection::shows_whole`]). Where that cannot be shown (keys out of order, no
//! `meta`, text that is not an object), [`render`] answers `None` and the engine builds the
//! response from the resource.

use std::borrow::Cow;
use std::fmt;

use scim_schema::Projection;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A key as the text spells it: borrowed unless it holds an escape.
pub(super) struct Key<'a>(pub(super) Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The top-level members of an object's text, in the order written, each value as text.
pub(super) struct Members<'a>(pub(super) Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Key(key)) = map.next_key()? {
                    let value: &'de RawValue = map.next_value()?;
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

/// Writes `key` and its value, after a comma unless it is the first member.
fn member(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    if out.len() > 1 {
        out.push(b',');
    }
    // Cannot fail: a string into a `Vec`.
    let _ = serde_json::to_writer(&mut *out, key);
    out.push(b':');
    out.extend_from_slice(value);
}

/// `{key: value}` projected, and the value that is left of it.
fn project_one(projection: &Projection<'_>, key: &str, value: Value) -> Option<Value> {
    let mut one = Map::new();
    one.insert(key.to_owned(), value);
    match projection.apply_owned(Value::Object(one)) {
        Value::Object(mut m) => m.remove(key),
        _ => None,
    }
}

/// What a response adds to `meta`: `location` and `version` set, `resourceType` when the
/// stored `meta` has none.
pub(crate) struct MetaFill<'a> {
    /// `meta.location`.
    pub(crate) location: &'a str,
    /// `meta.version`.
    pub(crate) version: &'a str,
    /// `meta.resourceType`, unless stored.
    pub(crate) resource_type: &'a str,
}

impl MetaFill<'_> {
    /// Fills `meta` as a `Map`.
    pub(crate) fn fill(&self, meta: &mut Map<String, Value>) {
        for (key, value) in [("location", self.location), ("version", self.version)] {
            match meta.get_mut(key) {
                Some(old) => *old = Value::String(value.to_owned()),
                None => {
                    meta.insert(key.to_owned(), Value::String(value.to_owned()));
                }
            }
        }
        if !meta.contains_key("resourceType") {
            meta.insert(
                "resourceType".into(),
                Value::String(self.resource_type.to_owned()),
            );
        }
    }

    /// `meta` filled, written from its text (its members in order, as a `Map` writes
    /// them): the members added go in their place among the stored ones.
    fn write(&self, meta: &RawValue, out: &mut Vec<u8>) -> Option<()> {
        let Members(stored) = serde_json::from_str(meta.get()).ok()?;
        if stored.windows(2).any(|w| w[0].0 >= w[1].0) {
            return None;
        }
        let has_type = stored.iter().any(|(k, _)| k == "resourceType");
        let mut added: Vec<(&str, &str)> = vec![("location", self.location)];
        if !has_type {
            added.push(("resourceType", self.resource_type));
        }
        added.push(("version", self.version));
        let start = out.len();
        out.push(b'{');
        let put = |out: &mut Vec<u8>, key: &str, value: Result<&str, &RawValue>| {
            if out.len() > start + 1 {
                out.push(b',');
            }
            let _ = serde_json::to_writer(&mut *out, key);
            out.push(b':');
            match value {
                Ok(text) => {
                    let _ = serde_json::to_writer(&mut *out, text);
                }
                Err(raw) => out.extend_from_slice(raw.get().as_bytes()),
            }
        };
        let mut added = added.into_iter().peekable();
        for (key, raw) in &stored {
            while let Some(&(k, v)) = added.peek() {
                if k > key.as_ref() {
                    break;
                }
                added.next();
                put(out, k, Ok(v));
            }
            // Set anew, not kept.
            if key == "location" || key == "version" {
                continue;
            }
            put(out, key, Err(raw));
        }
        for (k, v) in added {
            put(out, k, Ok(v));
        }
        out.push(b'}');
        Some(())
    }
}

/// The response body for the resource whose compact JSON text is `text`, under
/// `projection`, with `meta` completed as the engine completes a resource's
/// ([`MetaFill::fill`]); `None` when the text cannot be shown to give exactly what the
/// resource would. No hook may change the resource afterwards.
pub(crate) fn render(
    text: &str,
    projection: &Projection<'_>,
    meta_fill: &MetaFill<'_>,
) -> Option<Vec<u8>> {
    let Members(members) = serde_json::from_str(text).ok()?;
    // In order, no key twice: what a `Map` holds and writes.
    if members.windows(2).any(|w| w[0].0 >= w[1].0) {
        return None;
    }
    let mut has_meta = false;
    let mut out = Vec::with_capacity(text.len() + 128);
    out.push(b'{');
    for (key, raw) in &members {
        if key == "meta" {
            has_meta = true;
            match projection.shows_whole(key) {
                Some(true) => {
                    member(&mut out, key, b"");
                    meta_fill.write(raw, &mut out)?;
                }
                Some(false) => {}
                None => {
                    let Ok(Value::Object(mut meta)) = serde_json::from_str::<Value>(raw.get())
                    else {
                        return None;
                    };
                    meta_fill.fill(&mut meta);
                    if let Some(shown) = project_one(projection, key, Value::Object(meta)) {
                        member(&mut out, key, &serde_json::to_vec(&shown).ok()?);
                    }
                }
            }
            continue;
        }
        match projection.shows_whole(key) {
            Some(true) => member(&mut out, key, raw.get().as_bytes()),
            Some(false) => {}
            None => {
                let value: Value = serde_json::from_str(raw.get()).ok()?;
                if let Some(shown) = project_one(projection, key, value) {
                    member(&mut out, key, &serde_json::to_vec(&shown).ok()?);
                }
            }
        }
    }
    // No `meta` in the text: the engine adds one, in its place among the keys.
    if !has_meta {
        return None;
    }
    out.push(b'}');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use scim_schema::Registry;
    use serde_json::json;

    const FILL: MetaFill<'static> = MetaFill {
        location: "https://x/Users/1",
        version: "W/\"3\"",
        resource_type: "User",
    };

    /// What the engine writes from the resource: `meta` filled, then projected.
    fn from_value(resource: &Value, projection: &Projection<'_>) -> Vec<u8> {
        let mut resource = resource.clone();
        if let Some(Value::Object(meta)) = resource.get_mut("meta") {
            FILL.fill(meta);
        }
        serde_json::to_vec(&projection.apply_owned(resource)).unwrap()
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "1", "userName": "bjensen", "password": "{hash}", "displayName": "Babs \"B\" J",
            "emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "b@x"}],
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "nick\u{e9}\nname": 1.5e300,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                {"employeeNumber": "7", "manager": {"value": "2", "displayName": "Boss"}},
            "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z"}
        })
    }

    #[test]
    fn every_projection_gives_the_bytes_the_resource_gives() {
        let registry = Registry::standard();
        let users = registry.resource_type("User").unwrap();
        let resource = user();
        let text = serde_json::to_string(&resource).unwrap();
        let lists: [(Option<&str>, Option<&str>); 9] = [
            (None, None),
            (Some("userName"), None),
            (Some("emails.value,name.givenName"), None),
            (None, Some("emails")),
            (None, Some("emails.type,meta.version")),
            (Some("employeeNumber"), None),
            (
                None,
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            ),
            (Some("password,meta"), None),
            (Some("userName"), Some("userName,meta")),
        ];
        for (attributes, excluded) in lists {
            let p = Projection::parse(&users, attributes, excluded).unwrap();
            let written = render(&text, &p, &FILL).expect("rendered");
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(from_value(&resource, &p)).unwrap(),
                "attributes={attributes:?} excludedAttributes={excluded:?}"
            );
        }
    }

    /// Any JSON, a few levels deep, with keys that are attribute names (in any case) or
    /// not, escapes and all.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(key(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "value",
                "type",
                "primary",
                "display",
                "givenName",
                "familyName",
                "employeeNumber",
                "manager",
                "created",
                "version",
                "location",
            ])
            .prop_map(str::to_owned),
            "\\PC{0,4}",
        ]
    }

    const TOP: &[&str] = &[
        "schemas",
        "id",
        "externalId",
        "userName",
        "password",
        "displayName",
        "emails",
        "Emails",
        "name",
        "groups",
        "x509Certificates",
        "title",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ];

    const NAMES: &[&str] = &[
        "userName",
        "emails",
        "emails.value",
        "EMAILS.type",
        "name.givenName",
        "password",
        "meta",
        "meta.version",
        "id",
        "groups.display",
        "employeeNumber",
        "manager.value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    ];

    fn list() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop::collection::vec(prop::sample::select(NAMES), 0..3))
            .prop_map(|l| l.map(|l| l.join(",")))
    }

    proptest! {
        /// Whatever the resource and the projection, the text gives the bytes the
        /// resource gives.
        #[test]
        fn the_text_gives_what_the_resource_gives(
            members in prop::collection::vec(
                (prop_oneof![prop::sample::select(TOP).prop_map(str::to_owned), key()], json()),
                0..8,
            ),
            meta in prop::collection::btree_map(key(), json(), 0..3),
            attributes in list(),
            excluded in list(),
        ) {
            let registry = Registry::standard();
            let users = registry.resource_type("User").unwrap();
            let mut resource: Map<String, Value> = members.into_iter().collect();
            resource.insert("meta".into(), Value::Object(meta.into_iter().collect()));
            let resource = Value::Object(resource);
            let Ok(p) = Projection::parse(&users, attributes.as_deref(), excluded.as_deref())
            else {
                return Ok(());
            };
            let text = serde_json::to_string(&resource).unwrap();
            let written = render(&text, &p, &FILL);
            prop_assert!(written.is_some(), "{text}");
            prop_assert_eq!(
                String::from_utf8(written.unwrap()).unwrap(),
                String::from_utf8(from_value(&resource, &p)).unwrap()
            );
        }
    }

    #[test]
    fn a_password_never_shows() {
        let registry = Registry::standard();
        let users = registry.resource_type("User").unwrap();
        let text = serde_json::to_string(&user()).unwrap();
        let p = Projection::parse(&users, Some("password"), None).unwrap();
        let written = String::from_utf8(render(&text, &p, &FILL).unwrap()).unwrap();
        assert!(!written.contains("hash"), "{written}");
    }

    #[test]
    fn text_it_cannot_vouch_for_is_left_to_the_resource() {
        let registry = Registry::standard();
        let users = registry.resource_type("User").unwrap();
        let p = Projection::default_for(&users);
        // Out of order, a key twice, no meta, not an object, not JSON.
        for text in [
            r#"{"userName":"a","id":"1","meta":{}}"#,
            r#"{"id":"1","id":"2","meta":{}}"#,
            r#"{"id":"1","userName":"a"}"#,
            r#"[1]"#,
            r#"{"id":"#,
            r#"{"id":"1","meta":[]}"#,
        ] {
            assert!(render(text, &p, &FILL).is_none(), "{text}");
        }
        assert!(render(r#"{"id":"1","meta":{}}"#, &p, &FILL).is_some());
    }
}
