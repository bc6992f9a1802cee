//! From text to the AST: the pest grammar (`grammar/scim.pest`) and one conversion
//! function per rule. pest's `Rule` stays private to this module; errors leave as
//! [`ParseError`].

use pest::iterators::Pair;
use pest::Parser as _;

use crate::error::END_OF_INPUT;
use crate::limits::nesting_exceeds;
use crate::{
    AttrPath, CompValue, CompareOp, Filter, InputKind, Limits, ParseError, ParseErrorKind,
    PatchPath, ValuePath,
};

#[derive(pest_derive::Parser)]
#[grammar = "grammar/scim.pest"]
struct ScimParser;

type Result<T> = std::result::Result<T, ParseError>;

mod fast;

pub(crate) fn parse_filter(input: &str, limits: &Limits) -> Result<Filter> {
    check_limits(input, InputKind::Filter, limits)?;
    fast::filter(input).map_err(|failure| failure.into_error(input, InputKind::Filter))
}

pub(crate) fn parse_patch_path(input: &str, limits: &Limits) -> Result<PatchPath> {
    check_limits(input, InputKind::PatchPath, limits)?;
    fast::patch_path(input).map_err(|failure| failure.into_error(input, InputKind::PatchPath))
}

pub(crate) fn parse_attr_path(input: &str, limits: &Limits) -> Result<AttrPath> {
    check_limits(input, InputKind::AttrPath, limits)?;
    fast::attr_path(input).map_err(|failure| failure.into_error(input, InputKind::AttrPath))
}

/// The fast path alone, for the differential tests.
pub(crate) fn fast_filter(input: &str) -> Option<Filter> {
    fast::filter(input).ok()
}

/// The fast path alone, for PATCH paths.
pub(crate) fn fast_patch_path(input: &str) -> Option<PatchPath> {
    fast::patch_path(input).ok()
}

/// The pest grammar alone, without the fast path: the reference the fast path is tested
/// against.
pub(crate) fn reference_filter(input: &str) -> Result<Filter> {
    let pair = run(Rule::filter_input, input, InputKind::Filter)?;
    filter(pair, InputKind::Filter)
}

/// The pest grammar alone, for PATCH paths.
pub(crate) fn reference_patch_path(input: &str) -> Result<PatchPath> {
    let pair = run(Rule::path_input, input, InputKind::PatchPath)?;
    patch_path(pair, InputKind::PatchPath)
}

impl fast::Failure {
    fn into_error(self, input: &str, kind: InputKind) -> ParseError {
        let found = match self.kind {
            ParseErrorKind::Syntax => excerpt(input, self.offset),
            _ => literal_excerpt(input, self.offset),
        };
        ParseError::new(self.kind, kind, self.offset, self.expected, found)
    }
}

/// The literal (string or number) starting at `offset`, shortened for messages.
fn literal_excerpt(input: &str, offset: usize) -> String {
    let rest = input.get(offset..).unwrap_or("");
    let end = if rest.starts_with('"') {
        let mut escaped = false;
        rest.char_indices()
            .skip(1)
            .find(|&(_, c)| {
                let close = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                close
            })
            .map_or(rest.len(), |(i, _)| i + 1)
    } else {
        rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(rest.len())
    };
    rest[..end].chars().take(40).collect()
}

/// Refuses input beyond the limits before any parser runs.
fn check_limits(input: &str, kind: InputKind, limits: &Limits) -> Result<()> {
    if input.len() > limits.max_length {
        return Err(ParseError::new(
            ParseErrorKind::TooLong {
                length: input.len(),
                max: limits.max_length,
            },
            kind,
            limits.max_length,
            Vec::new(),
            String::new(),
        ));
    }
    if let Some((offset, _)) = nesting_exceeds(input, limits.max_depth) {
        return Err(ParseError::new(
            ParseErrorKind::TooDeep {
                max: limits.max_depth,
            },
            kind,
            offset,
            Vec::new(),
            excerpt(input, offset),
        ));
    }
    Ok(())
}

/// Runs the pest grammar and returns the single top pair.
fn run<'i>(rule: Rule, input: &'i str, kind: InputKind) -> Result<Pair<'i, Rule>> {
    let mut pairs = ScimParser::parse(rule, input).map_err(|e| syntax_error(e, input, kind))?;
    pairs.next().ok_or_else(|| {
        ParseError::new(
            ParseErrorKind::Syntax,
            kind,
            0,
            Vec::new(),
            excerpt(input, 0),
        )
    })
}

fn syntax_error(e: pest::error::Error<Rule>, input: &str, kind: InputKind) -> ParseError {
    let offset = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<&'static str> = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().filter_map(|r| rule_name(*r)).collect()
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.sort_unstable();
    expected.dedup();
    ParseError::new(
        ParseErrorKind::Syntax,
        kind,
        offset,
        expected,
        excerpt(input, offset),
    )
}

/// Friendly names for the rules an error can expect (pest's `renamed_rules`, by hand).
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::filter | Rule::and_chain | Rule::val_filter | Rule::val_and_chain => "filter",
        Rule::not_group | Rule::val_not_group => "\"not (\"",
        Rule::group | Rule::val_group => "\"(\"",
        Rule::attr_term | Rule::attr_exp | Rule::attr_path | Rule::patch_path => "attribute path",
        Rule::schema_urn => "schema URN",
        Rule::attr_name => "attribute name",
        Rule::sub_attr => "sub-attribute name",
        Rule::present => "\"pr\"",
        Rule::compare_op => "comparison operator",
        Rule::false_lit | Rule::null_lit | Rule::true_lit | Rule::number | Rule::string => {
            "comparison value"
        }
        Rule::EOI => "end of input",
        _ => return None,
    })
}

/// A short excerpt of `input` at `offset`: the next token, or "end of input".
fn excerpt(input: &str, offset: usize) -> String {
    let rest = input.get(offset..).unwrap_or("");
    if rest.is_empty() {
        return END_OF_INPUT.to_owned();
    }
    let token: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(24)
        .collect();
    if token.is_empty() {
        rest.chars().take(1).collect()
    } else {
        token
    }
}

// ---------------------------------------------------------------------------------------
// One conversion function per rule.
// ---------------------------------------------------------------------------------------

/// `filter` / `val_filter`: an or-chain of and-chains.
fn filter(pair: Pair<'_, Rule>, kind: InputKind) -> Result<Filter> {
    chain(pair, kind, Filter::Or, and_chain)
}

/// `and_chain` / `val_and_chain`: an and-chain of terms.
fn and_chain(pair: Pair<'_, Rule>, kind: InputKind) -> Result<Filter> {
    chain(pair, kind, Filter::And, term)
}

fn chain(
    pair: Pair<'_, Rule>,
    kind: InputKind,
    make: fn(Vec<Filter>) -> Filter,
    operand: fn(Pair<'_, Rule>, InputKind) -> Result<Filter>,
) -> Result<Filter> {
    let mut inner = pair.into_inner();
    let first = match inner.next() {
        Some(p) => operand(p, kind)?,
        None => return Err(internal(kind)),
    };
    let Some(second) = inner.next() else {
        return Ok(first);
    };
    let mut ops = Vec::with_capacity(2 + inner.len());
    ops.push(first);
    ops.push(operand(second, kind)?);
    for p in inner {
        ops.push(operand(p, kind)?);
    }
    Ok(make(ops))
}

/// One operand: `not_group`, `group`, `attr_term` or `attr_exp`.
fn term(pair: Pair<'_, Rule>, kind: InputKind) -> Result<Filter> {
    match pair.as_rule() {
        Rule::not_group | Rule::val_not_group => {
            let inner = pair.into_inner().next().ok_or_else(|| internal(kind))?;
            Ok(Filter::Not(Box::new(filter(inner, kind)?)))
        }
        Rule::group | Rule::val_group => {
            let inner = pair.into_inner().next().ok_or_else(|| internal(kind))?;
            filter(inner, kind)
        }
        Rule::attr_term | Rule::attr_exp => attr_term(pair, kind),
        _ => Err(internal(kind)),
    }
}

/// `attr_term` / `attr_exp`: `attrPath pr`, `attrPath op value` or `attrPath [valFilter]`.
fn attr_term(pair: Pair<'_, Rule>, kind: InputKind) -> Result<Filter> {
    let mut inner = pair.into_inner();
    let path = attr_path(inner.next().ok_or_else(|| internal(kind))?);
    let next = inner.next().ok_or_else(|| internal(kind))?;
    match next.as_rule() {
        Rule::present => Ok(Filter::Present(path)),
        Rule::compare_op => {
            let op = compare_op(next.as_str()).ok_or_else(|| internal(kind))?;
            let value = comp_value(inner.next().ok_or_else(|| internal(kind))?, kind)?;
            Ok(Filter::Compare { path, op, value })
        }
        Rule::val_filter => Ok(Filter::ValuePath(ValuePath {
            attr: path,
            filter: Box::new(filter(next, kind)?),
        })),
        _ => Err(internal(kind)),
    }
}

/// `compare_op`, already checked by the grammar.
fn compare_op(text: &str) -> Option<CompareOp> {
    let b = text.as_bytes();
    if b.len() != 2 {
        return None;
    }
    Some(
        match [b[0].to_ascii_lowercase(), b[1].to_ascii_lowercase()] {
            [b'e', b'q'] => CompareOp::Eq,
            [b'n', b'e'] => CompareOp::Ne,
            [b'c', b'o'] => CompareOp::Co,
            [b's', b'w'] => CompareOp::Sw,
            [b'e', b'w'] => CompareOp::Ew,
            [b'g', b't'] => CompareOp::Gt,
            [b'l', b't'] => CompareOp::Lt,
            [b'g', b'e'] => CompareOp::Ge,
            [b'l', b'e'] => CompareOp::Le,
            _ => return None,
        },
    )
}

/// `comp_value`: a JSON literal, number or string.
fn comp_value(pair: Pair<'_, Rule>, kind: InputKind) -> Result<CompValue> {
    let text = pair.as_str();
    let offset = pair.as_span().start();
    match pair.as_rule() {
        Rule::false_lit => Ok(CompValue::Bool(false)),
        Rule::true_lit => Ok(CompValue::Bool(true)),
        Rule::null_lit => Ok(CompValue::Null),
        Rule::number => number(text)
            .map(CompValue::Number)
            .ok_or_else(|| value_error(ParseErrorKind::InvalidNumber, kind, offset, text)),
        Rule::string => string(text)
            .map(CompValue::String)
            .ok_or_else(|| value_error(ParseErrorKind::InvalidString, kind, offset, text)),
        _ => Err(internal(kind)),
    }
}

/// `number`: an integer if it has neither fraction nor exponent and fits, else a float.
fn number(text: &str) -> Option<serde_json::Number> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(u.into());
        }
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
}

/// `string`: the unescaped contents; escapes are decoded by serde_json (RFC 7159 §7).
fn string(text: &str) -> Option<String> {
    if !text.contains('\\') {
        return text.get(1..text.len() - 1).map(str::to_owned);
    }
    serde_json::from_str(text).ok()
}

/// `attr_path`: `[urn ":"] name ["." sub]`.
fn attr_path(pair: Pair<'_, Rule>) -> AttrPath {
    let mut path = AttrPath {
        urn: None,
        name: String::new(),
        sub_attr: None,
    };
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::schema_urn => {
                let s = p.as_str();
                path.urn = Some(s[..s.len() - 1].to_owned());
            }
            Rule::attr_name => path.name = p.as_str().to_owned(),
            Rule::sub_attr => path.sub_attr = Some(p.as_str().to_owned()),
            _ => {}
        }
    }
    path
}

/// `patch_path`: `attrPath [ "[" valFilter "]" ["." subAttr] ]`.
fn patch_path(pair: Pair<'_, Rule>, kind: InputKind) -> Result<PatchPath> {
    let mut inner = pair.into_inner();
    let attr = attr_path(inner.next().ok_or_else(|| internal(kind))?);
    let mut path = PatchPath::from(attr);
    for p in inner {
        match p.as_rule() {
            Rule::val_filter => path.value_filter = Some(filter(p, InputKind::PatchPath)?),
            Rule::sub_attr => path.sub_attr = Some(p.as_str().to_owned()),
            _ => {}
        }
    }
    Ok(path)
}

fn value_error(kind: ParseErrorKind, input: InputKind, offset: usize, text: &str) -> ParseError {
    ParseError::new(
        kind,
        input,
        offset,
        Vec::new(),
        text.chars().take(40).collect(),
    )
}

/// A grammar/conversion mismatch; unreachable for a consistent grammar, but reported as an
/// error rather than a panic.
fn internal(kind: InputKind) -> ParseError {
    ParseError::new(
        ParseErrorKind::Syntax,
        kind,
        0,
        vec!["well-formed input"],
        String::from("input the parser could not convert"),
    )
}

#[cfg(test)]
mod tests;
