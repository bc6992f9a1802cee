use std::fmt;

use crate::ScimType;

/// What kind of text was being parsed; decides the SCIM `scimType` of a [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputKind {
    /// A `filter` parameter or a valuePath filter: errors are `invalidFilter`.
    Filter,
    /// A PATCH `path`: errors are `invalidPath`.
    PatchPath,
    /// An attribute path (`attributes`, `sortBy`, …): errors are `invalidPath`.
    AttrPath,
}

impl InputKind {
    fn noun(self) -> &'static str {
        match self {
            InputKind::Filter => "filter",
            InputKind::PatchPath => "path",
            InputKind::AttrPath => "attribute path",
        }
    }
}

/// Why a [`ParseError`] was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input does not follow the grammar, e.g. `userName eq` (no value).
    Syntax,
    /// The input is longer than [`Limits::max_length`](crate::Limits::max_length).
    TooLong {
        /// Input length in bytes.
        length: usize,
        /// The configured maximum.
        max: usize,
    },
    /// Parentheses/brackets nest deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    TooDeep {
        /// The configured maximum.
        max: usize,
    },
    /// A string value is not valid JSON text, e.g. the lone surrogate `"\ud800"`.
    InvalidString,
    /// A number does not fit a JSON number, e.g. `1e999`.
    InvalidNumber,
}

/// A filter or path that could not be parsed: where, what was expected, what was found.
///
/// ```
/// let err = scim_filter::Filter::parse(r#"userName bad "john""#).unwrap_err();
/// assert_eq!(err.offset(), 9);
/// assert_eq!(err.found(), "bad");
/// assert!(err.expected().contains(&"comparison operator"));
/// assert_eq!(err.scim_type(), "invalidFilter");
/// assert_eq!(err.status(), 400);
/// assert_eq!(
///     err.to_string(),
///     "invalid filter at byte 9: expected \"pr\" or comparison operator, found `bad`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    input: InputKind,
    offset: usize,
    expected: Vec<&'static str>,
    found: String,
}

impl ParseError {
    pub(crate) fn new(
        kind: ParseErrorKind,
        input: InputKind,
        offset: usize,
        expected: Vec<&'static str>,
        found: String,
    ) -> Self {
        ParseError {
            kind,
            input,
            offset,
            expected,
            found,
        }
    }

    /// Why parsing failed.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// What was being parsed.
    pub fn input_kind(&self) -> InputKind {
        self.input
    }

    /// Byte offset in the input where the error was detected.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Human-readable names of what would have been accepted at [`offset`](Self::offset).
    pub fn expected(&self) -> &[&'static str] {
        &self.expected
    }

    /// The text found at [`offset`](Self::offset) (a short excerpt, or "end of input").
    pub fn found(&self) -> &str {
        &self.found
    }

    /// The SCIM `scimType` (RFC 7644 §3.12): `invalidFilter` for filters, `invalidPath`
    /// for paths.
    pub fn scim_type(&self) -> ScimType {
        match self.input {
            InputKind::Filter => ScimType::InvalidFilter,
            InputKind::PatchPath | InputKind::AttrPath => ScimType::InvalidPath,
        }
    }

    /// The HTTP status: always 400 (RFC 7644 §3.12).
    pub fn status(&self) -> u16 {
        400
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = self.input.noun();
        match &self.kind {
            ParseErrorKind::TooLong { length, max } => {
                write!(f, "{noun} is {length} bytes long; the limit is {max}")
            }
            ParseErrorKind::TooDeep { max } => write!(
                f,
                "{noun} is nested too deeply at byte {}: more than {max} levels of parentheses or brackets",
                self.offset
            ),
            ParseErrorKind::InvalidString => write!(
                f,
                "invalid {noun} at byte {}: string {} is not a valid JSON string",
                self.offset, self.found
            ),
            ParseErrorKind::InvalidNumber => write!(
                f,
                "invalid {noun} at byte {}: number {} is out of range",
                self.offset, self.found
            ),
            ParseErrorKind::Syntax => {
                write!(f, "invalid {noun} at byte {}: expected ", self.offset)?;
                match self.expected.as_slice() {
                    [] => f.write_str("nothing more")?,
                    [one] => f.write_str(one)?,
                    [init @ .., last] => write!(f, "{} or {last}", init.join(", "))?,
                }
                if self.found == END_OF_INPUT {
                    write!(f, ", found end of input")
                } else {
                    write!(f, ", found `{}`", self.found)
                }
            }
        }
    }
}

impl std::error::Error for ParseError {}

pub(crate) const END_OF_INPUT: &str = "end of input";
