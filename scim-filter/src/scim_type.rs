//! [`ScimType`]: the `scimType` of an error response (RFC 7644 §3.12, table 9), as a type.
//!
//! It lives in the bottom crate so that every crate that detects an error (filter, schema,
//! PATCH) names its `scimType` with the same type the engine writes on the wire: a
//! misspelling is a compile error, not a silently dropped `scimType`.

use std::fmt;
use std::str::FromStr;

/// The `scimType` values of RFC 7644 §3.12, table 9, spelled exactly.
///
/// ```
/// use scim_filter::ScimType;
/// assert_eq!(ScimType::InvalidVers.to_string(), "invalidVers");
/// assert_eq!("noTarget".parse(), Ok(ScimType::NoTarget));
/// assert!("invalidVersion".parse::<ScimType>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScimType {
    /// The filter syntax was invalid, or the attribute and comparison are not supported.
    InvalidFilter,
    /// The filter yields more results than the server is willing to return.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The attempted modification is not compatible with the attribute's mutability.
    Mutability,
    /// The request body structure was invalid or did not conform to the request schema.
    InvalidSyntax,
    /// The "path" attribute was invalid or malformed.
    InvalidPath,
    /// The path did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing, or the value was not compatible.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed due to sensitive information in the URI.
    Sensitive,
    /// The `cursor` is not one this service issued (RFC 9865).
    InvalidCursor,
}

impl ScimType {
    /// The values of RFC 7644 table 9, in its order (RFC 9865 adds [`ScimType::InvalidCursor`]).
    pub const ALL: [ScimType; 10] = [
        ScimType::InvalidFilter,
        ScimType::TooMany,
        ScimType::Uniqueness,
        ScimType::Mutability,
        ScimType::InvalidSyntax,
        ScimType::InvalidPath,
        ScimType::NoTarget,
        ScimType::InvalidValue,
        ScimType::InvalidVers,
        ScimType::Sensitive,
    ];

    /// The RFC spelling.
    ///
    /// ```
    /// assert_eq!(scim_filter::ScimType::InvalidVers.as_str(), "invalidVers");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a `scimType` [`ScimType`] knows, e.g. `invalidVersion`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a scimType of RFC 7644 table 9 or RFC 9865")]
pub struct UnknownScimType(pub String);

impl FromStr for ScimType {
    type Err = UnknownScimType;

    /// Parses the RFC spelling exactly (case-sensitive, as the RFC writes it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScimType::ALL
            .into_iter()
            .chain([ScimType::InvalidCursor])
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownScimType(s.to_owned()))
    }
}

/// Compares with the wire spelling, as a client reading an error body does.
impl PartialEq<str> for ScimType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// Compares with the wire spelling, as a client reading an error body does.
impl PartialEq<&str> for ScimType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, by an exhaustive match: a new variant must be added here.
    fn every_variant() -> Vec<ScimType> {
        let all: Vec<ScimType> = ScimType::ALL
            .into_iter()
            .chain([ScimType::InvalidCursor])
            .collect();
        for t in &all {
            match t {
                ScimType::InvalidFilter
                | ScimType::TooMany
                | ScimType::Uniqueness
                | ScimType::Mutability
                | ScimType::InvalidSyntax
                | ScimType::InvalidPath
                | ScimType::NoTarget
                | ScimType::InvalidValue
                | ScimType::InvalidVers
                | ScimType::Sensitive
                | ScimType::InvalidCursor => {}
            }
        }
        all
    }

    /// RFC 7644 §3.12, table 9, verbatim.
    #[test]
    fn scim_types_match_rfc_table_9() {
        let table = [
            "invalidFilter",
            "tooMany",
            "uniqueness",
            "mutability",
            "invalidSyntax",
            "invalidPath",
            "noTarget",
            "invalidValue",
            "invalidVers",
            "sensitive",
        ];
        let ours: Vec<&str> = ScimType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(ours, table);
    }

    #[test]
    fn display_and_from_str_round_trip_for_every_variant() {
        let all = every_variant();
        assert_eq!(all.len(), 11);
        for t in all {
            let text = t.to_string();
            assert_eq!(text, t.as_str());
            assert_eq!(text.parse::<ScimType>(), Ok(t), "{text}");
            assert!(t == *text, "{text}");
        }
    }

    #[test]
    fn near_misses_are_refused() {
        for s in [
            "invalidVersion",
            "InvalidFilter",
            "invalidfilter",
            " tooMany",
            "",
        ] {
            assert_eq!(s.parse::<ScimType>(), Err(UnknownScimType(s.to_owned())));
        }
    }
}
