//! The fast path: a hand-written recursive-descent parser for exactly the language of
//! `grammar/scim.pest`, rule for rule, with the same ordered-choice/backtracking behaviour.
//!
//! Parsing runs this alone, errors included (the furthest position reached and what each
//! alternative expected there, as a PEG parser reports them): the pest grammar is the
//! specification, run only by the `differential` tests and the `filter_parse` fuzz target,
//! which check that both accept the same inputs and build the same trees.

use crate::{AttrPath, CompValue, CompareOp, Filter, ParseErrorKind, PatchPath, ValuePath};

/// Where and why the fast path rejected its input: the furthest position any alternative
/// reached, and what each alternative expected there (classic PEG error reporting).
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) offset: usize,
    pub(super) expected: Vec<&'static str>,
    pub(super) kind: ParseErrorKind,
}

type Parsed<T> = Result<T, Failure>;

pub(super) fn filter(src: &str) -> Parsed<Filter> {
    let mut p = Cursor::new(src);
    p.ows();
    let f = p.filter(false);
    p.finish(f)
}

pub(super) fn patch_path(src: &str) -> Parsed<PatchPath> {
    let mut p = Cursor::new(src);
    p.ows();
    let path = p.attr_path().map(|attr| {
        let mut path = PatchPath::from(attr);
        let save = p.i;
        if let Some(f) = p.value_filter() {
            path.value_filter = Some(f);
            let save_sub = p.i;
            if p.eat(b'.') {
                match p.name("sub-attribute name") {
                    Some(sub) => path.sub_attr = Some(sub.to_owned()),
                    None => p.i = save_sub,
                }
            }
        } else {
            p.i = save;
        }
        path
    });
    p.finish(path)
}

pub(super) fn attr_path(src: &str) -> Parsed<AttrPath> {
    let mut p = Cursor::new(src);
    p.ows();
    let path = p.attr_path();
    p.finish(path)
}

struct Cursor<'a> {
    src: &'a str,
    s: &'a [u8],
    i: usize,
    /// The furthest offset at which something expected was missing, and what.
    far: usize,
    expected: Vec<&'static str>,
    /// A lexically valid literal that is not a valid value (lone surrogate, 1e999).
    invalid: Option<(usize, ParseErrorKind)>,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn is_urn_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'+'
                | b'%'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'*'
                | b'='
                | b'@'
                | b';'
                | b','
        )
}

impl<'a> Cursor<'a> {
    fn new(src: &'a str) -> Self {
        Cursor {
            src,
            s: src.as_bytes(),
            i: 0,
            far: 0,
            expected: Vec::new(),
            invalid: None,
        }
    }

    /// Records that `what` was expected at the current offset.
    fn expect(&mut self, what: &'static str) {
        self.expect_at(self.i, what);
    }

    fn expect_at(&mut self, at: usize, what: &'static str) {
        if at > self.far {
            self.far = at;
            self.expected.clear();
        }
        if at == self.far && !self.expected.contains(&what) {
            self.expected.push(what);
        }
    }

    /// Trailing whitespace, then the end of input.
    fn finish<T>(mut self, parsed: Option<T>) -> Parsed<T> {
        if let Some(value) = parsed {
            self.ows();
            if self.at_end() {
                // Like the grammar, a literal's value is judged only once the text parses.
                return match self.invalid.take() {
                    None => Ok(value),
                    Some((offset, kind)) => Err(Failure {
                        offset,
                        expected: Vec::new(),
                        kind,
                    }),
                };
            }
            self.expect("end of input");
        }
        Err(Failure {
            offset: self.far,
            expected: self.expected,
            kind: ParseErrorKind::Syntax,
        })
    }

    fn at_end(&self) -> bool {
        self.i == self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Case-insensitive keyword (lower-case `kw`).
    fn eat_kw(&mut self, kw: &[u8]) -> bool {
        let end = self.i + kw.len();
        if end <= self.s.len() && self.s[self.i..end].eq_ignore_ascii_case(kw) {
            self.i = end;
            true
        } else {
            false
        }
    }

    /// `ows`
    fn ows(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.i += 1;
        }
    }

    /// `ws`: at least one.
    fn ws(&mut self) -> bool {
        let start = self.i;
        self.ows();
        self.i > start
    }

    fn not_name_char(&self) -> bool {
        !self.peek().is_some_and(is_name_char)
    }

    /// `filter` / `val_filter`
    fn filter(&mut self, val: bool) -> Option<Filter> {
        let first = self.and_chain(val)?;
        let mut ops: Vec<Filter> = Vec::new();
        loop {
            let save = self.i;
            if self.keyword_op(b"or", "\"or\"", "space and a filter after \"or\"") {
                if let Some(next) = self.and_chain(val) {
                    ops.push(next);
                    continue;
                }
            }
            self.i = save;
            break;
        }
        Some(chain(first, ops, Filter::Or))
    }

    /// `and_chain` / `val_and_chain`
    fn and_chain(&mut self, val: bool) -> Option<Filter> {
        let first = self.term(val)?;
        let mut ops: Vec<Filter> = Vec::new();
        loop {
            let save = self.i;
            if self.keyword_op(b"and", "\"and\"", "space and a filter after \"and\"") {
                if let Some(next) = self.term(val) {
                    ops.push(next);
                    continue;
                }
            }
            self.i = save;
            break;
        }
        Some(chain(first, ops, Filter::And))
    }

    /// `or_op` / `and_op`: ws keyword (ws | &"(")
    fn keyword_op(&mut self, kw: &[u8], label: &'static str, then: &'static str) -> bool {
        if !self.ws() {
            return false;
        }
        if !self.eat_kw(kw) {
            self.expect(label);
            return false;
        }
        if self.ws() || self.peek() == Some(b'(') {
            true
        } else {
            self.expect(then);
            false
        }
    }

    /// `term` / `val_term`
    fn term(&mut self, val: bool) -> Option<Filter> {
        let save = self.i;
        if self.eat_kw(b"not") {
            if let Some(f) = self.parenthesised(val) {
                return Some(Filter::Not(Box::new(f)));
            }
        }
        self.i = save;
        if let Some(f) = self.parenthesised(val) {
            return Some(f);
        }
        self.i = save;
        let f = self.attr_term(val);
        if f.is_none() {
            self.i = save;
        }
        f
    }

    /// ows "(" ows filter ows ")" (the "not" form allows whitespace before "(").
    fn parenthesised(&mut self, val: bool) -> Option<Filter> {
        self.ows();
        if !self.eat(b'(') {
            self.expect("\"(\"");
            return None;
        }
        self.ows();
        let f = self.filter(val)?;
        self.ows();
        if self.eat(b')') {
            Some(f)
        } else {
            self.expect("\")\"");
            None
        }
    }

    /// `attr_term` (val = false) / `attr_exp` (val = true)
    fn attr_term(&mut self, val: bool) -> Option<Filter> {
        let path = self.attr_path()?;
        if !val {
            let save = self.i;
            if let Some(f) = self.value_filter() {
                return Some(Filter::ValuePath(ValuePath {
                    attr: path,
                    filter: Box::new(f),
                }));
            }
            self.i = save;
        }
        if !self.ws() {
            self.expect("space and an operator");
            if !val {
                self.expect("\"[\"");
            }
            return None;
        }
        self.attr_test(path)
    }

    /// `value_filter`: "[" ows val_filter ows "]"
    fn value_filter(&mut self) -> Option<Filter> {
        if !self.eat(b'[') {
            return None;
        }
        self.ows();
        let f = self.filter(true)?;
        self.ows();
        if self.eat(b']') {
            Some(f)
        } else {
            self.expect("\"]\"");
            None
        }
    }

    /// `attr_test`: present | compare_op ws comp_value
    fn attr_test(&mut self, path: AttrPath) -> Option<Filter> {
        let save = self.i;
        if self.eat_kw(b"pr") && self.not_name_char() {
            return Some(Filter::Present(path));
        }
        self.i = save;
        let Some(op) = self.compare_op() else {
            self.i = save;
            self.expect("\"pr\"");
            self.expect("comparison operator");
            return None;
        };
        if !self.ws() {
            self.expect("space and a comparison value");
            return None;
        }
        let value = self.comp_value()?;
        Some(Filter::Compare { path, op, value })
    }

    /// `compare_op`
    fn compare_op(&mut self) -> Option<CompareOp> {
        let two = self.s.get(self.i..self.i + 2)?;
        let op = match [two[0].to_ascii_lowercase(), two[1].to_ascii_lowercase()] {
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
        };
        self.i += 2;
        self.not_name_char().then_some(op)
    }

    /// `comp_value`
    fn comp_value(&mut self) -> Option<CompValue> {
        let save = self.i;
        for (kw, v) in [
            (&b"false"[..], CompValue::Bool(false)),
            (&b"null"[..], CompValue::Null),
            (&b"true"[..], CompValue::Bool(true)),
        ] {
            if self.eat_kw(kw) && self.not_name_char() {
                return Some(v);
            }
            self.i = save;
        }
        let v = match self.peek() {
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => None,
        };
        if v.is_none() {
            self.i = save;
            self.expect("comparison value");
        }
        v
    }

    /// `number`
    fn number(&mut self) -> Option<CompValue> {
        let start = self.i;
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let save = self.i;
        if self.eat(b'.') && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.digits();
        } else {
            self.i = save;
        }
        let save = self.i;
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.digits();
            } else {
                self.i = save;
            }
        } else {
            self.i = save;
        }
        if self.peek().is_some_and(|b| is_name_char(b) || b == b'.') {
            return None;
        }
        match super::number(&self.src[start..self.i]) {
            Some(n) => Some(CompValue::Number(n)),
            None => {
                // Lexically a number: parsing goes on, the value is refused at the end.
                self.invalid
                    .get_or_insert((start, ParseErrorKind::InvalidNumber));
                Some(CompValue::Null)
            }
        }
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
    }

    /// `string`: a JSON string; unescaping as in the pest path.
    fn string(&mut self) -> Option<CompValue> {
        let start = self.i;
        self.i += 1;
        loop {
            let Some(b) = self.peek() else {
                self.expect("closing quote");
                return None;
            };
            match b {
                b'"' => break,
                b'\\' => {
                    self.i += 1;
                    let Some(e) = self.peek() else {
                        self.expect("escape character");
                        return None;
                    };
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hex = self.s.get(self.i + 1..self.i + 5).unwrap_or(b"");
                            if hex.len() != 4 || !hex.iter().all(u8::is_ascii_hexdigit) {
                                self.expect("four hex digits after \\u");
                                return None;
                            }
                            self.i += 5;
                        }
                        _ => {
                            self.expect("JSON escape (\\\" \\\\ / b f n r t u)");
                            return None;
                        }
                    }
                }
                0..=0x1f => {
                    self.expect("escaped control character");
                    return None;
                }
                _ => self.i += 1,
            }
        }
        self.i += 1;
        match super::string(&self.src[start..self.i]) {
            Some(s) => Some(CompValue::String(s)),
            None => {
                self.invalid
                    .get_or_insert((start, ParseErrorKind::InvalidString));
                Some(CompValue::Null)
            }
        }
    }

    /// `attr_path`: schema_urn? attr_name ("." sub_attr)?
    fn attr_path(&mut self) -> Option<AttrPath> {
        let urn = self.schema_urn();
        let name = self.name("attribute name")?.to_owned();
        let save = self.i;
        let sub_attr = if self.eat(b'.') {
            match self.name("sub-attribute name") {
                Some(sub) => Some(sub.to_owned()),
                None => {
                    self.i = save;
                    None
                }
            }
        } else {
            None
        };
        Some(AttrPath {
            urn,
            name,
            sub_attr,
        })
    }

    /// `schema_urn`: ^"urn:" (urn_segment ":")+ — returned without the trailing ":".
    fn schema_urn(&mut self) -> Option<String> {
        let start = self.i;
        if !self.eat_kw(b"urn:") {
            return None;
        }
        let mut end = None;
        loop {
            let seg = self.i;
            while self.peek().is_some_and(is_urn_char) {
                self.i += 1;
            }
            if self.i > seg && self.eat(b':') {
                end = Some(self.i);
            } else {
                self.i = seg;
                break;
            }
        }
        match end {
            Some(end) => Some(self.src[start..end - 1].to_owned()),
            None => {
                self.i = start;
                None
            }
        }
    }

    /// `attr_name` / `sub_attr`: ALPHA *nameChar | "$ref"
    fn name(&mut self, label: &'static str) -> Option<&'a str> {
        let start = self.i;
        if self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.i += 1;
            while self.peek().is_some_and(is_name_char) {
                self.i += 1;
            }
        } else if self.s[self.i..].starts_with(b"$ref") {
            self.i += 4;
        } else {
            self.expect(label);
            return None;
        }
        Some(&self.src[start..self.i])
    }
}

fn chain(first: Filter, mut rest: Vec<Filter>, make: fn(Vec<Filter>) -> Filter) -> Filter {
    if rest.is_empty() {
        return first;
    }
    rest.insert(0, first);
    make(rest)
}
