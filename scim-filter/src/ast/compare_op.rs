use std::fmt;
use std::str::FromStr;

/// A comparison operator of an attribute expression (RFC 7644 §3.4.2.2, table 3).
///
/// The `pr` (present) operator takes no value and is a separate
/// [`Filter::Present`](crate::Filter::Present) node.
///
/// ```
/// use scim_filter::CompareOp;
/// let op: CompareOp = "EQ".parse().unwrap();
/// assert_eq!(op, CompareOp::Eq);
/// assert_eq!(op.to_string(), "eq");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains (strings).
    Co,
    /// `sw`: starts with (strings).
    Sw,
    /// `ew`: ends with (strings).
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `lt`: less than.
    Lt,
    /// `ge`: greater than or equal.
    Ge,
    /// `le`: less than or equal.
    Le,
}

impl CompareOp {
    /// All operators, in the order of RFC 7644 table 3.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ];

    /// The canonical (lower-case) spelling.
    ///
    /// ```
    /// assert_eq!(scim_filter::CompareOp::Ge.as_str(), "ge");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }

    /// Whether this operator orders values (`gt`, `lt`, `ge`, `le`).
    ///
    /// ```
    /// assert!(scim_filter::CompareOp::Lt.is_ordering());
    /// assert!(!scim_filter::CompareOp::Co.is_ordering());
    /// ```
    pub const fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Lt | CompareOp::Ge | CompareOp::Le
        )
    }

    /// Whether this operator matches substrings (`co`, `sw`, `ew`).
    ///
    /// ```
    /// assert!(scim_filter::CompareOp::Sw.is_substring());
    /// ```
    pub const fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when a string is not one of the nine comparison operators.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown comparison operator `{0}`; expected one of eq, ne, co, sw, ew, gt, lt, ge, le")]
pub struct UnknownOperator(pub String);

impl FromStr for CompareOp {
    type Err = UnknownOperator;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CompareOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownOperator(s.to_owned()))
    }
}
