//! One pass over the text of a large array (a user's 25,000 emails) that finds what a row
//! needs of it without building it: whether its objects' keys have upper case or collide
//! by case (as [`DocText`](crate::text::DocText) notes while serialising), and the strings
//! an index reads of it ([`text_values_ci`](crate::text_values_ci)'s reading).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::text::Keys;

/// Which strings of the array an index reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Capture<'s> {
    /// None: the attribute is not indexed.
    Nothing,
    /// The string elements and the string `value` of object elements (an attribute
    /// indexed without a sub-attribute).
    Plain,
    /// The strings under `sub` of object elements (a string, or an array's strings).
    Sub(&'s str),
}

/// What [`ArrayProbe::of`] found.
#[derive(Debug, Default)]
pub(crate) struct ArrayProbe<'t> {
    /// The keys of the objects in the array, at any depth.
    pub(crate) keys: Keys,
    /// The strings captured, in order, as written (borrowed unless escaped).
    pub(crate) values: Vec<Cow<'t, str>>,
}

impl<'t> ArrayProbe<'t> {
    /// Probes `text`, which must be a JSON array; `None` when it is not.
    pub(crate) fn of(text: &'t str, capture: Capture<'_>) -> Option<ArrayProbe<'t>> {
        let mut probe = ArrayProbe::default();
        let mut names = Vec::new();
        let mut de = serde_json::Deserializer::from_str(text);
        Elements {
            capture,
            probe: &mut probe,
            names: &mut names,
        }
        .deserialize(&mut de)
        .ok()?;
        de.end().ok()?;
        Some(probe)
    }
}

/// The array: each element probed.
struct Elements<'p, 't, 's> {
    capture: Capture<'s>,
    probe: &'p mut ArrayProbe<'t>,
    /// A scratch list of an object's keys.
    names: &'p mut Vec<Cow<'t, str>>,
}

impl<'de> DeserializeSeed<'de> for Elements<'_, 'de, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, 'de, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Elements {
            capture,
            probe,
            names,
        } = self;
        while seq
            .next_element_seed(Node {
                role: Role::Element(capture),
                probe: &mut *probe,
                names: &mut *names,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// What is read of a value inside the array.
#[derive(Clone, Copy)]
enum Role<'s> {
    /// An element: a string is read with [`Capture::Plain`]; of an object, the value of
    /// the key the capture names.
    Element(Capture<'s>),
    /// The value of that key: a string is read, and (with `arrays`, for a sub-attribute)
    /// the strings of an array.
    Read { arrays: bool },
    /// Anything else: its keys are checked, nothing is read.
    Walk,
}

/// A value inside the array, probed in its [`Role`].
struct Node<'p, 't, 's> {
    role: Role<'s>,
    probe: &'p mut ArrayProbe<'t>,
    names: &'p mut Vec<Cow<'t, str>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_, 'de, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Node<'_, 'de, '_> {
    fn string(self, s: Cow<'de, str>) {
        if matches!(self.role, Role::Element(Capture::Plain) | Role::Read { .. }) {
            self.probe.values.push(s);
        }
    }

    /// The role of the value under `key` of an object in this role.
    fn under(&self, key: &str) -> Role<'static> {
        match self.role {
            Role::Element(Capture::Plain) if key.eq_ignore_ascii_case("value") => {
                Role::Read { arrays: false }
            }
            Role::Element(Capture::Sub(sub)) if key.eq_ignore_ascii_case(sub) => {
                Role::Read { arrays: true }
            }
            _ => Role::Walk,
        }
    }
}

impl<'de> Visitor<'de> for Node<'_, 'de, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        self.string(Cow::Borrowed(v));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.string(Cow::Owned(v.to_owned()));
        Ok(())
    }
    fn visit_string<E>(self, v: String) -> Result<(), E> {
        self.string(Cow::Owned(v));
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
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let role = match self.role {
            Role::Read { arrays: true } => Role::Read { arrays: false },
            _ => Role::Walk,
        };
        let Node { probe, names, .. } = self;
        while seq
            .next_element_seed(Node {
                role,
                probe: &mut *probe,
                names: &mut *names,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let start = self.names.len();
        while let Some(Name(key)) = map.next_key::<Name<'de>>()? {
            let role = self.under(&key);
            self.names.push(key);
            map.next_value_seed(Node {
                role,
                probe: &mut *self.probe,
                names: &mut *self.names,
            })?;
        }
        let keys = object_keys(&self.names[start..]);
        self.probe.keys = self.probe.keys.merge(keys);
        self.names.truncate(start);
        Ok(())
    }
}

/// [`Keys`] of one object's key names, as [`object_keys`](crate::text) finds them of a map;
/// names written twice count as a collision too (a map would have kept one). Compared in
/// pairs, without allocating, when there are a handful (an element's); sorted when more.
fn object_keys(names: &[Cow<'_, str>]) -> Keys {
    let upper = names
        .iter()
        .any(|k| k.bytes().any(|b| b.is_ascii_uppercase()));
    let collide = if names.len() <= 16 {
        names
            .iter()
            .enumerate()
            .any(|(i, a)| names[i + 1..].iter().any(|b| a.eq_ignore_ascii_case(b)))
    } else {
        let mut lowered: Vec<String> = names.iter().map(|k| k.to_ascii_lowercase()).collect();
        lowered.sort_unstable();
        lowered.windows(2).any(|w| w[0] == w[1])
    };
    Keys { upper, collide }
}

/// An object key as written: borrowed unless it holds an escape.
struct Name<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}
