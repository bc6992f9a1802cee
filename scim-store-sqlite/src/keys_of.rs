//! The keys `attr_index` would hold for one attribute of a search document, read from its
//! text without building the document: the SQL function `scim_index_keys`, which the
//! lookups of a label run over the resources `capped` for it (`crate::write_keys`).
//!
//! The strings are those [`crate::layout::text_values`] reads (a property test compares
//! them), each Unicode-lower-cased as [`crate::layout::index_keys`] does.
//!
//! Each capped row also keeps a Bloom filter of those keys ([`bloom`]): an `eq` lookup
//! reads only the documents whose filter may hold one of its keys (`scim_bloom_any`), so
//! `emails.value eq "…"` stays cheap beside users with tens of thousands of emails.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The lower-cased strings at `name` (and `sub` of it) in the search document `search`
/// (keys already lower-cased), in document order; an error for text that is not JSON.
pub(crate) fn keys_of(
    search: &str,
    name: &str,
    sub: Option<&str>,
) -> Result<Vec<String>, serde_json::Error> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(search);
    Top {
        name,
        sub,
        out: &mut out,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

/// The attribute (name, sub-attribute) of an `attr_index` label, lower-cased.
pub(crate) fn label_attr(label: &str) -> Option<(&'static str, Option<&'static str>)> {
    if label == crate::layout::ID_LABEL {
        return Some(("id", None));
    }
    crate::layout::INDEXED
        .iter()
        .find(|(_, _, l)| *l == label)
        .map(|(name, sub, _)| (*name, *sub))
}

/// Bits per key of a [`bloom`] filter (about 1% false positives with [`HASHES`]).
const BITS_PER_KEY: usize = 10;
/// Bit positions per key.
const HASHES: u64 = 7;

/// FNV-1a, 64 bits: stable across processes and releases (the filters are stored).
fn fnv(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The bit positions of `key` in a filter of `bits` bits (double hashing).
fn positions(key: &str, bits: u64) -> impl Iterator<Item = u64> {
    let h = fnv(key);
    let (h1, h2) = (h, (h >> 32) | 1);
    (0..HASHES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % bits)
}

/// A Bloom filter of `keys`: whether a key may be among them is [`may_hold_any`].
pub(crate) fn bloom(keys: &[String]) -> Vec<u8> {
    let bytes = (keys.len() * BITS_PER_KEY).div_ceil(8).max(8);
    let mut out = vec![0u8; bytes];
    let bits = (bytes * 8) as u64;
    for key in keys {
        for p in positions(key, bits) {
            // `p < bits`: the index is in range.
            if let Some(b) = out.get_mut((p / 8) as usize) {
                *b |= 1 << (p % 8);
            }
        }
    }
    out
}

/// Whether one of `keys` may be in the filter `bloom` (never false for a key that is;
/// true for an empty filter, which holds nothing known).
pub(crate) fn may_hold_any<'k>(bloom: &[u8], mut keys: impl Iterator<Item = &'k str>) -> bool {
    if bloom.is_empty() {
        return true;
    }
    let bits = (bloom.len() * 8) as u64;
    keys.any(|key| {
        positions(key, bits).all(|p| {
            bloom
                .get((p / 8) as usize)
                .is_some_and(|b| b & (1 << (p % 8)) != 0)
        })
    })
}

/// Where a string goes when found.
fn push(out: &mut Vec<String>, s: &str) {
    out.push(s.to_lowercase());
}

/// The document: only the key `name` is read.
struct Top<'a> {
    name: &'a str,
    sub: Option<&'a str>,
    out: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a search document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.name {
                map.next_value_seed(Attr {
                    sub: self.sub,
                    out: &mut *self.out,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The attribute's value: a string, or an array of strings and of objects (their `value`)
/// without `sub`; with `sub`, an object or an array of objects (their `sub`: a string or an
/// array of strings).
struct Attr<'a> {
    sub: Option<&'a str>,
    out: &'a mut Vec<String>,
}

/// What is read of one level: which shapes count.
#[derive(Clone, Copy)]
enum Level<'a> {
    /// The attribute itself.
    Attr(Option<&'a str>),
    /// An element of the attribute's array.
    Element(Option<&'a str>),
    /// The `sub` (or `value`) of an object: a string, or (with `sub`) an array of strings.
    Leaf { arrays: bool },
    /// A string of such an array.
    LeafItem,
}

struct Node<'a> {
    level: Level<'a>,
    out: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Attr<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Node {
            level: Level::Attr(self.sub),
            out: self.out,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        match self.level {
            Level::Attr(None) | Level::Element(None) | Level::Leaf { .. } | Level::LeafItem => {
                push(self.out, s);
            }
            Level::Attr(Some(_)) | Level::Element(Some(_)) => {}
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let item = match self.level {
            Level::Attr(sub) => Some(Level::Element(sub)),
            Level::Leaf { arrays: true } => Some(Level::LeafItem),
            _ => None,
        };
        match item {
            Some(level) => {
                while seq
                    .next_element_seed(Node {
                        level,
                        out: &mut *self.out,
                    })?
                    .is_some()
                {}
            }
            None => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // The key read in this object, and what its value may be.
        let wanted = match self.level {
            // `emails: {"value": …}` is read with `sub` only (not complex without).
            Level::Attr(Some(sub)) | Level::Element(Some(sub)) => {
                Some((sub, Level::Leaf { arrays: true }))
            }
            Level::Element(None) => Some(("value", Level::Leaf { arrays: false })),
            _ => None,
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match wanted {
                Some((k, level)) if key == k => map.next_value_seed(Node {
                    level,
                    out: &mut *self.out,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::layout::{search_doc, text_values, INDEXED};
    use proptest::prelude::*;
    use serde_json::json;

    fn expected(doc: &serde_json::Value, name: &str, sub: Option<&str>) -> Vec<String> {
        text_values(doc, name, sub)
            .into_iter()
            .map(str::to_lowercase)
            .collect()
    }

    #[test]
    fn the_shapes_text_values_reads() {
        let (doc, _) = search_doc(&json!({
            "userName": ["A", {"value": "B"}, ["c"], 3, {"value": ["no"]}],
            "displayName": {"value": "not complex: ignored"},
            "emails": [{"value": "X@y"}, {"VALUE": ["P", 1, "q", ["no"]]}, "scalar",
                {"value": {"value": "no"}}],
            "id": "Ι",
            "externalId": "E",
        }));
        let text = doc.to_string();
        for (name, sub, _) in INDEXED.iter().chain([&("id", None, "id")]) {
            assert_eq!(
                keys_of(&text, name, *sub).unwrap(),
                expected(&doc, name, *sub),
                "{name}"
            );
        }
        assert_eq!(
            keys_of(&text, "emails", Some("value")).unwrap(),
            ["x@y", "p", "q"]
        );
        assert!(keys_of("{\"a\": ", "a", None).is_err());
        assert!(keys_of("[1, 2]", "a", None).unwrap().is_empty());
    }

    #[test]
    fn blooms_hold_their_keys_and_few_others() {
        let keys: Vec<String> = (0..25_000)
            .map(|i| format!("user.{i}@example.com"))
            .collect();
        let b = bloom(&keys);
        assert_eq!(b.len(), 25_000 * BITS_PER_KEY / 8);
        assert!(keys
            .iter()
            .all(|k| may_hold_any(&b, std::iter::once(k.as_str()))));
        let others = (0..10_000)
            .filter(|i| {
                may_hold_any(
                    &b,
                    std::iter::once(format!("other.{i}@example.com").as_str()),
                )
            })
            .count();
        assert!(others < 300, "{others} false positives of 10,000");
        assert!(!may_hold_any(&bloom(&[]), std::iter::once("x")));
        assert!(may_hold_any(&[], std::iter::once("x")));
        assert!(may_hold_any(&b, ["nope", "user.7@example.com"].into_iter()));
    }

    proptest! {
        /// The same strings as `text_values` on the users the SQL property tests store.
        #[test]
        fn keys_equal_text_values(user in scim_test_support::filters::resource()) {
            let (doc, _) = search_doc(&user);
            let text = doc.to_string();
            for (name, sub, _) in INDEXED.iter().chain([&("id", None, "id")]) {
                prop_assert_eq!(keys_of(&text, name, *sub).unwrap(), expected(&doc, name, *sub));
            }
        }
    }
}
