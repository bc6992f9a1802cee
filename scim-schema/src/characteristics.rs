//! Attribute characteristics of RFC 7643 §2.2 and §7: mutability, returned, uniqueness,
//! and the serde form of the data type.

use serde::{Deserialize, Serialize};

pub use scim_filter::AttrType;

/// When an attribute may be changed (RFC 7643 §7 "mutability").
///
/// ```
/// use scim_schema::Mutability;
/// let m: Mutability = serde_json::from_str("\"readOnly\"").unwrap();
/// assert_eq!(m, Mutability::ReadOnly);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Mutability {
    /// Set by the service provider only; client values are ignored.
    ReadOnly,
    /// May be updated and read at any time (the default).
    #[default]
    ReadWrite,
    /// May be set once, when no value exists; never changed afterwards.
    Immutable,
    /// May be updated but is never returned (e.g. `password`).
    WriteOnly,
}

/// When an attribute is returned in a response (RFC 7643 §7 "returned").
///
/// ```
/// use scim_schema::Returned;
/// assert_eq!(serde_json::to_string(&Returned::Never).unwrap(), "\"never\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Returned {
    /// Always returned, whatever `attributes`/`excludedAttributes` say (e.g. `id`).
    Always,
    /// Never returned (e.g. `password`).
    Never,
    /// Returned unless excluded (the default).
    #[default]
    Default,
    /// Returned only when requested with `attributes`.
    Request,
}

/// How unique a value must be (RFC 7643 §7 "uniqueness").
///
/// ```
/// use scim_schema::Uniqueness;
/// assert_eq!(Uniqueness::default(), Uniqueness::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Uniqueness {
    /// No uniqueness (the default).
    #[default]
    None,
    /// Unique within the service provider (e.g. `userName`).
    Server,
    /// Globally unique.
    Global,
}

/// serde for [`AttrType`] with the RFC 7643 spellings.
pub(crate) mod attr_type_serde {
    use super::AttrType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &AttrType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_str())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AttrType, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown attribute type `{s}`; expected string, boolean, decimal, integer, dateTime, binary, reference or complex"
            ))
        })
    }

    /// Case-insensitive, as some providers publish `"datetime"` or `"Complex"`.
    pub(crate) fn parse(s: &str) -> Option<AttrType> {
        [
            AttrType::String,
            AttrType::Boolean,
            AttrType::Decimal,
            AttrType::Integer,
            AttrType::DateTime,
            AttrType::Binary,
            AttrType::Reference,
            AttrType::Complex,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    pub(crate) fn default() -> AttrType {
        AttrType::String
    }
}
