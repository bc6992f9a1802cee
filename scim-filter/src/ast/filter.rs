use std::fmt;
use std::str::FromStr;

use crate::{AttrPath, CompValue, CompareOp, Limits, ParseError};

/// A SCIM filter (RFC 7644 §3.4.2.2).
///
/// `and` and `or` chains are n-ary: `a or b or c` is one [`Filter::Or`] with three
/// operands, while parentheses that group a chain inside a chain of the same operator are
/// kept as nesting. [`Display`](fmt::Display) prints the canonical form (lower-case
/// keywords, single spaces, parentheses only where needed) which parses back to an equal
/// tree.
///
/// ```
/// use scim_filter::Filter;
/// let f: Filter = r#"userType eq "Employee" AND (emails co "example.com" Or emails.value co "example.org")"#.parse()?;
/// assert!(matches!(&f, Filter::And(ops) if ops.len() == 2));
/// assert_eq!(
///     f.to_string(),
///     r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#
/// );
/// assert_eq!(f.to_string().parse::<Filter>()?, f);
/// # Ok::<(), scim_filter::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// `attrPath pr`: the attribute has a value.
    Present(AttrPath),
    /// `attrPath compareOp compValue`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared against.
        value: CompValue,
    },
    /// `attrPath "[" valFilter "]"`: one value of a multi-valued complex attribute satisfies
    /// the whole inner filter.
    ValuePath(ValuePath),
    /// `not ( filter )`.
    Not(Box<Filter>),
    /// Operands joined by `and` (at least two).
    And(Vec<Filter>),
    /// Operands joined by `or` (at least two).
    Or(Vec<Filter>),
}

/// `valuePath = attrPath "[" valFilter "]"` (RFC 7644 §3.4.2.2).
///
/// ```
/// use scim_filter::Filter;
/// let f: Filter = r#"emails[type eq "work" and value co "@example.com"]"#.parse()?;
/// let Filter::ValuePath(vp) = &f else { panic!() };
/// assert_eq!(vp.attr.name, "emails");
/// assert_eq!(vp.filter.to_string(), r#"type eq "work" and value co "@example.com""#);
/// # Ok::<(), scim_filter::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ValuePath {
    /// The multi-valued attribute whose values are filtered.
    pub attr: AttrPath,
    /// The filter each value is tested against; its paths are relative to the value.
    pub filter: Box<Filter>,
}

impl Filter {
    /// Parses a filter with the default [`Limits`]. Errors map to scimType `invalidFilter`.
    ///
    /// ```
    /// let f = scim_filter::Filter::parse(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#);
    /// assert!(f.is_ok());
    /// let err = scim_filter::Filter::parse("userName eq").unwrap_err();
    /// assert_eq!(err.scim_type(), "invalidFilter");
    /// assert_eq!(err.offset(), 11);
    /// ```
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        crate::parser::parse_filter(input, &Limits::default())
    }

    /// Parses a filter with explicit limits.
    ///
    /// ```
    /// use scim_filter::{Filter, Limits};
    /// let limits = Limits::default().max_depth(2);
    /// assert!(Filter::parse_with("((title pr))", &limits).is_ok());
    /// assert!(Filter::parse_with("(((title pr)))", &limits).is_err());
    /// ```
    pub fn parse_with(input: &str, limits: &Limits) -> Result<Self, ParseError> {
        crate::parser::parse_filter(input, limits)
    }

    /// `path pr`.
    ///
    /// ```
    /// use scim_filter::{AttrPath, Filter};
    /// assert_eq!(Filter::present(AttrPath::new("title")).to_string(), "title pr");
    /// ```
    pub fn present(path: AttrPath) -> Self {
        Filter::Present(path)
    }

    /// `path op value`.
    ///
    /// ```
    /// use scim_filter::{AttrPath, CompValue, CompareOp, Filter};
    /// let f = Filter::compare(AttrPath::new("userName"), CompareOp::Eq, CompValue::String("bjensen".into()));
    /// assert_eq!(f.to_string(), r#"userName eq "bjensen""#);
    /// ```
    pub fn compare(path: AttrPath, op: CompareOp, value: CompValue) -> Self {
        Filter::Compare { path, op, value }
    }

    /// `left and right`, flattening `left` when it is already an `and` chain.
    ///
    /// ```
    /// use scim_filter::Filter;
    /// let a: Filter = "a pr".parse().unwrap();
    /// let f = a.clone().and("b pr".parse().unwrap()).and("c pr".parse().unwrap());
    /// assert_eq!(f.to_string(), "a pr and b pr and c pr");
    /// ```
    pub fn and(self, right: Filter) -> Self {
        match self {
            Filter::And(mut ops) => {
                ops.push(right);
                Filter::And(ops)
            }
            left => Filter::And(vec![left, right]),
        }
    }

    /// `left or right`, flattening `left` when it is already an `or` chain.
    ///
    /// ```
    /// use scim_filter::Filter;
    /// let f = Filter::parse("a pr").unwrap().or("b pr".parse().unwrap());
    /// assert_eq!(f.to_string(), "a pr or b pr");
    /// ```
    pub fn or(self, right: Filter) -> Self {
        match self {
            Filter::Or(mut ops) => {
                ops.push(right);
                Filter::Or(ops)
            }
            left => Filter::Or(vec![left, right]),
        }
    }

    /// `not (filter)`.
    ///
    /// ```
    /// use scim_filter::Filter;
    /// assert_eq!(Filter::parse("title pr").unwrap().negate().to_string(), "not (title pr)");
    /// ```
    pub fn negate(self) -> Self {
        Filter::Not(Box::new(self))
    }

    /// Nesting depth of the tree (a leaf has depth 1).
    ///
    /// ```
    /// assert_eq!(scim_filter::Filter::parse("not (a pr and b pr)").unwrap().depth(), 3);
    /// ```
    pub fn depth(&self) -> usize {
        match self {
            Filter::Present(_) | Filter::Compare { .. } => 1,
            Filter::ValuePath(vp) => 1 + vp.filter.depth(),
            Filter::Not(inner) => 1 + inner.depth(),
            Filter::And(ops) | Filter::Or(ops) => {
                1 + ops.iter().map(Filter::depth).max().unwrap_or(0)
            }
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(_) => 1,
            Filter::And(_) => 2,
            _ => 3,
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::ValuePath(vp) => write!(f, "{vp}"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(ops) => write_chain(f, ops, "and", self.precedence()),
            Filter::Or(ops) => write_chain(f, ops, "or", self.precedence()),
        }
    }
}

/// Writes a chain, parenthesising operands that bind looser than or as loose as the chain
/// itself (a nested chain of the same operator was a parenthesised group in the source).
fn write_chain(f: &mut fmt::Formatter<'_>, ops: &[Filter], word: &str, prec: u8) -> fmt::Result {
    for (i, op) in ops.iter().enumerate() {
        if i > 0 {
            write!(f, " {word} ")?;
        }
        if op.precedence() <= prec {
            write!(f, "({op})")?;
        } else {
            write!(f, "{op}")?;
        }
    }
    Ok(())
}

impl fmt::Display for ValuePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.attr, self.filter)
    }
}

impl FromStr for Filter {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}
