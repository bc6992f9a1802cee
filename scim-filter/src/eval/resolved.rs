//! The resolved form of a compiled filter, the store-facing contract: see [`ResolvedNode`].

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use super::attr_schema::{AttrInfo, AttrType, CustomType};
use super::datetime::Instant;
use super::text::Fold;
use crate::CompareOp;

/// A node of a filter resolved against a schema: what a store translates into its own query
/// language (SQL of any dialect, LDAP, …) without a schema of its own.
///
/// [`CompiledFilter::resolved`](crate::CompiledFilter::resolved) is the tree the evaluator
/// itself runs, so a translation of it has the evaluator's semantics by construction
/// (RFC 7644 §3.4.2.2 as `scim_filter` implements it, see [`crate::CompiledFilter`]):
///
/// - every attribute path is resolved once, at compile time: where its values are
///   ([`Location`]), its name and sub-attribute (ASCII-lower-cased: names are
///   case-insensitive, RFC 7643 §2.1), and what the schema says of it ([`AttrInfo`]: type,
///   caseExact, multiValued, custom type) — [`ResolvedAttr`];
/// - a complex attribute compared with a value compares its `value` sub-attribute, with that
///   sub-attribute's characteristics (`emails co "x"` is a leaf on `emails.value`); `pr` and
///   `eq null` stay on the attribute;
/// - every literal is in the form the comparison uses ([`Condition`]): strings folded when
///   not caseExact (and normalised by a custom type), a dateTime literal also as an
///   [`Instant`], numbers as [`NumberLiteral`]; `ne` is [`Condition::Ne`] around its `eq`;
///   `eq null` is [`Condition::Absent`], `ne null` is [`Condition::Present`];
/// - OR-chains of string `eq` on one attribute are grouped ([`Condition::TextIn`]);
/// - operator/type combinations the evaluator refuses never reach this tree (compiling
///   fails with [`CompileError`](crate::CompileError)).
///
/// Every leaf holds when *some* value of the attribute (any element of a multi-valued one)
/// passes its condition. This is the store-facing contract, and it is dialect-neutral:
/// nothing in it is SQL, and every store (SQLite's, a PostgreSQL one, an LDAP gateway)
/// translates the same tree. A store translates the nodes it can express exactly and
/// reports the rest as not applied (the engine then finishes in memory). The enums are
/// `#[non_exhaustive]`: a node or condition a store does not know (its `_` arm) is one it
/// reports as not applied.
///
/// ```
/// use scim_filter::{CompiledFilter, Condition, Filter, Location, ResolvedNode, Schemaless};
///
/// // A toy translator: each leaf to `location/name[.sub] condition`.
/// fn show(node: &ResolvedNode) -> String {
///     match node {
///         ResolvedNode::And(ops) => ops.iter().map(show).collect::<Vec<_>>().join(" AND "),
///         ResolvedNode::Or(ops) => ops.iter().map(show).collect::<Vec<_>>().join(" OR "),
///         ResolvedNode::Not(inner) => format!("NOT ({})", show(inner)),
///         ResolvedNode::Leaf(attr, cond) => {
///             let place = match attr.location() {
///                 Location::Core => "core".to_owned(),
///                 Location::Extension(urn) => urn.to_string(),
///                 other => format!("{other:?}"),
///             };
///             let what = match cond {
///                 Condition::Present => "present".to_owned(),
///                 Condition::Text(t) => format!("{} {:?}", t.op(), t.literal()),
///                 other => format!("{other:?}"),
///             };
///             let sub = attr.sub_attr().map(|s| format!(".{s}")).unwrap_or_default();
///             format!("{place}/{}{sub} {what}", attr.name())
///         }
///         ResolvedNode::ValuePath(attr, inner) => format!("{}[{}]", attr.name(), show(inner)),
///         _ => "?".to_owned(),
///     }
/// }
///
/// let f = Filter::parse(r#"userName sw "BJ" and emails[type eq "work"]"#)?;
/// let c = CompiledFilter::compile(&f, &Schemaless)?;
/// assert_eq!(
///     show(c.resolved()),
///     r#"core/username sw "bj" AND emails[Element/type eq "work"]"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ResolvedNode {
    /// Every operand holds (an empty `And` holds).
    And(Box<[ResolvedNode]>),
    /// Some operand holds (an empty `Or` does not).
    Or(Box<[ResolvedNode]>),
    /// The operand does not hold. Every node is two-valued: `not` of a comparison on a
    /// missing attribute holds.
    Not(Box<ResolvedNode>),
    /// Some value of the attribute passes the condition.
    Leaf(ResolvedAttr, Condition),
    /// A value path (`emails[type eq "work"]`): some value of the attribute — each element
    /// of an array (a simple one tested as `{"value": element}`), or the attribute's object
    /// itself — satisfies the inner node as a whole. The inner node's attributes are at
    /// [`Location::Element`].
    ValuePath(ResolvedAttr, Box<ResolvedNode>),
}

/// Where an attribute's values are in a resource's JSON.
///
/// ```
/// use scim_filter::{CompiledFilter, Filter, Location, ResolvedNode, Schemaless};
/// let f = Filter::parse("urn:example:ext:1.0:User:badge pr")?;
/// // Schemaless: the URN is unknown, so it is the extension when the resource has it.
/// let c = CompiledFilter::compile(&f, &Schemaless)?;
/// let ResolvedNode::Leaf(attr, _) = c.resolved() else { unreachable!() };
/// assert_eq!(attr.location(), &Location::ExtensionOrCore("urn:example:ext:1.0:user".into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// At the top level of the resource: the core schema's attributes, or a path without
    /// a URN.
    Core,
    /// Inside the object keyed by this extension URN (RFC 7643 §3.3), ASCII-lower-cased.
    Extension(Box<str>),
    /// A URN the schema does not know (or no schema): inside the object keyed by it when the
    /// resource has such a key (whatever its value), else at the top level.
    ExtensionOrCore(Box<str>),
    /// A schema URN that is not one of the resource type's (RFC 7644 §3.10): the path names
    /// nothing, so the attribute has no value and only `eq null` (and `not` of the others)
    /// holds.
    Foreign,
    /// Inside a value path's brackets (or a filter compiled with
    /// [`CompiledFilter::compile_for_values`](crate::CompiledFilter::compile_for_values)):
    /// in the element being tested (of the innermost enclosing
    /// [`ResolvedNode::ValuePath`]); the name is a sub-attribute of the value path's
    /// attribute, and [`ResolvedAttr::info`] is that sub-attribute's (`emails.type` inside
    /// `emails[type eq "work"]`).
    Element,
}

/// An attribute path resolved against the schema: where its values are, its name, its
/// sub-attribute, and what the schema knows of it.
///
/// ```
/// use scim_filter::{AttrInfo, AttrPath, AttrSchema, AttrType, CompiledFilter, Filter, ResolvedNode};
/// struct Schema;
/// impl AttrSchema for Schema {
///     fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
///         path.name.eq_ignore_ascii_case("userName")
///             .then(|| AttrInfo::new(AttrType::String).case_exact(true))
///     }
/// }
/// let c = CompiledFilter::compile(&Filter::parse(r#"UserName eq "Bjensen""#)?, &Schema)?;
/// let ResolvedNode::Leaf(attr, _) = c.resolved() else { unreachable!() };
/// assert_eq!((attr.name(), attr.sub_attr()), ("username", None));
/// assert_eq!(attr.attr_type(), Some(AttrType::String));
/// assert!(attr.case_exact() && attr.multi_valued() == Some(false));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ResolvedAttr {
    pub(crate) location: Location,
    pub(crate) name: Box<str>,
    pub(crate) sub: Option<Box<str>>,
    pub(crate) info: Option<AttrInfo>,
    /// Whether `info` says complex, kept apart for the evaluator's inner loop.
    pub(crate) complex: Option<bool>,
}

impl ResolvedAttr {
    /// Where the attribute's values are.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The attribute's name, ASCII-lower-cased (RFC 7643 §2.1: names are case-insensitive).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sub-attribute, ASCII-lower-cased: `value` for a complex attribute compared with a
    /// value (`emails co "x"`).
    pub fn sub_attr(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    /// What the schema says about the attribute (of the sub-attribute, when there is one);
    /// `None` when it does not know it: then values compare by their JSON type and strings
    /// case-insensitively.
    pub fn info(&self) -> Option<&AttrInfo> {
        self.info.as_ref()
    }

    /// The schema's type, if known.
    pub fn attr_type(&self) -> Option<AttrType> {
        self.info.as_ref().map(|i| i.attr_type)
    }

    /// Whether strings compare case-sensitively (RFC 7643 §2.2; unknown: false).
    pub fn case_exact(&self) -> bool {
        self.info.as_ref().is_some_and(|i| i.case_exact)
    }

    /// Whether the schema says the attribute is multi-valued (`None`: unknown).
    pub fn multi_valued(&self) -> Option<bool> {
        self.info.as_ref().map(|i| i.multi_valued)
    }

    /// Whether the schema says the attribute is complex (`None`: unknown). A complex
    /// attribute compared with a value has already become its `value` sub-attribute; one
    /// left without a sub-attribute (an unknown attribute, `pr`, `eq null`) that holds an
    /// object compares that object's `value`, unless the schema says it is not complex.
    pub fn is_complex(&self) -> Option<bool> {
        self.complex
    }

    /// The host-defined type that normalises values before comparison, if any.
    pub fn custom(&self) -> Option<&Arc<dyn CustomType>> {
        self.info.as_ref().and_then(|i| i.custom.as_ref())
    }

    /// Whether `other` names the same values (location, name and sub-attribute).
    pub(crate) fn same_place(&self, other: &ResolvedAttr) -> bool {
        self.location == other.location && self.name == other.name && self.sub == other.sub
    }
}

/// What some value of a leaf's attribute must pass. Each value is tested on its own; a
/// value of another JSON type than the condition's fails it.
///
/// ```
/// use scim_filter::{CompiledFilter, CompareOp, Condition, Filter, ResolvedNode};
/// let c = CompiledFilter::compile_schemaless(&Filter::parse(r#"title ne "Boss""#)?)?;
/// let ResolvedNode::Leaf(_, Condition::Ne(eq)) = c.resolved() else { unreachable!() };
/// let Condition::Text(t) = &**eq else { unreachable!() };
/// assert_eq!((t.op(), t.literal()), (CompareOp::Eq, "boss"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Condition {
    /// `pr` (and `ne null`): the attribute has a value — RFC 7643 §2.5: `null`, `""`, `[]`
    /// and `{}` are unassigned, and a container has a value when something in it does.
    Present,
    /// `eq null`: the attribute has no value (the negation of [`Condition::Present`]). The
    /// one condition that holds on a missing attribute.
    Absent,
    /// `eq true` / `eq false`: a JSON boolean equal to this.
    Bool(bool),
    /// A number compared by value: a JSON number; integers exactly, anything else as `f64`.
    Number(NumberTest),
    /// A string comparison: a JSON string.
    Text(TextTest),
    /// An OR-chain of string `eq` on one attribute (four literals or more; the `or` of
    /// nothing else is this leaf alone): a JSON string equal to one of these literals (never
    /// a dateTime literal nor a custom type).
    TextIn(TextSet),
    /// `ne`: a simple value (string, number or boolean) that fails this `eq` condition
    /// (RFC 7644 §3.4.2.2 "not identical"; like every operator, false on a missing
    /// attribute).
    Ne(Box<Condition>),
}

/// A number literal as the evaluator compares it.
///
/// ```
/// use scim_filter::{CompiledFilter, Condition, Filter, NumberLiteral, ResolvedNode};
/// let c = CompiledFilter::compile_schemaless(&Filter::parse("score ge 4.5")?)?;
/// let ResolvedNode::Leaf(_, Condition::Number(n)) = c.resolved() else { unreachable!() };
/// assert_eq!(n.literal(), NumberLiteral::Float(4.5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum NumberLiteral {
    /// A literal that is an `i64`: compared exactly with integer values, as `f64` with the
    /// others.
    Int(i64),
    /// Any other literal (a fraction, an exponent, an integer beyond `i64`): compared as
    /// `f64`.
    Float(f64),
}

impl From<&serde_json::Number> for NumberLiteral {
    fn from(n: &serde_json::Number) -> Self {
        match n.as_i64() {
            Some(i) => NumberLiteral::Int(i),
            None => NumberLiteral::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }
}

/// A comparison of numbers: [`Condition::Number`].
///
/// ```
/// use scim_filter::{CompareOp, CompiledFilter, Condition, Filter, NumberLiteral, ResolvedNode};
/// let c = CompiledFilter::compile_schemaless(&Filter::parse("loginCount gt 3")?)?;
/// let ResolvedNode::Leaf(_, Condition::Number(n)) = c.resolved() else { unreachable!() };
/// assert_eq!((n.op(), n.literal()), (CompareOp::Gt, NumberLiteral::Int(3)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NumberTest {
    /// `eq` or an ordering (`ne` is [`Condition::Ne`] around `eq`).
    pub(crate) op: CompareOp,
    pub(crate) lit: NumberLiteral,
}

impl NumberTest {
    /// The operator: `eq` or an ordering (`gt`, `ge`, `lt`, `le`).
    pub fn op(&self) -> CompareOp {
        self.op
    }

    /// The literal.
    pub fn literal(&self) -> NumberLiteral {
        self.lit
    }
}

/// A comparison of strings: [`Condition::Text`].
///
/// ```
/// use scim_filter::{CompareOp, CompiledFilter, Condition, Filter, Instant, ResolvedNode};
/// let c = CompiledFilter::compile_schemaless(&Filter::parse(r#"meta.created gt "2020-01-01T00:00:00Z""#)?)?;
/// let ResolvedNode::Leaf(_, Condition::Text(t)) = c.resolved() else { unreachable!() };
/// assert_eq!(t.op(), CompareOp::Gt);
/// assert_eq!(t.instant(), Instant::parse("2020-01-01T00:00:00Z"));
/// assert_eq!(t.literal(), "2020-01-01t00:00:00z"); // folded: not caseExact
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TextTest {
    /// Never `ne` (that is [`Condition::Ne`] around `eq`).
    pub(crate) op: CompareOp,
    /// The literal, folded per `fold` (and normalised by `custom`).
    pub(crate) lit: Box<str>,
    pub(crate) fold: Fold,
    /// The literal as an instant, when it is a dateTime and `op` is not a substring test.
    pub(crate) instant: Option<Instant>,
    pub(crate) custom: Option<Arc<dyn CustomType>>,
}

impl TextTest {
    /// The operator: `eq`, `co`, `sw`, `ew`, `gt`, `ge`, `lt` or `le`.
    pub fn op(&self) -> CompareOp {
        self.op
    }

    /// The literal in comparable form: normalised by the [custom type](Self::custom) if
    /// any, then Unicode-lower-cased (`str::to_lowercase`) unless caseExact. A value
    /// compares after the same steps; orderings compare code points.
    pub fn literal(&self) -> &str {
        &self.lit
    }

    /// Whether the comparison is case-sensitive (the attribute's caseExact).
    pub fn case_exact(&self) -> bool {
        self.fold == Fold::Exact
    }

    /// The literal as an instant, when it is an xsd:dateTime and the operator is not a
    /// substring one: a value that is a dateTime ([`Instant::parse`]) then compares as an
    /// instant, any other string as text. `None` for a custom type.
    pub fn instant(&self) -> Option<Instant> {
        self.instant
    }

    /// The host-defined type that normalises values before they compare, if any.
    pub fn custom(&self) -> Option<&Arc<dyn CustomType>> {
        self.custom.as_ref()
    }
}

/// String `eq` against a set of literals: [`Condition::TextIn`].
///
/// ```
/// use scim_filter::{CompiledFilter, Condition, Filter, ResolvedNode};
/// let f = Filter::parse(r#"id eq "A" or id eq "b" or id eq "c" or id eq "d""#)?;
/// let c = CompiledFilter::compile_schemaless(&f)?;
/// let ResolvedNode::Leaf(attr, Condition::TextIn(set)) = c.resolved() else { unreachable!() };
/// assert_eq!(attr.name(), "id");
/// assert_eq!(set.literals(), ["a", "b", "c", "d"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TextSet {
    pub(crate) fold: Fold,
    pub(crate) set: HashSet<Box<str>>,
}

impl TextSet {
    /// The literals, sorted (folded as [`TextTest::literal`] is).
    pub fn literals(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.set.iter().map(|s| &**s).collect();
        out.sort_unstable();
        out
    }

    /// Whether the comparison is case-sensitive (the attribute's caseExact).
    pub fn case_exact(&self) -> bool {
        self.fold == Fold::Exact
    }
}

impl fmt::Debug for TextSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextSet")
            .field("case_exact", &self.case_exact())
            .field("literals", &self.literals())
            .finish()
    }
}
