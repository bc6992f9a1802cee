//! Filters on attributes the engine computes at read time. No stored document holds them, so
//! a filter evaluated on stored documents would find them absent: a silent empty result (or,
//! in a PATCH value filter, a silent no-op). Each one gets either the real answer or a clear
//! refusal:
//!
//! - **`groups` of a User** (RFC 7643 §4.1.2), real answer. A comparison, `pr` or value path
//!   on `groups` becomes one query on Groups — `value` is the group's `id`, `display` its
//!   `displayName`, `type` is `"direct"` — whose members are collected; the comparison is
//!   replaced by `id eq` those members (`groups eq null` by its negation). The store answers
//!   the rewritten filter as any other (by index in SQLite). The members collected are
//!   bounded by [`Config::max_filter_scan`](crate::Config::max_filter_scan) (`tooMany`
//!   beyond it).
//! - **`groups.$ref`, a Group's `members.display` and `members.$ref`, `meta.location` and
//!   `meta.version`**, refused with 400 `invalidFilter` naming the attribute:
//!   `members.display` is the name of each member's resource, so an answer would read every
//!   user and group that could match the name (unbounded), and the others are URLs and
//!   versions, answered by `value`, `id` or the ETag instead.

use scim_filter::{AttrPath, CompValue, CompareOp, CompiledFilter, Filter, ValuePath};
use scim_schema::{Location, ResourceTypeRef};
use serde_json::{json, Value};

use super::{Engine, Result};
use crate::store::Query;
use crate::{RequestContext, ScimError, ScimType, Store};

/// What a path names among the read-time attributes.
enum Kind {
    /// `groups` of a User, or one of its sub-attributes: answered through the Groups.
    Groups,
    /// Refused, with the attribute's name.
    Refused(String),
}

fn schema_is(rt: &ResourceTypeRef<'_>, urn: &str) -> bool {
    rt.definition().schema.eq_ignore_ascii_case(urn)
}

/// Whether `path` (absolute: inside `members[…]`, `display` is `members.display`) names a
/// read-time attribute of `rt`.
fn classify(rt: &ResourceTypeRef<'_>, path: &AttrPath) -> Option<Kind> {
    let r = rt.resolve(path)?;
    let attr = r.attribute.name.as_str();
    let sub = r.sub_attribute.map(|s| s.name.as_str());
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let refused = || Some(Kind::Refused(format!("{attr}.{}", sub.unwrap_or_default())));
    match (r.location, sub) {
        (Location::Core, Some(s))
            if schema_is(rt, scim_schema::urn::USER) && is(attr, "groups") && is(s, "$ref") =>
        {
            refused()
        }
        (Location::Core, _) if schema_is(rt, scim_schema::urn::USER) && is(attr, "groups") => {
            Some(Kind::Groups)
        }
        (Location::Core, Some(s))
            if schema_is(rt, scim_schema::urn::GROUP)
                && is(attr, "members")
                && (is(s, "display") || is(s, "$ref")) =>
        {
            refused()
        }
        (Location::Common, Some(s))
            if is(attr, "meta") && (is(s, "location") || is(s, "version")) =>
        {
            refused()
        }
        _ => None,
    }
}

fn refusal(attr: &str) -> ScimError {
    ScimError::bad_request(
        ScimType::InvalidFilter,
        format!("`{attr}` is computed when a resource is read and cannot be filtered on"),
    )
}

/// `path` inside `parent[...]`: `type` there means `emails.type`.
fn within(path: &AttrPath, parent: Option<&AttrPath>) -> AttrPath {
    match parent {
        Some(p) if path.urn.is_none() && path.sub_attr.is_none() => AttrPath {
            urn: p.urn.clone(),
            name: p.name.clone(),
            sub_attr: Some(path.name.clone()),
        },
        _ => path.clone(),
    }
}

/// Refuses (400 `invalidFilter`) a filter that reads a refused read-time attribute: in a
/// list filter, or in the value filter of a PATCH path (`members[display eq "x"]`).
pub(super) fn check_filter(
    rt: &ResourceTypeRef<'_>,
    filter: &Filter,
    parent: Option<&AttrPath>,
) -> Result<()> {
    match filter {
        Filter::Present(path) | Filter::Compare { path, .. } => {
            match classify(rt, &within(path, parent)) {
                Some(Kind::Refused(attr)) => Err(refusal(&attr)),
                _ => Ok(()),
            }
        }
        Filter::ValuePath(vp) => {
            let attr = within(&vp.attr, parent);
            if let Some(Kind::Refused(name)) = classify(rt, &attr) {
                return Err(refusal(&name));
            }
            check_filter(rt, &vp.filter, Some(&attr))
        }
        Filter::Not(inner) => check_filter(rt, inner, parent),
        Filter::And(ops) | Filter::Or(ops) => {
            ops.iter().try_for_each(|f| check_filter(rt, f, parent))
        }
        _ => Ok(()),
    }
}

/// [`check_filter`] for the value filter of a PATCH path `attr[filter]`.
pub(super) fn check_value_filter(
    rt: &ResourceTypeRef<'_>,
    attr: &AttrPath,
    filter: &Filter,
) -> Result<()> {
    if let Some(Kind::Refused(name)) = classify(rt, attr) {
        return Err(refusal(&name));
    }
    check_filter(rt, filter, Some(attr))
}

/// Whether `filter` names `groups`, `members` or `meta` anywhere (a cheap test before the
/// schema is asked: most filters name none of them).
fn mentions_read_time(filter: &Filter) -> bool {
    let named = |p: &AttrPath| {
        ["groups", "members", "meta"]
            .iter()
            .any(|n| p.name.eq_ignore_ascii_case(n))
    };
    match filter {
        Filter::Present(path) | Filter::Compare { path, .. } => named(path),
        Filter::ValuePath(vp) => named(&vp.attr),
        Filter::Not(inner) => mentions_read_time(inner),
        Filter::And(ops) | Filter::Or(ops) => ops.iter().any(mentions_read_time),
        _ => true,
    }
}

/// A filter that holds for every resource the engine stores (each has an `id`).
fn always() -> Filter {
    Filter::Present(AttrPath::new("id"))
}

fn never() -> Filter {
    Filter::Not(Box::new(always()))
}

fn truth(holds: bool) -> Filter {
    if holds {
        always()
    } else {
        never()
    }
}

/// One leaf on `groups`: the Groups whose members it selects.
struct Lookup {
    /// The Group filter (`None`: every group; `Some(never())` is not queried).
    groups: Option<Filter>,
    /// `groups eq null`: the users that are in none of them.
    absent: bool,
}

/// The leaf `f` on a User's `groups` as a [`Lookup`]; `None` when `f` is no such leaf.
fn lookup(rt: &ResourceTypeRef<'_>, f: &Filter) -> Option<Result<Lookup>> {
    let path = match f {
        Filter::Present(path) | Filter::Compare { path, .. } => path,
        Filter::ValuePath(vp) => &vp.attr,
        _ => return None,
    };
    if !matches!(classify(rt, path), Some(Kind::Groups)) {
        return None;
    }
    // The leaf as a filter on one `groups` value (`value`, `display`, `type`), then mapped
    // onto the Group that value stands for.
    let on_value = |name: &str| AttrPath::new(name);
    let (inner, absent) = match f {
        Filter::Present(p) => match &p.sub_attr {
            None => (None, false),
            Some(s) => (Some(Filter::Present(on_value(s))), false),
        },
        Filter::Compare {
            path: p,
            op,
            value: CompValue::Null,
        } => {
            let present = p.sub_attr.as_deref().map(|s| Filter::Present(on_value(s)));
            (present, *op == CompareOp::Eq)
        }
        Filter::Compare { path: p, op, value } => {
            // A complex attribute compares its `value` (RFC 7644 §3.4.2.2).
            let sub = p.sub_attr.as_deref().unwrap_or("value");
            (
                Some(Filter::compare(on_value(sub), *op, value.clone())),
                false,
            )
        }
        Filter::ValuePath(ValuePath { filter, .. }) => (Some((**filter).clone()), false),
        _ => return None,
    };
    Some(match inner.map(|i| on_group(&i)).transpose() {
        Ok(groups) => Ok(Lookup { groups, absent }),
        Err(e) => Err(e),
    })
}

/// A filter on one entry of `groups` (`{"value", "display", "type", "$ref"}`) as a filter on
/// the Group it names.
fn on_group(f: &Filter) -> Result<Filter> {
    Ok(match f {
        Filter::Present(p) => match entry_field(p)? {
            Field::Group(name) => Filter::Present(AttrPath::new(name)),
            Field::Direct => always(),
            Field::Unknown => never(),
        },
        Filter::Compare { path, op, value } => match entry_field(path)? {
            Field::Group(name) => Filter::compare(AttrPath::new(name), *op, value.clone()),
            // `type` is "direct" in every entry this engine shows.
            Field::Direct => {
                let test = Filter::compare(AttrPath::new("type"), *op, value.clone());
                let compiled = CompiledFilter::compile_schemaless(&test)?;
                truth(compiled.matches(&json!({"type": "direct"})))
            }
            // No such sub-attribute: no value, so only `eq null` holds.
            Field::Unknown => truth(matches!(value, CompValue::Null) && *op == CompareOp::Eq),
        },
        Filter::Not(inner) => Filter::Not(Box::new(on_group(inner)?)),
        Filter::And(ops) => Filter::And(ops.iter().map(on_group).collect::<Result<_>>()?),
        Filter::Or(ops) => Filter::Or(ops.iter().map(on_group).collect::<Result<_>>()?),
        _ => {
            return Err(ScimError::bad_request(
                ScimType::InvalidFilter,
                "this filter form is not supported on `groups`",
            ))
        }
    })
}

enum Field {
    Group(&'static str),
    Direct,
    Unknown,
}

fn entry_field(p: &AttrPath) -> Result<Field> {
    if p.urn.is_some() || p.sub_attr.is_some() {
        return Ok(Field::Unknown);
    }
    let name = p.name.as_str();
    Ok(if name.eq_ignore_ascii_case("value") {
        Field::Group("id")
    } else if name.eq_ignore_ascii_case("display") {
        Field::Group("displayName")
    } else if name.eq_ignore_ascii_case("type") {
        Field::Direct
    } else if name.eq_ignore_ascii_case("$ref") {
        return Err(refusal("groups.$ref"));
    } else {
        Field::Unknown
    })
}

/// Calls `f` on each `groups` leaf of `filter`, in order.
fn each_lookup(
    rt: &ResourceTypeRef<'_>,
    filter: &Filter,
    f: &mut dyn FnMut(Lookup) -> Result<()>,
) -> Result<()> {
    if let Some(l) = lookup(rt, filter) {
        return f(l?);
    }
    match filter {
        Filter::Not(inner) => each_lookup(rt, inner, f),
        Filter::And(ops) | Filter::Or(ops) => ops.iter().try_for_each(|o| each_lookup(rt, o, f)),
        _ => Ok(()),
    }
}

/// `filter` with each `groups` leaf replaced by the next of `answers`.
fn replace(
    rt: &ResourceTypeRef<'_>,
    filter: &Filter,
    answers: &mut std::vec::IntoIter<Filter>,
) -> Filter {
    if lookup(rt, filter).is_some() {
        return answers.next().unwrap_or_else(never);
    }
    match filter {
        Filter::Not(inner) => Filter::Not(Box::new(replace(rt, inner, answers))),
        Filter::And(ops) => Filter::And(ops.iter().map(|o| replace(rt, o, answers)).collect()),
        Filter::Or(ops) => Filter::Or(ops.iter().map(|o| replace(rt, o, answers)).collect()),
        other => other.clone(),
    }
}

/// `id eq` one of `ids` (a set lookup for the evaluator, one index probe each in SQLite).
fn id_in(ids: Vec<String>) -> Filter {
    let mut ops: Vec<Filter> = ids
        .into_iter()
        .map(|id| Filter::compare(AttrPath::new("id"), CompareOp::Eq, CompValue::String(id)))
        .collect();
    match ops.len() {
        0 => never(),
        1 => ops.pop().unwrap_or_else(never),
        _ => Filter::Or(ops),
    }
}

impl<S: Store> Engine<S> {
    /// `filter` with its leaves on a User's `groups` answered (see the module docs); `None`
    /// when it has none. Refused read-time attributes are refused here too.
    pub(super) async fn answer_read_time(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        filter: &Filter,
    ) -> Result<Option<Filter>> {
        if !mentions_read_time(filter) {
            return Ok(None);
        }
        check_filter(rt, filter, None)?;
        let mut lookups = Vec::new();
        each_lookup(rt, filter, &mut |l| {
            lookups.push(l);
            Ok(())
        })?;
        if lookups.is_empty() {
            return Ok(None);
        }
        let mut answers = Vec::with_capacity(lookups.len());
        let mut collected = 0usize;
        for l in lookups {
            let ids = match &l.groups {
                Some(g) if is_never(g) => Vec::new(),
                g => {
                    self.members_of_groups(ctx, g.as_ref(), &mut collected)
                        .await?
                }
            };
            let selected = id_in(ids);
            answers.push(if l.absent {
                Filter::Not(Box::new(selected))
            } else {
                selected
            });
        }
        Ok(Some(replace(rt, filter, &mut answers.into_iter())))
    }

    /// The member values of the groups matching `groups` (every group when `None`).
    async fn members_of_groups(
        &self,
        ctx: &RequestContext,
        groups: Option<&Filter>,
        collected: &mut usize,
    ) -> Result<Vec<String>> {
        let Some(group_rt) = self.registry.resource_type("Group") else {
            return Ok(Vec::new());
        };
        let compiled = groups
            .map(|g| CompiledFilter::compile(g, &group_rt))
            .transpose()?;
        let query = Query {
            filter: compiled.as_ref(),
            sort: None,
            start_index: 1,
            count: usize::MAX,
            attributes: Some(&["members"]),
        };
        let mut result = self.store.query(&ctx.tenant, "Group", query).await?;
        if !result.filtered {
            if let Some(c) = &compiled {
                result.resources.retain(|r| c.matches(&r.resource));
            }
        }
        let mut ids = Vec::new();
        for g in &result.resources {
            if let Some(Value::Array(members)) = g.resource.get("members") {
                for m in members {
                    if let Some(v) = m.get("value").and_then(Value::as_str) {
                        // A member's value names its resource ignoring case (`members.value`
                        // is not caseExact; GET finds a user's groups so); the ids the
                        // stores assign are lower-case.
                        let lower = v.to_lowercase();
                        if lower != v {
                            ids.push(lower);
                        }
                        ids.push(v.to_owned());
                    }
                }
            }
        }
        *collected += ids.len();
        if *collected > self.config.max_filter_scan {
            return Err(ScimError::bad_request(
                ScimType::TooMany,
                format!(
                    "the filter on `groups` selects groups with more than {} members in all",
                    self.config.max_filter_scan
                ),
            ));
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

fn is_never(f: &Filter) -> bool {
    matches!(f, Filter::Not(inner) if matches!(&**inner, Filter::Present(p) if *p == AttrPath::new("id")))
}
