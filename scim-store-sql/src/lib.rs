//! The dialect-neutral half of translating a SCIM filter to SQL, shared by the SQLite and
//! PostgreSQL stores: the walk over the resolved filter ([`scim_filter::ResolvedNode`], the
//! tree the evaluator runs), the algebra of what a node became ([`Frag`]: exact, superset,
//! nothing, or index lookups not yet written), and the choice of index lookups
//! ([`Scope::lookup`]). What differs between the dialects — placeholders, JSON access to the
//! search document, text and number comparisons, the SQL of a lookup — is a [`Dialect`].
//!
//! The statement a translation goes into reads the table of resources as `r`, with the
//! search document (the resource with its object keys ASCII-lower-cased) in `r.search`; a
//! value path's elements are read as `<alias>.doc`.
//!
//! ```
//! use scim_filter::{CompiledFilter, Condition, Filter, Schemaless};
//! use scim_store_sql::{Attr, Dialect, Frag, KeyTest, Layout, Lookup, Scope, Translator};
//!
//! /// A toy dialect: presence only, everything else left to the engine.
//! #[derive(Default)]
//! struct Toy(Vec<String>);
//! impl Dialect for Toy {
//!     const TRUE: &'static str = "TRUE";
//!     const FALSE: &'static str = "FALSE";
//!     const MAX_PARAMS: usize = 100;
//!     fn mark(&self) -> usize { self.0.len() }
//!     fn rollback(&mut self, mark: usize) { self.0.truncate(mark) }
//!     fn present(&mut self, scope: &mut Scope<'_>, r: &Attr<'_>) -> Option<String> {
//!         self.0.push(r.name.to_owned());
//!         Some(format!("has({}, ${})", scope.doc(), self.0.len()))
//!     }
//!     fn compare<'r>(&mut self, _: &mut Scope<'_>, _: Attr<'r>, _: &'r Condition) -> Frag<'r> {
//!         Frag::All
//!     }
//!     fn elements(&mut self, _: &mut Scope<'_>, _: &Attr<'_>, _: bool, _: &str, _: &str)
//!         -> Option<String> { None }
//!     fn lookup_rows(&mut self, _: &mut Scope<'_>, _: &Lookup<'_>) -> (String, String) {
//!         ("SELECT id FROM attr_index WHERE TRUE".into(), "key".into())
//!     }
//!     fn key_test(&mut self, _: &str, _: KeyTest) -> String { "FALSE".into() }
//!     fn listed_ids(&mut self, _: Vec<String>) -> String { "SELECT NULL".into() }
//!     fn holds_text(&mut self, _: &mut Scope<'_>, _: &Attr<'_>, _: Vec<String>)
//!         -> Option<String> { None }
//! }
//!
//! let f = CompiledFilter::compile(&Filter::parse(r#"title pr and userName eq "x""#)?, &Schemaless)?;
//! let mut toy = Toy::default();
//! let frag = Translator::new(&mut toy, Layout::default()).translate(f.resolved());
//! // The `eq` is left to the engine: the `and` selects a superset.
//! assert!(matches!(frag, Frag::Superset(ref s) if s == "has(r.search, $1)"));
//! assert_eq!(toy.0, ["title"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use scim_filter::{AttrInfo, AttrType, CompareOp, Condition, Location, ResolvedAttr, ResolvedNode};
use scim_store_layout::{indexed_label, ID_LABEL};

/// The search document of the statement's resource row.
pub const ROOT_DOC: &str = "r.search";

/// What a filter (or a node of it) became.
#[derive(Debug, Clone)]
pub enum Frag<'r> {
    /// SQL that selects exactly the matching rows.
    Exact(String),
    /// SQL that selects at least the matching rows.
    Superset(String),
    /// Nothing could be translated: every row.
    All,
    /// Exactly the resources these index lookups find (together): kept apart until the
    /// enclosing `or` has had the chance to merge them into one lookup.
    Ids(Vec<Lookup<'r>>),
}

/// An attribute as the translation reads it: the parts of a [`ResolvedAttr`], borrowed from
/// the filter, so that a leaf can also stand for what the filter spells otherwise
/// (`members[value eq "x"]` read as `members.value eq "x"`).
#[derive(Debug, Clone, Copy)]
pub struct Attr<'r> {
    /// Where the values are.
    pub location: &'r Location,
    /// The name, ASCII-lower-cased.
    pub name: &'r str,
    /// The sub-attribute, ASCII-lower-cased.
    pub sub: Option<&'r str>,
    /// What the schema says of it.
    pub info: Option<&'r AttrInfo>,
}

impl<'r> From<&'r ResolvedAttr> for Attr<'r> {
    fn from(a: &'r ResolvedAttr) -> Self {
        Attr {
            location: a.location(),
            name: a.name(),
            sub: a.sub_attr(),
            info: a.info(),
        }
    }
}

impl Attr<'_> {
    /// Whether the schema says the attribute is complex (`None`: unknown).
    pub fn complex(&self) -> Option<bool> {
        self.info.map(|i| i.attr_type == AttrType::Complex)
    }
}

/// Where the store keeps what the filter reads, for one query.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layout<'a> {
    /// The attribute whose elements are rows of `members` (e.g. `members` of a Group).
    pub out_of_line: Option<&'a str>,
    /// Some resource of the type has irregular out-of-line elements (not every element an
    /// object with a string `value`): `members.value_key` alone is not exact.
    pub irregular: bool,
}

/// Where the translation is: the value paths it is inside, the aliases it has used, and
/// whether the comparison being translated is the `eq` test of an `ne`.
#[derive(Debug)]
pub struct Scope<'a> {
    layout: Layout<'a>,
    /// The aliases of the value paths being translated, innermost last: their elements are
    /// the documents that [`Location::Element`] attributes are read in.
    frames: Vec<String>,
    aliases: usize,
    ne: bool,
}

impl<'a> Scope<'a> {
    fn new(layout: Layout<'a>) -> Self {
        Scope {
            layout,
            frames: Vec::new(),
            aliases: 0,
            ne: false,
        }
    }

    /// The store's layout for this query.
    pub fn layout(&self) -> Layout<'a> {
        self.layout
    }

    /// A table alias not used before in the statement: `prefix` and a number.
    pub fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    /// The document attributes are read in: the innermost value path's element, or
    /// [`ROOT_DOC`].
    pub fn doc(&self) -> String {
        match self.frames.last() {
            Some(alias) => format!("{alias}.doc"),
            None => ROOT_DOC.to_owned(),
        }
    }

    /// Whether the translation is inside a value path.
    pub fn in_element(&self) -> bool {
        !self.frames.is_empty()
    }

    /// Whether the comparison being translated is the `eq` test of an `ne`: the dialect
    /// selects the simple values that fail it (RFC 7644 §3.4.2.2), and no index lookup
    /// stands in for it.
    pub fn ne(&self) -> bool {
        self.ne
    }

    /// Whether `r` is the out-of-line attribute (read from `members`); `None` when that
    /// depends on the document (an unknown URN prefix).
    pub fn out_of_line(&self, r: &Attr<'_>) -> Option<bool> {
        let Some(attr) = self.layout.out_of_line else {
            return Some(false);
        };
        if self.in_element() || !r.name.eq_ignore_ascii_case(attr) {
            return Some(false);
        }
        match r.location {
            Location::Core => Some(true),
            Location::ExtensionOrCore(_) => None,
            _ => Some(false),
        }
    }

    /// An index lookup that answers `r op lit` exactly (for `eq`, for any of `lits`):
    /// `eq`, or `sw` when case-insensitive, on an indexed attribute
    /// ([`scim_store_layout::INDEXED`]), on `id`, or on the `value` of out-of-line elements,
    /// read from the top of the resource; `co` and `ew` when case-insensitive, on an
    /// indexed attribute only. Never for the `eq` test of an `ne`.
    pub fn lookup<'r>(
        &self,
        r: Attr<'r>,
        op: CompareOp,
        lits: &[&str],
        exact: bool,
    ) -> Option<Lookup<'r>> {
        let info = r.info?;
        let string = matches!(info.attr_type, AttrType::String | AttrType::Reference);
        if self.ne || !string || self.in_element() || r.location != &Location::Core {
            return None;
        }
        let keys = match (op, lits) {
            // One literal or a set of them (an `or` of `eq`): one lookup of all the keys.
            (CompareOp::Eq, [_, ..]) => {
                KeyTest::In(lits.iter().map(|l| l.to_lowercase()).collect())
            }
            (_, [lit]) => {
                let key = lit.to_lowercase();
                match op {
                    // Lower-cased values starting with `key` are those in [key, successor):
                    // exactly the evaluator's `sw` on lower-cased strings (RFC 7644 §3.4.2.2).
                    CompareOp::Sw if !exact && !key.is_empty() => {
                        let hi = successor(&key)?;
                        KeyTest::Range(key, hi)
                    }
                    // Keys (lower-cased values) containing, or ending with, the lower-cased
                    // literal: the evaluator's `co` and `ew` on lower-cased strings.
                    CompareOp::Co if !exact => KeyTest::Contains(key),
                    CompareOp::Ew if !exact => KeyTest::EndsWith(key),
                    _ => return None,
                }
            }
            _ => return None,
        };
        let substring = matches!(keys, KeyTest::Contains(_) | KeyTest::EndsWith(_));
        let source = if self.out_of_line(&r) == Some(true) {
            let value = r.sub.is_some_and(|s| s.eq_ignore_ascii_case("value"));
            if !value || self.layout.irregular || substring {
                return None;
            }
            Source::Members
        } else if r.name.eq_ignore_ascii_case("id") && r.sub.is_none() {
            // The row id, and the side table for documents whose `id` is not it.
            if !exact || r.complex() != Some(false) {
                return None;
            }
            Source::Id
        } else {
            let label = indexed_label(r.name, r.sub)?;
            // The side table holds what the evaluator reads of an attribute that is not
            // complex.
            if r.sub.is_none() && r.complex() != Some(false) {
                return None;
            }
            Source::Attr(label)
        };
        Some(Lookup {
            source,
            keys,
            verify: exact.then(|| (r, lits.iter().map(|l| (*l).to_owned()).collect())),
        })
    }
}

/// Where an index lookup reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `attr_index` rows with this label.
    Attr(&'static str),
    /// `members.value_key`.
    Members,
    /// The row id (and `attr_index` rows labelled [`ID_LABEL`]).
    Id,
}

impl Source {
    /// The `attr_index` label the lookup reads (`None` for `members`).
    pub fn label(&self) -> Option<&'static str> {
        match self {
            Source::Attr(label) => Some(label),
            Source::Id => Some(ID_LABEL),
            Source::Members => None,
        }
    }
}

/// Which keys (values Unicode-lower-cased as the evaluator folds) a lookup wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyTest {
    /// Any of these.
    In(Vec<String>),
    /// From the first (inclusive) to the second (exclusive).
    Range(String, String),
    /// Keys containing this (`co` on a case-insensitive attribute): a trigram index finds
    /// the candidates, then the exact test on the key.
    Contains(String),
    /// Keys ending with this (`ew`), found as [`KeyTest::Contains`] finds.
    EndsWith(String),
}

/// An index lookup standing for a string comparison (or several, merged).
#[derive(Debug, Clone)]
pub struct Lookup<'r> {
    /// Where it reads.
    pub source: Source,
    /// Which keys.
    pub keys: KeyTest,
    /// For a caseExact attribute the keys find a superset: the document must also hold one
    /// of these literals (as given) at this attribute.
    pub verify: Option<(Attr<'r>, Vec<String>)>,
}

impl Lookup<'_> {
    /// Adds `other`'s keys to this lookup when both are `eq` lookups in the same place.
    fn merge(&mut self, other: &Lookup<'_>) -> bool {
        let (KeyTest::In(mine), KeyTest::In(theirs)) = (&mut self.keys, &other.keys) else {
            return false;
        };
        if self.source != other.source || self.verify.is_some() != other.verify.is_some() {
            return false;
        }
        mine.extend(theirs.iter().cloned());
        if let (Some((_, mine)), Some((_, theirs))) = (&mut self.verify, &other.verify) {
            mine.extend(theirs.iter().cloned());
        }
        true
    }
}

/// The least string greater than every string that starts with `s`: `s` with its last
/// character incremented (`None` when that is `char::MAX`).
fn successor(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    let last = chars.pop()?;
    let next = match u32::from(last) + 1 {
        0xD800 => '\u{E000}',
        n => char::from_u32(n)?,
    };
    chars.push(next);
    Some(chars.into_iter().collect())
}

/// What differs between SQL dialects. The translation calls it for the leaves; it keeps the
/// statement's parameters (numbered from 1, shared by the whole statement, whose first two
/// are the tenant and the resource type).
///
/// Every SQL a dialect returns is never SQL NULL (so `NOT` is its complement) and leaves no
/// parameter behind when it returns `None` or [`Frag::All`] (the walk takes them back with
/// [`Dialect::rollback`] anyway).
pub trait Dialect {
    /// SQL that holds.
    const TRUE: &'static str;
    /// SQL that does not hold.
    const FALSE: &'static str;
    /// Most parameters a statement may bind: a translation with more is given up.
    const MAX_PARAMS: usize;

    /// How many parameters there are: where [`Dialect::rollback`] returns to.
    fn mark(&self) -> usize;

    /// Takes back the parameters pushed since `mark`: an abandoned branch of SQL must leave
    /// none behind (a statement bound with parameters it does not use is an error in
    /// SQLite, and PostgreSQL cannot infer their types).
    fn rollback(&mut self, mark: usize);

    /// The evaluator's `pr` on `r` (RFC 7643 §2.5), in [`Scope::doc`]; `None` when the
    /// dialect cannot say exactly.
    fn present(&mut self, scope: &mut Scope<'_>, r: &Attr<'_>) -> Option<String>;

    /// Some value of `r` passes `condition` ([`Condition::Bool`], [`Condition::Number`],
    /// [`Condition::Text`] or [`Condition::TextIn`]); when [`Scope::ne`], some simple value
    /// fails it.
    fn compare<'r>(
        &mut self,
        scope: &mut Scope<'_>,
        r: Attr<'r>,
        condition: &'r Condition,
    ) -> Frag<'r>;

    /// `EXISTS` of an element of `r` (read in [`Scope::doc`], and from `members` when
    /// `out_of_line`) that, as the document `<frame>.doc`, satisfies `inner`: each object
    /// element as it is, each scalar element as `{"value": scalar}` (RFC 7644 §3.4.2.2),
    /// an object attribute as it is.
    fn elements(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        out_of_line: bool,
        frame: &str,
        inner: &str,
    ) -> Option<String>;

    /// The rows an index lookup reads, as a `SELECT` of the resource id with a `WHERE` the
    /// key test is added to (`AND`), and the column holding their keys.
    fn lookup_rows(&mut self, scope: &mut Scope<'_>, lookup: &Lookup<'_>) -> (String, String);

    /// The test of the keys in `column` (never SQL NULL).
    fn key_test(&mut self, column: &str, keys: KeyTest) -> String;

    /// A `SELECT` of one column: `ids`.
    fn listed_ids(&mut self, ids: Vec<String>) -> String;

    /// Some value of `r` is a string equal to one of `values` (as given, not folded).
    fn holds_text(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        values: Vec<String>,
    ) -> Option<String>;

    /// SQL for the union of `lookups` (the resources any of them finds), or `None`: one
    /// `r.id IN (…)` for the lookups that need no document test (a union of at most 100
    /// `SELECT`s each: SQLite's default limit on a compound `SELECT` is 500), and each
    /// caseExact one with its test of the documents.
    fn lookups(&mut self, scope: &mut Scope<'_>, lookups: Vec<Lookup<'_>>) -> Option<String> {
        let mut selects = Vec::with_capacity(lookups.len());
        let mut tests = Vec::with_capacity(lookups.len());
        for l in lookups {
            let (rows, column) = self.lookup_rows(scope, &l);
            let test = self.key_test(&column, l.keys);
            let mut ids = format!("{rows} AND {test}");
            match l.verify {
                None => selects.push(ids),
                Some((attr, values)) => {
                    if l.source == Source::Id {
                        // A document whose `id` is its row id (every one the engine writes).
                        ids = format!("{} UNION ALL {ids}", self.listed_ids(values.clone()));
                    }
                    let holds = self.holds_text(scope, &attr, values)?;
                    tests.push(format!("(r.id IN ({ids}) AND {holds})"));
                }
            }
        }
        for chunk in selects.chunks(100) {
            tests.push(format!("r.id IN ({})", chunk.join(" UNION ALL ")));
        }
        Some(match tests.len() {
            1 => tests.pop().unwrap_or_default(),
            _ => balanced::<Self>(&tests, "OR"),
        })
    }
}

/// The filter translator: the walk over [`ResolvedNode`], writing SQL through `D`.
pub struct Translator<'a, D: Dialect> {
    dialect: &'a mut D,
    scope: Scope<'a>,
}

impl<'a, D: Dialect> Translator<'a, D> {
    /// A translator writing through `dialect`, for a store laid out as `layout`.
    pub fn new(dialect: &'a mut D, layout: Layout<'a>) -> Self {
        Translator {
            dialect,
            scope: Scope::new(layout),
        }
    }

    /// Translates `filter`. Whatever is not kept in the result (`Frag::All`, a branch
    /// abandoned on the way) has left no parameter behind; the result holds no lookup.
    pub fn translate<'r>(mut self, filter: &'r ResolvedNode) -> Frag<'r> {
        let mark = self.dialect.mark();
        let frag = self.visit(filter);
        let frag = match self.finish(frag) {
            frag if self.dialect.mark() <= D::MAX_PARAMS => frag,
            _ => Frag::All,
        };
        self.kept(mark, frag)
    }

    /// `frag`, after taking back the parameters pushed since `mark` when it holds no SQL
    /// (lookups push theirs only when [`Translator::finish`] turns them into SQL).
    fn kept<'r>(&mut self, mark: usize, frag: Frag<'r>) -> Frag<'r> {
        if matches!(frag, Frag::All | Frag::Ids(_)) {
            self.dialect.rollback(mark);
        }
        frag
    }

    /// Translates one node of the filter. A node that yields no SQL takes back every
    /// parameter its branches pushed, so a parent that drops it (an `and`) or gives up (an
    /// `or`, a `not`) keeps only the parameters of what it keeps.
    fn visit<'r>(&mut self, node: &'r ResolvedNode) -> Frag<'r> {
        let mark = self.dialect.mark();
        let frag = match node {
            ResolvedNode::Leaf(attr, condition) => self.condition(attr.into(), condition),
            ResolvedNode::ValuePath(attr, inner) => match self.as_leaf(attr, inner) {
                Some((attr, condition)) => self.condition(attr, condition),
                None => self.value_path(attr, inner),
            },
            ResolvedNode::Not(inner) => {
                let inner = self.visit(inner);
                self.not(inner)
            }
            ResolvedNode::And(ops) => {
                let ops = ops.iter().map(|o| self.visit(o)).collect();
                self.join(ops, "AND")
            }
            ResolvedNode::Or(ops) => {
                let ops = ops.iter().map(|o| self.visit(o)).collect();
                self.or(ops)
            }
            // A node this translation does not know: the engine filters in memory.
            _ => Frag::All,
        };
        self.kept(mark, frag)
    }

    /// `members[value eq "x"]` (or `sw`, or an `eq` set) as the leaf `members.value eq "x"`
    /// (so the `value_key` index answers it): the same when every element is an object with
    /// a string `value` (not `irregular`). `None` for any other value path.
    fn as_leaf<'r>(
        &self,
        attr: &'r ResolvedAttr,
        inner: &'r ResolvedNode,
    ) -> Option<(Attr<'r>, &'r Condition)> {
        let outer = Attr::from(attr);
        let layout = self.scope.layout();
        if layout.irregular || outer.sub.is_some() || self.scope.out_of_line(&outer) != Some(true) {
            return None;
        }
        let ResolvedNode::Leaf(value, condition) = inner else {
            return None;
        };
        // Only the operators an index answers (`ne`, any-match like the others, reads the
        // elements either way).
        let indexable = match condition {
            Condition::Text(t) => matches!(t.op(), CompareOp::Eq | CompareOp::Sw),
            Condition::TextIn(_) => true,
            _ => false,
        };
        let plain = value.location() == &Location::Element && value.sub_attr().is_none();
        if !indexable || !plain || value.name() != "value" {
            return None;
        }
        Some((
            Attr {
                sub: Some(value.name()),
                info: value.info(),
                ..outer
            },
            condition,
        ))
    }

    /// A leaf: some value of `r` passes `condition`.
    fn condition<'r>(&mut self, r: Attr<'r>, condition: &'r Condition) -> Frag<'r> {
        if matches!(r.location, Location::Foreign) {
            // A schema the resource type does not have: no value, only `eq null` holds.
            let none = matches!(condition, Condition::Absent);
            return Frag::Exact(if none { D::TRUE } else { D::FALSE }.to_owned());
        }
        match condition {
            Condition::Present => self
                .dialect
                .present(&mut self.scope, &r)
                .map_or(Frag::All, Frag::Exact),
            Condition::Absent => self
                .dialect
                .present(&mut self.scope, &r)
                .map_or(Frag::All, |sql| Frag::Exact(format!("NOT {sql}"))),
            // `ne` is any-match like every operator: some simple value fails the `eq` test
            // (RFC 7644 §3.4.2.2).
            Condition::Ne(eq) => {
                self.scope.ne = true;
                let frag = match &**eq {
                    c @ (Condition::Bool(_)
                    | Condition::Number(_)
                    | Condition::Text(_)
                    | Condition::TextIn(_)) => self.dialect.compare(&mut self.scope, r, c),
                    _ => Frag::All,
                };
                self.scope.ne = false;
                frag
            }
            c @ (Condition::Bool(_)
            | Condition::Number(_)
            | Condition::Text(_)
            | Condition::TextIn(_)) => self.dialect.compare(&mut self.scope, r, c),
            _ => Frag::All,
        }
    }

    fn or<'r>(&mut self, operands: Vec<Frag<'r>>) -> Frag<'r> {
        if operands.iter().all(|f| matches!(f, Frag::Ids(_))) {
            // `a eq "x" or a eq "y" …` is one lookup of keys ("x", "y", …).
            let mut merged: Vec<Lookup<'r>> = Vec::new();
            for l in operands.into_iter().flat_map(|f| match f {
                Frag::Ids(l) => l,
                _ => Vec::new(),
            }) {
                if !merged.iter_mut().any(|m| m.merge(&l)) {
                    merged.push(l);
                }
            }
            return Frag::Ids(merged);
        }
        self.join(operands, "OR")
    }

    /// `operands` joined by `op` (`AND`, `OR`): exact when every operand is. An operand
    /// without SQL is dropped from an `and` (which then selects a superset) and gives up an
    /// `or`.
    fn join<'r>(&mut self, operands: Vec<Frag<'r>>, op: &str) -> Frag<'r> {
        let and = op == "AND";
        let mut exact = true;
        let mut parts = Vec::new();
        for f in operands {
            match self.finish(f) {
                Frag::Exact(s) => parts.push(s),
                Frag::Superset(s) => {
                    exact = false;
                    parts.push(s);
                }
                // Dropping a conjunct keeps every match.
                Frag::All | Frag::Ids(_) if and => exact = false,
                Frag::All | Frag::Ids(_) => return Frag::All,
            }
        }
        if and && parts.is_empty() {
            return Frag::All;
        }
        let sql = balanced::<D>(&parts, op);
        if exact {
            Frag::Exact(sql)
        } else {
            Frag::Superset(sql)
        }
    }

    fn not<'r>(&mut self, inner: Frag<'r>) -> Frag<'r> {
        // The translation never yields SQL NULL (every leaf is an EXISTS or an IN over
        // non-null ids), so NOT is exact.
        match self.finish(inner) {
            Frag::Exact(s) => Frag::Exact(format!("(NOT {s})")),
            _ => Frag::All,
        }
    }

    /// `attr[inner]`: some element of the attribute satisfies `inner`, translated in that
    /// element (the leaves of `inner` are at [`Location::Element`]).
    fn value_path<'r>(&mut self, attr: &'r ResolvedAttr, inner: &'r ResolvedNode) -> Frag<'r> {
        let r = Attr::from(attr);
        if matches!(r.location, Location::Foreign) {
            // A schema the resource type does not have: no values to look into.
            return Frag::Exact(D::FALSE.to_owned());
        }
        let vp = self.scope.alias("vp");
        self.scope.frames.push(vp.clone());
        let inner = self.visit(inner);
        self.scope.frames.pop();
        let (inner, exact) = match self.finish(inner) {
            Frag::Exact(s) => (s, true),
            Frag::Superset(s) => (s, false),
            Frag::All | Frag::Ids(_) => (D::TRUE.to_owned(), false),
        };
        // In the enclosing scope, like the evaluator's value path.
        let Some(ool) = self.scope.out_of_line(&r) else {
            return Frag::All;
        };
        match self.dialect.elements(&mut self.scope, &r, ool, &vp, &inner) {
            None => Frag::All,
            Some(sql) if exact => Frag::Exact(sql),
            Some(sql) => Frag::Superset(sql),
        }
    }

    /// `f` with its lookups turned into SQL (or nothing, and no parameter left behind).
    fn finish<'r>(&mut self, f: Frag<'r>) -> Frag<'r> {
        match f {
            Frag::Ids(lookups) => {
                let mark = self.dialect.mark();
                let frag = self
                    .dialect
                    .lookups(&mut self.scope, lookups)
                    .map_or(Frag::All, Frag::Exact);
                self.kept(mark, frag)
            }
            other => other,
        }
    }
}

/// `parts` joined by `op` (`AND`, `OR`) as a balanced tree of parentheses: a long `and` of
/// `or` stays far below a database's limit on expression depth (SQLite's is 1000), which a
/// flat chain of a thousand terms (as a 16 KiB filter can hold) would exceed.
pub fn balanced<D: Dialect + ?Sized>(parts: &[String], op: &str) -> String {
    match parts {
        // The identity of `op`: an empty `and` holds, an empty `or` does not.
        [] if op == "AND" => D::TRUE.to_owned(),
        [] => D::FALSE.to_owned(),
        [one] => one.clone(),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            format!(
                "({} {op} {})",
                balanced::<D>(left, op),
                balanced::<D>(right, op)
            )
        }
    }
}

/// The SQL operator of an ordering or `eq` (`=` for anything else).
pub fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        _ => "=",
    }
}
