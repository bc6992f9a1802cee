//! Turning a [`Filter`] into an evaluation tree: paths resolved, literals normalised,
//! impossible operator/type combinations refused, long `eq` OR-chains turned into sets.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use super::attr_schema::{AttrInfo, AttrSchema, AttrType, CustomType, Schemaless, UrnLocation};
use super::datetime::{parse_instant, Instant};
use super::resolved::{
    Condition, Location, NumberLiteral, NumberTest, ResolvedAttr, ResolvedNode, TextSet, TextTest,
};
use super::text::Fold;
use crate::{AttrPath, CompValue, CompareOp, Filter};

/// A filter compiled for fast, repeated evaluation against JSON resources.
///
/// ```
/// use scim_filter::{CompiledFilter, Filter};
/// use serde_json::json;
/// let f = CompiledFilter::compile_schemaless(&Filter::parse(r#"meta.created ge "2020-01-01T00:00:00Z""#)?)?;
/// assert!(f.matches(&json!({"meta": {"created": "2020-01-01T01:00:00+01:00"}})));
/// assert!(!f.matches(&json!({"meta": {"created": "2019-12-31T23:59:59Z"}})));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    root: ResolvedNode,
}

/// Why a parsed filter cannot be evaluated: an operator that the attribute's type does not
/// support, or a literal that is not a value of that type. Maps to scimType
/// `invalidFilter`, status 400 (RFC 7644 §3.4.2.2, table 9).
///
/// ```
/// use scim_filter::{CompiledFilter, Filter};
/// let err = CompiledFilter::compile_schemaless(&Filter::parse("active gt true").unwrap()).unwrap_err();
/// assert_eq!(err.scim_type(), "invalidFilter");
/// assert_eq!(err.to_string(), "invalid filter: operator `gt` cannot compare `active` with a boolean");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    path: String,
    kind: CompileErrorKind,
}

/// The reasons for a [`CompileError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileErrorKind {
    /// The operator does not apply to the literal, e.g. `active gt true`, `title co 3`.
    OperatorLiteral {
        /// The operator.
        op: CompareOp,
        /// The literal's kind ("boolean", "null", "number").
        literal: &'static str,
    },
    /// The operator does not apply to the attribute type, e.g. `gt` on a boolean attribute.
    OperatorType {
        /// The operator.
        op: CompareOp,
        /// The attribute's type.
        attr_type: AttrType,
    },
    /// The literal is not a valid value of the attribute's type, e.g. a dateTime
    /// attribute compared with `"yesterday"`.
    InvalidLiteral {
        /// The expected type name.
        expected: String,
    },
}

impl CompileError {
    /// The attribute path the error is about.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What went wrong.
    pub fn kind(&self) -> &CompileErrorKind {
        &self.kind
    }

    /// Always `invalidFilter`.
    pub fn scim_type(&self) -> crate::ScimType {
        crate::ScimType::InvalidFilter
    }

    /// Always 400.
    pub fn status(&self) -> u16 {
        400
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match &self.kind {
            CompileErrorKind::OperatorLiteral { op, literal } => write!(
                f,
                "invalid filter: operator `{op}` cannot compare `{path}` with a {literal}"
            ),
            CompileErrorKind::OperatorType { op, attr_type } => write!(
                f,
                "invalid filter: operator `{op}` is not supported for {attr_type} attribute `{path}`"
            ),
            CompileErrorKind::InvalidLiteral { expected } => write!(
                f,
                "invalid filter: the value compared with `{path}` is not a valid {expected}"
            ),
        }
    }
}

impl std::error::Error for CompileError {}

/// OR-chains with at least this many `eq` tests on one attribute become a set lookup.
const SET_THRESHOLD: usize = 4;

impl CompiledFilter {
    /// Compiles `filter` against what `schema` knows about its attributes.
    ///
    /// ```
    /// use scim_filter::{CompiledFilter, Filter, Schemaless};
    /// let f = CompiledFilter::compile(&Filter::parse("title pr")?, &Schemaless)?;
    /// assert!(f.matches(&serde_json::json!({"title": "Tour Guide"})));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile<S: AttrSchema + ?Sized>(
        filter: &Filter,
        schema: &S,
    ) -> Result<Self, CompileError> {
        let root = Compiler { schema }.node(filter, None)?;
        Ok(CompiledFilter { root })
    }

    /// Compiles without a schema: types come from the JSON values, strings compare
    /// case-insensitively.
    ///
    /// ```
    /// use scim_filter::{CompiledFilter, Filter};
    /// let f = CompiledFilter::compile_schemaless(&Filter::parse(r#"userName eq "BJensen""#)?)?;
    /// assert!(f.matches(&serde_json::json!({"UserName": "bjensen"})));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile_schemaless(filter: &Filter) -> Result<Self, CompileError> {
        Self::compile(filter, &Schemaless)
    }

    /// Compiles the filter of a value path (`emails[type eq "work"]`) for testing the
    /// values of attribute `parent` one by one: paths inside are relative to a value, and
    /// the schema is asked about `parent.sub`. [`CompiledFilter::matches_value`] then
    /// tests one value.
    ///
    /// ```
    /// use scim_filter::{AttrPath, CompiledFilter, Filter, Schemaless};
    /// let f = Filter::parse(r#"type eq "work" and primary eq true"#)?;
    /// let c = CompiledFilter::compile_for_values(&AttrPath::new("emails"), &f, &Schemaless)?;
    /// assert!(c.matches_value(&serde_json::json!({"type": "work", "primary": true})));
    /// assert!(!c.matches_value(&serde_json::json!({"type": "home", "primary": true})));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile_for_values<S: AttrSchema + ?Sized>(
        parent: &AttrPath,
        filter: &Filter,
        schema: &S,
    ) -> Result<Self, CompileError> {
        let root = Compiler { schema }.node(filter, Some(parent))?;
        Ok(CompiledFilter { root })
    }

    /// Tests one value of a multi-valued attribute against a filter from
    /// [`CompiledFilter::compile_for_values`]. A simple (non-object) value is tested as
    /// `{"value": v}`, so `schemas[value eq "…"]` works.
    pub fn matches_value(&self, value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => self.root.eval(map),
            serde_json::Value::Null => false,
            scalar => {
                let mut wrapped = serde_json::Map::new();
                wrapped.insert("value".to_owned(), scalar.clone());
                self.root.eval(&wrapped)
            }
        }
    }

    /// Whether `resource` satisfies the filter. Anything that is not a JSON object never
    /// matches; evaluation never fails and never panics.
    ///
    /// ```
    /// use scim_filter::{CompiledFilter, Filter};
    /// let f = CompiledFilter::compile_schemaless(&Filter::parse("not (title pr)")?)?;
    /// assert!(f.matches(&serde_json::json!({"title": null})));
    /// assert!(!f.matches(&serde_json::json!([1, 2])));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches(&self, resource: &serde_json::Value) -> bool {
        match resource {
            serde_json::Value::Object(map) => self.root.eval(map),
            _ => false,
        }
    }

    /// Whether `resource` (a JSON object's map) satisfies the filter.
    ///
    /// ```
    /// use scim_filter::{CompiledFilter, Filter};
    /// let f = CompiledFilter::compile_schemaless(&Filter::parse("active eq true")?)?;
    /// let serde_json::Value::Object(map) = serde_json::json!({"active": true}) else { unreachable!() };
    /// assert!(f.matches_map(&map));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches_map(&self, resource: &serde_json::Map<String, serde_json::Value>) -> bool {
        self.root.eval(resource)
    }

    /// The filter as compiled: every attribute path resolved against the schema and every
    /// literal in the form it compares, the very tree [`CompiledFilter::matches`] runs. It
    /// is what a store translates into its own query language, needing no schema of its
    /// own: see [`ResolvedNode`] for the contract.
    ///
    /// ```
    /// use scim_filter::{AttrInfo, AttrPath, AttrSchema, AttrType, CompiledFilter, Condition, Filter, Location, ResolvedNode, UrnLocation};
    /// const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    /// struct Users;
    /// impl AttrSchema for Users {
    ///     fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
    ///         match (path.name.as_str(), path.sub_attr.as_deref()) {
    ///             ("manager", None) => Some(AttrInfo::new(AttrType::Complex)),
    ///             ("manager", Some("value")) => Some(AttrInfo::new(AttrType::String).case_exact(true)),
    ///             _ => None,
    ///         }
    ///     }
    ///     fn urn_location(&self, urn: &str) -> Option<UrnLocation> {
    ///         Some(if urn.eq_ignore_ascii_case(ENTERPRISE) { UrnLocation::Extension } else { UrnLocation::Foreign })
    ///     }
    /// }
    /// // A complex attribute compared with a value compares its `value`.
    /// let f = Filter::parse(&format!(r#"{ENTERPRISE}:manager eq "Boss""#))?;
    /// let c = CompiledFilter::compile(&f, &Users)?;
    /// let ResolvedNode::Leaf(attr, Condition::Text(t)) = c.resolved() else { unreachable!() };
    /// assert_eq!(attr.location(), &Location::Extension(ENTERPRISE.to_ascii_lowercase().into()));
    /// assert_eq!((attr.name(), attr.sub_attr()), ("manager", Some("value")));
    /// assert!(attr.case_exact() && t.case_exact());
    /// assert_eq!(t.literal(), "Boss");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolved(&self) -> &ResolvedNode {
        &self.root
    }
}

struct Compiler<'s, S: ?Sized> {
    schema: &'s S,
}

impl<S: AttrSchema + ?Sized> Compiler<'_, S> {
    /// `parent` is the valuePath attribute when compiling inside brackets.
    fn node(
        &self,
        filter: &Filter,
        parent: Option<&AttrPath>,
    ) -> Result<ResolvedNode, CompileError> {
        Ok(match filter {
            Filter::Present(path) => {
                ResolvedNode::Leaf(self.resolve(path, parent), Condition::Present)
            }
            Filter::Compare { path, op, value } => self.compare(path, *op, value, parent)?,
            Filter::ValuePath(vp) => {
                let attr = self.resolve(&vp.attr, parent);
                let inner = self.node(&vp.filter, Some(&vp.attr))?;
                ResolvedNode::ValuePath(attr, Box::new(inner))
            }
            Filter::Not(inner) => ResolvedNode::Not(Box::new(self.node(inner, parent)?)),
            Filter::And(ops) => ResolvedNode::And(
                ops.iter()
                    .map(|f| self.node(f, parent))
                    .collect::<Result<_, _>>()?,
            ),
            // A chain that became one node (one set) is that node.
            Filter::Or(ops) => match <[ResolvedNode; 1]>::try_from(self.or_chain(ops, parent)?) {
                Ok([only]) => only,
                Err(ops) => ResolvedNode::Or(ops.into_boxed_slice()),
            },
        })
    }

    /// An OR chain. String `eq` tests on one attribute (`id eq "a" or id eq "b" …`, as
    /// hosts build to fetch many resources at once) are grouped first, so the attribute is
    /// resolved once per chain rather than once per operand, and become one set lookup.
    /// Paths are grouped whatever their spelling: a name finds every key equal to it but for
    /// case (see `matcher::any_key`), so `userName` and `usernaMe` read the same values.
    fn or_chain(
        &self,
        ops: &[Filter],
        parent: Option<&AttrPath>,
    ) -> Result<Vec<ResolvedNode>, CompileError> {
        let mut groups: Vec<(&AttrPath, Vec<&str>)> = Vec::new();
        let mut nodes = Vec::with_capacity(ops.len());
        for f in ops {
            match f {
                Filter::Compare {
                    path,
                    op: CompareOp::Eq,
                    value: CompValue::String(s),
                } => match groups.iter_mut().find(|(p, _)| p.matches(path)) {
                    Some((_, lits)) => lits.push(s),
                    None => groups.push((path, vec![s])),
                },
                other => nodes.push(self.node(other, parent)?),
            }
        }
        for (path, lits) in groups {
            // A complex attribute compares its `value`, as each operand alone would.
            let attr = self.resolve(path, parent);
            let by_value = value_of_complex(path, attr.info(), &CompValue::String(String::new()));
            let (path, attr) = match &by_value {
                Some(value_path) => (value_path, self.resolve(value_path, parent)),
                None => (path, attr),
            };
            let plain = attr
                .info()
                .is_none_or(|i| i.custom.is_none() && i.attr_type != AttrType::DateTime);
            let mut set = HashSet::new();
            let fold = Fold::of(attr.info());
            for lit in lits {
                // dateTime literals compare as instants: they keep their own test.
                if plain && parse_instant(lit).is_none() {
                    set.insert(fold.literal(lit));
                } else {
                    nodes.push(self.compare(
                        path,
                        CompareOp::Eq,
                        &CompValue::String(lit.to_owned()),
                        parent,
                    )?);
                }
            }
            nodes.extend(eq_set_nodes(attr, fold, set));
        }
        Ok(merge_eq_sets(nodes))
    }

    /// `path` resolved: where its values are, its names as compared, and what the schema
    /// knows about it.
    fn resolve(&self, path: &AttrPath, parent: Option<&AttrPath>) -> ResolvedAttr {
        let absolute = match parent {
            // Inside brackets, `type` means `emails.type`.
            Some(parent) if path.urn.is_none() && path.sub_attr.is_none() => AttrPath {
                urn: parent.urn.clone(),
                name: parent.name.clone(),
                sub_attr: Some(path.name.clone()),
            },
            _ => path.clone(),
        };
        let info = self.schema.attribute(&absolute);
        // Names are case-insensitive (RFC 7643 §2.1): kept lower-cased, so that paths
        // spelled differently compare equal.
        let lower = |s: &str| -> Box<str> { s.to_ascii_lowercase().into() };
        let location = match (&path.urn, parent) {
            (_, Some(_)) => Location::Element,
            (Some(urn), None) => match self.schema.urn_location(urn) {
                Some(UrnLocation::Core) => Location::Core,
                Some(UrnLocation::Extension) => Location::Extension(lower(urn)),
                // RFC 7644 §3.10: a URN-qualified name is the attribute of that schema; a
                // schema the resource type does not have holds nothing.
                Some(UrnLocation::Foreign) => Location::Foreign,
                None => Location::ExtensionOrCore(lower(urn)),
            },
            (None, None) => Location::Core,
        };
        ResolvedAttr {
            location,
            name: lower(&path.name),
            sub: path.sub_attr.as_deref().map(lower),
            complex: info.as_ref().map(|i| i.attr_type == AttrType::Complex),
            info,
        }
    }

    fn compare(
        &self,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
        parent: Option<&AttrPath>,
    ) -> Result<ResolvedNode, CompileError> {
        let attr = self.resolve(path, parent);
        if let Some(value_path) = value_of_complex(path, attr.info(), value) {
            return self.compare(&value_path, op, value, parent);
        }
        let err = |kind| CompileError {
            path: path.to_string(),
            kind,
        };
        if let Some(t @ (AttrType::Boolean | AttrType::Binary | AttrType::Complex)) =
            attr.attr_type()
        {
            if op.is_ordering() || op.is_substring() {
                return Err(err(CompileErrorKind::OperatorType { op, attr_type: t }));
            }
        }
        let literal_err = |literal| err(CompileErrorKind::OperatorLiteral { op, literal });
        // Every operator, `ne` included, holds when it holds for some value (RFC 7644
        // §3.4.2.2): `ne` wants a value that is not identical to the literal, so it is false
        // on a missing attribute, and `not (… eq …)` stays the way to ask for "no value
        // equals". Below, `ne` is compiled as `eq` and wrapped at the end.
        let ne = op == CompareOp::Ne;
        let condition = match value {
            CompValue::Null => match op {
                CompareOp::Eq => Condition::Absent,
                // "Some value is not null": the attribute has a value.
                CompareOp::Ne => Condition::Present,
                _ => return Err(literal_err("null")),
            },
            CompValue::Bool(b) => match op {
                CompareOp::Eq | CompareOp::Ne => Condition::Bool(*b),
                _ => return Err(literal_err("boolean")),
            },
            CompValue::Number(n) => {
                if op.is_substring() {
                    return Err(literal_err("number"));
                }
                Condition::Number(NumberTest {
                    op: eq_for_ne(op),
                    lit: NumberLiteral::from(n),
                })
            }
            CompValue::String(s) => Condition::Text(self.string_test(op, s, attr.info(), &err)?),
        };
        Ok(match condition {
            Condition::Present | Condition::Absent => ResolvedNode::Leaf(attr, condition),
            condition if ne => ResolvedNode::Leaf(attr, Condition::Ne(Box::new(condition))),
            condition => ResolvedNode::Leaf(attr, condition),
        })
    }

    fn string_test(
        &self,
        op: CompareOp,
        lit: &str,
        info: Option<&AttrInfo>,
        err: &dyn Fn(CompileErrorKind) -> CompileError,
    ) -> Result<TextTest, CompileError> {
        let fold = Fold::of(info);
        let custom: Option<Arc<dyn CustomType>> = info.and_then(|i| i.custom.clone());
        let normalised;
        let lit = match &custom {
            Some(c) => {
                normalised = c.normalize(lit).ok_or_else(|| {
                    err(CompileErrorKind::InvalidLiteral {
                        expected: c.name().to_owned(),
                    })
                })?;
                normalised.as_str()
            }
            None => lit,
        };
        let is_datetime = info.is_some_and(|i| i.attr_type == AttrType::DateTime);
        // Substring operators look at the text; the others compare instants when both
        // sides are dateTimes (always, when the schema says so).
        let instant: Option<Instant> = if op.is_substring() || custom.is_some() {
            None
        } else {
            match parse_instant(lit) {
                Some(i) => Some(i),
                None if is_datetime => {
                    return Err(err(CompileErrorKind::InvalidLiteral {
                        expected: "dateTime".to_owned(),
                    }))
                }
                None => None,
            }
        };
        Ok(TextTest {
            op: eq_for_ne(op),
            lit: fold.literal(lit),
            fold,
            instant,
            custom,
        })
    }
}

/// The operator a test runs: `ne` is compiled as `eq`, wrapped in [`Condition::Ne`].
fn eq_for_ne(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Ne => CompareOp::Eq,
        other => other,
    }
}

/// `path.value` when `path` names a complex attribute (by the schema) and is compared with
/// a value: RFC 7644 §3.4.2.2 compares a complex attribute through its `value`
/// sub-attribute (`emails co "example.com"` is `emails.value co "example.com"`), with that
/// sub-attribute's type and caseExact, for every operator. `eq null` (and `ne null`) stay on
/// the attribute: they are the negation of `pr` (and `pr`), which asks whether the
/// attribute has any value.
fn value_of_complex(
    path: &AttrPath,
    info: Option<&AttrInfo>,
    value: &CompValue,
) -> Option<AttrPath> {
    let complex = info.is_some_and(|i| i.attr_type == AttrType::Complex);
    (complex && path.sub_attr.is_none() && !matches!(value, CompValue::Null)).then(|| AttrPath {
        urn: path.urn.clone(),
        name: path.name.clone(),
        sub_attr: Some("value".to_owned()),
    })
}

/// `eq` tests of one attribute against a set of folded literals: one set lookup from
/// [`SET_THRESHOLD`] literals on, else one test per literal (in the literals' order, so
/// that the tree is the same from one compilation to the next).
fn eq_set_nodes(attr: ResolvedAttr, fold: Fold, set: HashSet<Box<str>>) -> Vec<ResolvedNode> {
    if set.len() >= SET_THRESHOLD {
        return vec![ResolvedNode::Leaf(
            attr,
            Condition::TextIn(TextSet { fold, set }),
        )];
    }
    let mut lits: Vec<Box<str>> = set.into_iter().collect();
    lits.sort_unstable();
    lits.into_iter()
        .map(|lit| {
            ResolvedNode::Leaf(
                attr.clone(),
                Condition::Text(TextTest {
                    op: CompareOp::Eq,
                    lit,
                    fold,
                    instant: None,
                    custom: None,
                }),
            )
        })
        .collect()
}

/// Whether `t` is a plain string `eq` test that [`merge_eq_sets`] may put in a set.
fn plain_eq(t: &TextTest) -> bool {
    t.op == CompareOp::Eq && t.instant.is_none() && t.custom.is_none()
}

/// Replaces ≥ [`SET_THRESHOLD`] plain string `eq` tests on the same attribute inside one OR
/// chain by a single set lookup, so a 50-way OR costs one hash probe per value.
fn merge_eq_sets(nodes: Vec<ResolvedNode>) -> Vec<ResolvedNode> {
    let mergeable =
        |n: &ResolvedNode| matches!(n, ResolvedNode::Leaf(_, Condition::Text(t)) if plain_eq(t));
    if nodes.iter().filter(|n| mergeable(n)).count() < SET_THRESHOLD {
        return nodes;
    }
    let mut out: Vec<ResolvedNode> = Vec::with_capacity(nodes.len());
    let mut groups: Vec<(ResolvedAttr, Fold, HashSet<Box<str>>)> = Vec::new();
    for node in nodes {
        match node {
            ResolvedNode::Leaf(attr, Condition::Text(t)) if plain_eq(&t) => {
                match groups
                    .iter_mut()
                    .find(|(a, f, _)| a.same_place(&attr) && *f == t.fold)
                {
                    Some((_, _, set)) => {
                        set.insert(t.lit);
                    }
                    None => groups.push((attr, t.fold, HashSet::from([t.lit]))),
                }
            }
            other => out.push(other),
        }
    }
    for (attr, fold, set) in groups {
        out.extend(eq_set_nodes(attr, fold, set));
    }
    out
}
