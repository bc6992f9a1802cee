//! Group semantics (RFC 7643 §4.2, and the Gluu guide's advice for large groups):
//! members must exist (checked with one store query per member type, not one per member), a
//! group holds each member once and its `type` is the referenced resource's (set by the
//! server, whatever the client sent), `members.display`, `members.$ref` and `User.groups` are
//! derived at read time, and deleting a user removes it from its groups.
//! `Group-Overhead-Bypass` (header or query parameter) skips member checks and look-ups.
//!
//! A store that [keeps references](Store::keeps_references) makes both atomic: the member
//! check is repeated inside the write that adds the members ([`ReferenceCheck`]), and a
//! delete removes the resource from every group in the same write ([`Store::delete_cascade`]).
//! For other stores the engine checks before the write and cleans up after the delete, as
//! two steps that a crash or a concurrent add can come between; a repeated DELETE repairs
//! what was left.

use std::collections::{HashMap, HashSet};

use scim_filter::{AttrPath, CompValue, CompareOp, CompiledFilter, Filter};
use scim_schema::{Projection, ResourceTypeRef};
use serde_json::{json, Value};

use super::user_groups::UserGroups;
use super::{Engine, Result};
use crate::store::{Query, ReferenceCheck, Referrer, StoredResource};
use crate::{Request, RequestContext, ScimError, ScimType, Store};

/// The header / query parameter that turns member checks and look-ups off.
pub const OVERHEAD_BYPASS: &str = "Group-Overhead-Bypass";

pub(crate) fn bypass(req: &Request) -> bool {
    req.header(OVERHEAD_BYPASS).is_some() || req.query_param(OVERHEAD_BYPASS).is_some()
}

pub(crate) fn is_group(rt: &ResourceTypeRef<'_>) -> bool {
    rt.definition()
        .schema
        .eq_ignore_ascii_case(scim_schema::urn::GROUP)
}

pub(crate) fn is_user(rt: &ResourceTypeRef<'_>) -> bool {
    rt.definition()
        .schema
        .eq_ignore_ascii_case(scim_schema::urn::USER)
}

/// `attr eq "v1" or attr eq "v2" …` (compiled as a set lookup by scim-filter).
fn any_of(attr: AttrPath, values: &[&str]) -> Option<Filter> {
    let mut ops: Vec<Filter> = values
        .iter()
        .map(|v| {
            Filter::compare(
                attr.clone(),
                CompareOp::Eq,
                CompValue::String((*v).to_owned()),
            )
        })
        .collect();
    match ops.len() {
        0 => None,
        1 => ops.pop(),
        _ => Some(Filter::Or(ops)),
    }
}

/// Makes a group's `members` what the service stores: one member per `value` — a member is
/// identified by its id, unique across the whole service provider (RFC 7643 §3.1, §4.2),
/// and a value already present is not added again (RFC 7644 §3.5.2.1; compared ignoring
/// case, as `members.value` is not caseExact and as a store keeping members out of line
/// compares them, see `Patcher::split`); the first one stays,
/// whatever `type` or `display` a repeat carries (Okta resends members with another
/// `display`) — and without a client's `$ref`, which responses compute (never trusted,
/// never stored).
fn normalise_members(group: &mut Value) {
    let Some(Value::Array(members)) = group.get_mut("members") else {
        return;
    };
    let mut seen: HashSet<String> = HashSet::new();
    members.retain_mut(|m| {
        if let Value::Object(o) = m {
            o.retain(|k, _| !k.eq_ignore_ascii_case("$ref"));
        }
        match m.get("value").and_then(Value::as_str) {
            Some(value) => seen.insert(value.to_lowercase()),
            None => true,
        }
    });
}

/// The canonical resource type name a member `type` names, if it is one (`User`, `Group`).
fn member_kind(kind: &str) -> Option<&'static str> {
    ["User", "Group"]
        .into_iter()
        .find(|k| k.eq_ignore_ascii_case(kind))
}

pub(crate) fn member_values(group: &Value) -> Vec<&str> {
    group
        .get("members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|x| x.get("value").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

impl<S: Store> Engine<S> {
    /// Resources of type `rt_name` whose `attr` equals one of `values`: one store query.
    /// `needed` names the top-level attributes the caller reads (`None`: all of them).
    pub(crate) async fn find_by(
        &self,
        ctx: &RequestContext,
        rt_name: &str,
        attr: &str,
        values: &[&str],
        needed: Option<&[&str]>,
    ) -> Result<Vec<StoredResource>> {
        let Some(rt) = self.registry.resource_type(rt_name) else {
            return Ok(Vec::new());
        };
        let Some(filter) = any_of(attr.parse().map_err(ScimError::from)?, values) else {
            return Ok(Vec::new());
        };
        let compiled = CompiledFilter::compile(&filter, &rt)?;
        let query = Query {
            filter: Some(&compiled),
            sort: None,
            start_index: 1,
            count: usize::MAX,
            attributes: needed,
        };
        let mut result = self.store.query(&ctx.tenant, rt_name, query).await?;
        if !result.filtered {
            result.resources.retain(|r| compiled.matches(&r.resource));
        }
        Ok(result.resources)
    }

    /// Makes the members of `group` (being written over `current`, when it exists) what the
    /// service stores ([`normalise_members`]) and sets each member's `type` from the resource
    /// its `value` names (RFC 7643 §4.2), overriding what the client sent: a member already in
    /// `current` keeps the type stored for it (`type` is immutable), a new member is looked up
    /// (one store query per member type, not one per member) and must exist as a User or a
    /// Group (400 `invalidValue`, as for a member without a `value`). With [`OVERHEAD_BYPASS`] nothing is looked up: a new
    /// member is stored without a `type` (an unchecked one could be wrong), which a later
    /// read fills in.
    pub(crate) async fn check_members(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        req: &Request,
        group: &mut Value,
        current: Option<&Value>,
    ) -> Result<()> {
        if !is_group(rt) {
            return Ok(());
        }
        // A member is the resource its `value` names: without one it is no member, and no
        // `type` could be checked.
        let members = group.get("members").and_then(Value::as_array);
        if let Some(i) = members
            .into_iter()
            .flatten()
            .position(|m| m.get("value").and_then(Value::as_str).is_none())
        {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("members[{i}] has no `value`: a member is named by its id"),
            ));
        }
        normalise_members(group);
        // What `current` says of its members: each value, and its stored type.
        let mut known: HashMap<&str, Option<&'static str>> = HashMap::new();
        for m in current
            .and_then(|c| c.get("members"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(v) = m.get("value").and_then(Value::as_str) {
                let kind = m.get("type").and_then(Value::as_str).and_then(member_kind);
                known.entry(v).or_insert(kind);
            }
        }
        let mut kinds: HashMap<String, &'static str> = HashMap::new();
        if !bypass(req) {
            // New members must exist; known ones without a stored type are looked up too
            // (never refused: only what a write adds is checked).
            let mut new: Vec<&str> = Vec::new();
            let mut untyped: Vec<&str> = Vec::new();
            for v in member_values(group) {
                match known.get(v) {
                    None => new.push(v),
                    Some(None) => untyped.push(v),
                    Some(Some(_)) => {}
                }
            }
            let refs: Vec<&str> = new.iter().chain(&untyped).copied().collect();
            if !refs.is_empty() {
                for r in self.find_by(ctx, "User", "id", &refs, Some(&[])).await? {
                    kinds.insert(r.id, "User");
                }
                let missing: Vec<&str> = refs
                    .iter()
                    .copied()
                    .filter(|v| !kinds.contains_key(*v))
                    .collect();
                if !missing.is_empty() {
                    for r in self
                        .find_by(ctx, "Group", "id", &missing, Some(&[]))
                        .await?
                    {
                        kinds.insert(r.id, "Group");
                    }
                }
            }
            if let Some(absent) = new.iter().find(|v| !kinds.contains_key(**v)) {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("member {absent} is not an existing User or Group (send {OVERHEAD_BYPASS} to skip this check)"),
                ));
            }
        }
        let Some(Value::Array(members)) = group.get_mut("members") else {
            return Ok(());
        };
        for m in members.iter_mut() {
            let Value::Object(o) = m else { continue };
            let Some(value) = o.get("value").and_then(Value::as_str) else {
                continue;
            };
            let kind = known
                .get(value)
                .copied()
                .flatten()
                .or_else(|| kinds.get(value).copied());
            match kind {
                Some(kind) => o.insert("type".into(), json!(kind)),
                // Not looked up (bypassed) or not found: no unchecked claim.
                None => o.remove("type"),
            };
        }
        Ok(())
    }

    /// What the store must check inside the write of `group`: that the members
    /// [`check_members`](Self::check_members) checked (those in `only`, when given) still
    /// exist. `None` when there is nothing to check or the request bypasses the check.
    pub(crate) fn member_check(
        &self,
        rt: &ResourceTypeRef<'_>,
        req: &Request,
        group: &Value,
        only: Option<&HashSet<String>>,
    ) -> Option<ReferenceCheck> {
        if !is_group(rt) || bypass(req) {
            return None;
        }
        let values: Vec<&str> = member_values(group)
            .into_iter()
            .filter(|v| only.is_none_or(|o| o.contains(*v)))
            .collect();
        (!values.is_empty()).then(|| ReferenceCheck::new("members", ["User", "Group"], values))
    }

    /// Where references to a deleted resource of `rt` are removed: the `members` of groups,
    /// for users and groups (nested groups), unless
    /// [`remove_deleted_from_groups`](crate::Config::remove_deleted_from_groups) is off.
    pub(crate) fn referrers(&self, rt: &ResourceTypeRef<'_>) -> Vec<Referrer> {
        let holds = self.config.remove_deleted_from_groups
            && (is_user(rt) || is_group(rt))
            && self.registry.resource_type("Group").is_some();
        if holds {
            vec![Referrer::new("Group", "members")]
        } else {
            Vec::new()
        }
    }

    /// Read-time attributes: `members.display` of groups and `groups` of users, each with one
    /// store query per page of resources, and none at all when the projection excludes them
    /// or the request bypasses the overhead.
    pub(crate) async fn decorate(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        req: &Request,
        projection: &Projection<'_>,
        resources: &mut [StoredResource],
    ) -> Result<()> {
        self.decorate_with(ctx, rt, req, projection, resources, UserGroups::Lookup)
            .await
    }

    /// [`Engine::decorate`], with the users' groups from `groups`.
    pub(crate) async fn decorate_with(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        req: &Request,
        projection: &Projection<'_>,
        resources: &mut [StoredResource],
        groups: UserGroups,
    ) -> Result<()> {
        if resources.is_empty() {
            return Ok(());
        }
        if is_group(rt) {
            self.decorate_members(ctx, req, projection, resources)
                .await?;
        }
        if bypass(req) {
            return Ok(());
        }
        let shown = match &groups {
            UserGroups::Skip => false,
            // Read with the user because the projection shows them (`get` asked it).
            UserGroups::Known(_) => true,
            UserGroups::Lookup => projection.includes(&super::user_groups::groups_path()),
        };
        if is_user(rt) && shown {
            let references = match groups {
                UserGroups::Skip => return Ok(()),
                UserGroups::Known(known) => known,
                UserGroups::Lookup => {
                    let ids: Vec<&str> = resources.iter().map(|r| r.id.as_str()).collect();
                    self.references_to_users(ctx, &ids).await?
                }
            };
            self.attach_groups(resources, &references)?;
        }
        Ok(())
    }

    /// Read-time sub-attributes of group members (RFC 7643 §4.2): `display`, the member's
    /// current `displayName` (else `userName`), and `type`, both from one store query per
    /// member type for the page — made only when the projection shows `members.display` and
    /// the request does not bypass the overhead; and `$ref`, the member's location
    /// (`{base}/Users/{id}` or `{base}/Groups/{id}`), from the type found or else the stored
    /// one. A member whose resource is not found gets no `$ref`.
    async fn decorate_members(
        &self,
        ctx: &RequestContext,
        req: &Request,
        projection: &Projection<'_>,
        resources: &mut [StoredResource],
    ) -> Result<()> {
        let shows = |path: &str| -> Result<bool> {
            Ok(projection.includes(&path.parse().map_err(ScimError::from)?))
        };
        let look_up = !bypass(req) && shows("members.display")?;
        let with_refs = shows("members.$ref")?;
        if !look_up && !with_refs {
            return Ok(());
        }
        // A group read as its text only: its members are read from the resource.
        for r in resources.iter_mut() {
            r.parse_text()?;
        }
        // id → (type, name), when looked up.
        let mut found: HashMap<String, (&'static str, Option<Value>)> = HashMap::new();
        if look_up {
            let ids: HashSet<String> = resources
                .iter()
                .flat_map(|r| member_values(&r.resource))
                .map(str::to_owned)
                .collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            for kind in ["User", "Group"] {
                for r in self
                    .find_by(ctx, kind, "id", &refs, Some(&["displayName", "userName"]))
                    .await?
                {
                    let name = r
                        .resource
                        .get("displayName")
                        .or_else(|| r.resource.get("userName"))
                        .cloned();
                    found.entry(r.id).or_insert((kind, name));
                }
            }
        }
        let location_of = |kind: &str, id: &str| {
            self.registry
                .resource_type(kind)
                .map(|rt| self.location(&rt, id))
        };
        for r in resources.iter_mut() {
            let Some(Value::Array(members)) = r.resource.get_mut("members") else {
                continue;
            };
            // Members get read-time sub-attributes: the stored text no longer says it all.
            r.text = None;
            for m in members.iter_mut() {
                let Value::Object(o) = m else { continue };
                let Some(value) = o.get("value").and_then(Value::as_str) else {
                    continue;
                };
                let kind = if look_up {
                    match found.get(value) {
                        Some((kind, name)) => {
                            if let Some(name) = name {
                                o.insert("display".into(), name.clone());
                            }
                            o.insert("type".into(), json!(kind));
                            Some(*kind)
                        }
                        None => None,
                    }
                } else {
                    o.get("type").and_then(Value::as_str).and_then(member_kind)
                };
                let reference = match (with_refs, kind) {
                    (true, Some(kind)) => o
                        .get("value")
                        .and_then(Value::as_str)
                        .and_then(|id| location_of(kind, id)),
                    _ => None,
                };
                match reference {
                    Some(location) => o.insert("$ref".into(), json!(location)),
                    None => o.remove("$ref"),
                };
            }
        }
        Ok(())
    }

    /// After a user or group is deleted (or a DELETE found it gone), for a store that does
    /// not [keep references](Store::keeps_references): remove it from every group (one query
    /// to find them, one replace each). Not atomic with the delete.
    pub(crate) async fn remove_from_groups(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        for mut group in self
            .find_by(ctx, "Group", "members.value", &[id], None)
            .await?
        {
            for _ in 0..=self.config.max_patch_retries {
                let before = group.resource.clone();
                if let Some(Value::Array(members)) = group.resource.get_mut("members") {
                    members.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
                    if members.is_empty() {
                        if let Value::Object(o) = &mut group.resource {
                            o.remove("members");
                        }
                    }
                }
                if group.resource == before {
                    // `members.value` matched another spelling of the id: nothing to remove.
                    break;
                }
                let unique = match self.registry.resource_type("Group") {
                    Some(rt) => {
                        self.stamp(ctx, &rt, &mut group.resource, Some(&before));
                        self.seal(&rt, &mut group.resource, Some(&before))?
                    }
                    None => Vec::new(),
                };
                match self
                    .store
                    .replace(
                        &ctx.tenant,
                        "Group",
                        &group.id,
                        group.version,
                        group.resource.clone(),
                        unique,
                    )
                    .await
                {
                    Ok(_) => break,
                    Err(crate::StoreError::VersionMismatch) => {
                        match self.store.get(&ctx.tenant, "Group", &group.id).await? {
                            Some(fresh) => group = fresh,
                            None => break,
                        }
                    }
                    Err(crate::StoreError::NotFound) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }
}
