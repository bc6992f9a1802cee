//! Group semantics (RFC 7643 §4.2, and the Gluu guide's advice for large groups):
//! members must exist (checked with one store query per member type, not one per member),
//! `members.display` and `User.groups` are derived at read time, and deleting a user removes
//! it from its groups. `Group-Overhead-Bypass` (header or query parameter) skips member
//! checks and look-ups entirely.
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

fn is_group(rt: &ResourceTypeRef<'_>) -> bool {
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

/// Drops members that repeat an earlier member's `value` (with the same `type`, or where
/// either has none): a member is identified by its id (RFC 7643 §4.2), and a value already
/// present is not added again (RFC 7644 §3.5.2.1). Clients resend members with a different
/// `display` (Okta's incremental membership PATCH), which exact-equality dedup misses.
fn dedupe_members(group: &mut Value) {
    let Some(Value::Array(members)) = group.get_mut("members") else {
        return;
    };
    let mut seen: HashMap<String, Vec<Option<String>>> = HashMap::new();
    members.retain(|m| {
        let Some(value) = m.get("value").and_then(Value::as_str) else {
            return true;
        };
        let kind = m
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        let kinds = seen.entry(value.to_owned()).or_default();
        let duplicate = kinds
            .iter()
            .any(|k| k.is_none() || kind.is_none() || *k == kind);
        if !duplicate {
            kinds.push(kind);
        }
        !duplicate
    });
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
            filter: Some(&filter),
            compiled: Some(&compiled),
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

    /// Checks that the given member ids exist as users or groups (RFC 7643 §4.2) and fills
    /// in a missing `type`.
    pub(crate) async fn check_members(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        req: &Request,
        group: &mut Value,
        only: Option<&HashSet<String>>,
    ) -> Result<()> {
        if !is_group(rt) {
            return Ok(());
        }
        dedupe_members(group);
        if bypass(req) {
            return Ok(());
        }
        let wanted: Vec<String> = member_values(group)
            .into_iter()
            .filter(|v| only.is_none_or(|o| o.contains(*v)))
            .map(str::to_owned)
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let mut kinds: HashMap<String, &'static str> = HashMap::new();
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
        if let Some(absent) = refs.iter().find(|v| !kinds.contains_key(**v)) {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("member {absent} is not an existing User or Group (send {OVERHEAD_BYPASS} to skip this check)"),
            ));
        }
        if let Some(Value::Array(members)) = group.get_mut("members") {
            for m in members.iter_mut() {
                let kind = m
                    .get("value")
                    .and_then(Value::as_str)
                    .and_then(|v| kinds.get(v))
                    .copied();
                if let (Some(kind), Value::Object(o)) = (kind, m) {
                    o.entry("type").or_insert_with(|| json!(kind));
                }
            }
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
        if bypass(req) || resources.is_empty() {
            return Ok(());
        }
        if is_group(rt) && projection.includes(&"members.display".parse().map_err(ScimError::from)?)
        {
            let ids: HashSet<String> = resources
                .iter()
                .flat_map(|r| member_values(&r.resource))
                .map(str::to_owned)
                .collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut names: HashMap<String, Value> = HashMap::new();
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
                    if let Some(n) = name {
                        names.insert(r.id, n);
                    }
                }
            }
            for r in resources.iter_mut() {
                if let Some(Value::Array(members)) = r.resource.get_mut("members") {
                    for m in members.iter_mut() {
                        let name = m
                            .get("value")
                            .and_then(Value::as_str)
                            .and_then(|v| names.get(v))
                            .cloned();
                        if let (Some(name), Value::Object(o)) = (name, m) {
                            o.insert("display".into(), name);
                        }
                    }
                }
            }
        }
        if is_user(rt) && projection.includes(&"groups".parse().map_err(ScimError::from)?) {
            let references = match groups {
                UserGroups::Skip => return Ok(()),
                UserGroups::Known(known) => known,
                UserGroups::Lookup => {
                    let ids: Vec<&str> = resources.iter().map(|r| r.id.as_str()).collect();
                    self.references_to_users(ctx, &ids).await?
                }
            };
            self.attach_groups(resources, &references);
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
