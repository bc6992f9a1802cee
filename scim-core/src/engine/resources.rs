//! Single-resource endpoints: POST (create), GET, PUT, PATCH, DELETE (RFC 7644 §3.3–§3.6).

use std::collections::HashSet;

use chrono::SecondsFormat;
use scim_filter::PatchPath;
use scim_patch::{PatchRequest, Patcher};
use scim_schema::{Projection, ResourceTypeRef};
use serde_json::{json, Value};

use super::groups::{bypass, is_group, is_user};
use super::sealing::sealed_view;
use super::text_patch::TextPatch;
use super::text_response::{self, MetaFill};
use super::user_groups::{group_members, groups_path, UserGroups};
use super::value_counts::ValueCounts;
use super::{json_body, never_read, read_time, Engine, Result};
use crate::message::json_bytes;
use crate::store::{Cascade, StoredResource};
use crate::{Request, RequestContext, Response, ScimError, Store, StoreError};

/// The weak ETag of a version (RFC 7644 §3.14).
pub(crate) fn etag(version: u64) -> String {
    // Written by hand: `format!` costs more than the rest of it, on every response.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = version;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut tag = String::with_capacity(4 + digits.len() - at);
    tag.push_str("W/\"");
    tag.extend(digits[at..].iter().map(|&d| char::from(d)));
    tag.push('"');
    tag
}

impl<S: Store> Engine<S> {
    /// `meta.location` of a resource.
    pub(crate) fn location(&self, rt: &ResourceTypeRef<'_>, id: &str) -> String {
        let endpoint = rt.definition().endpoint.trim_start_matches('/');
        let base = self.config.base_url.as_str();
        let mut location = String::with_capacity(base.len() + endpoint.len() + id.len() + 2);
        for part in [base, "/", endpoint, "/", id] {
            location.push_str(part);
        }
        location
    }

    /// The resource as responses show it: `meta.location` and `meta.version` (given) filled
    /// in, the host's hook run, then projected (`returned: never` attributes such as
    /// `password` never leave).
    fn render_meta(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        (location, version): (String, String),
        mut resource: Value,
        projection: &Projection<'_>,
    ) -> Value {
        if let Value::Object(m) = &mut resource {
            if !m.contains_key("meta") {
                m.insert("meta".into(), Value::Object(serde_json::Map::new()));
            }
            if let Some(Value::Object(meta)) = m.get_mut("meta") {
                MetaFill {
                    location: &location,
                    version: &version,
                    resource_type: &rt.definition().name,
                }
                .fill(meta);
            }
        }
        // The host's hook first, the projection last: `returned: never` stays out whatever
        // a hook adds.
        self.hooks.after(ctx, &rt.definition().name, &mut resource);
        projection.apply_owned(resource)
    }

    pub(super) fn projection<'r>(
        &self,
        rt: &ResourceTypeRef<'r>,
        req: &Request,
    ) -> Result<Projection<'r>> {
        Ok(Projection::parse(
            rt,
            req.query_param("attributes"),
            req.query_param("excludedAttributes"),
        )?)
    }

    pub(super) async fn respond(
        &self,
        ctx: &RequestContext,
        status: u16,
        rt: &ResourceTypeRef<'_>,
        stored: StoredResource,
        req: &Request,
    ) -> Result<Response> {
        // A resource just created is in no group yet: its `groups` need no lookup.
        let groups = if status == 201 {
            UserGroups::Skip
        } else {
            UserGroups::Lookup
        };
        self.respond_with(ctx, status, rt, stored, req, groups)
            .await
    }

    /// [`Engine::respond`] with a user's groups from `groups`.
    pub(super) async fn respond_with(
        &self,
        ctx: &RequestContext,
        status: u16,
        rt: &ResourceTypeRef<'_>,
        stored: StoredResource,
        req: &Request,
        groups: UserGroups,
    ) -> Result<Response> {
        let projection = self.projection(rt, req)?;
        self.respond_projected(ctx, status, rt, stored, req, &projection, groups)
            .await
    }

    /// [`Engine::respond_with`] under a projection the caller has parsed already.
    #[allow(clippy::too_many_arguments)]
    async fn respond_projected(
        &self,
        ctx: &RequestContext,
        status: u16,
        rt: &ResourceTypeRef<'_>,
        stored: StoredResource,
        req: &Request,
        projection: &Projection<'_>,
        groups: UserGroups,
    ) -> Result<Response> {
        let mut one = [stored];
        self.decorate_with(ctx, rt, req, projection, &mut one, groups)
            .await?;
        let [stored] = one;
        let tag = etag(stored.version);
        let location = self.location(rt, &stored.id);
        let body = self.body_of(ctx, rt, stored, projection, (location.clone(), tag.clone()))?;
        Ok(Response::json_text(status, body)
            .with_header("ETag", tag)
            .with_header("Location", location))
    }

    /// The JSON text of a resource as a response shows it ([`Engine::render_meta`]), with
    /// `meta.location` and `meta.version` given: from the stored text when that says all (no
    /// hook changes the resource, and nothing was added to it since it was read:
    /// `decorate_with` drops the text when it adds), else from the resource, built from
    /// the text first when only the text was read.
    pub(crate) fn body_of(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        mut stored: StoredResource,
        projection: &Projection<'_>,
        (location, tag): (String, String),
    ) -> Result<Vec<u8>> {
        let meta = MetaFill {
            location: &location,
            version: &tag,
            resource_type: &rt.definition().name,
        };
        let written = stored
            .text
            .as_ref()
            .filter(|_| !self.hooks.alters_responses())
            .and_then(|text| text_response::render(text, projection, &meta));
        match written {
            Some(body) => {
                // Every test checks that the text gives the bytes the resource gives.
                #[cfg(debug_assertions)]
                {
                    stored.parse_text()?;
                    let expected = self.render_meta(
                        ctx,
                        rt,
                        (location.clone(), tag.clone()),
                        stored.resource,
                        projection,
                    );
                    debug_assert_eq!(
                        String::from_utf8_lossy(&body),
                        expected.to_string(),
                        "the response written from the stored text"
                    );
                }
                Ok(body)
            }
            None => {
                stored.parse_text()?;
                let body = self.render_meta(ctx, rt, (location, tag), stored.resource, projection);
                Ok(json_bytes(&body))
            }
        }
    }

    /// Sets `meta` for a write: `lastModified` now, `created` kept from `previous` (the
    /// stored version being replaced) or now for a new resource.
    pub(super) fn stamp(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        resource: &mut Value,
        previous: Option<&Value>,
    ) {
        let created = previous
            .and_then(|p| p.get("meta"))
            .and_then(|m| m.get("created"));
        let now = json!(ctx.now.to_rfc3339_opts(SecondsFormat::Millis, true));
        if let Value::Object(m) = resource {
            m.insert(
                "meta".into(),
                json!({
                    "resourceType": rt.definition().name,
                    "created": created.cloned().unwrap_or_else(|| now.clone()),
                    "lastModified": now,
                }),
            );
        }
    }

    pub(super) async fn current(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        id: &str,
    ) -> Result<StoredResource> {
        self.store
            .get(&ctx.tenant, &rt.definition().name, id)
            .await?
            .ok_or_else(|| ScimError::not_found(format!("Resource {id} not found")))
    }

    /// `If-Match` (RFC 7644 §3.14): 412 when the current version differs.
    pub(super) fn check_if_match(req: &Request, current: &StoredResource) -> Result<()> {
        match req.header("If-Match") {
            Some(tags) if !matches_any(tags, current.version) => {
                Err(ScimError::precondition_failed(format!(
                    "If-Match {tags} does not match the current version {}",
                    etag(current.version)
                )))
            }
            _ => Ok(()),
        }
    }

    pub(super) async fn create(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        req: &Request,
    ) -> Result<Response> {
        self.require_type(ctx, rt, true)?;
        let body = json_body(req)?;
        let mut resource = rt.validate_create(body, &self.config.validation)?.resource;
        self.check_value_counts(rt, &ValueCounts::default(), &resource)?;
        self.check_members(ctx, rt, req, &mut resource, None)
            .await?;
        // Checked again inside the write: a member deleted meanwhile is never committed.
        let check = self.member_check(rt, req, &resource, None);
        self.hooks
            .before_create(ctx, &rt.definition().name, &mut resource)?;
        self.stamp(ctx, rt, &mut resource, None);
        let unique = self.seal(rt, &mut resource, None)?;
        let stored = self
            .store
            .create_checked(&ctx.tenant, &rt.definition().name, resource, unique, check)
            .await?;
        self.respond(ctx, 201, rt, stored, req).await
    }

    pub(super) async fn get(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        id: &str,
        req: &Request,
    ) -> Result<Response> {
        self.require_type(ctx, rt, false)?;
        // A user's projection is read first (it says whether the groups are shown), any
        // other resource's after the lookup (a 404 or a 304 comes before its errors).
        let projection = if is_user(rt) && !bypass(req) {
            Some(self.projection(rt, req)?)
        } else {
            None
        };
        // A user and its groups are read in one store call.
        let wants_groups = projection
            .as_ref()
            .is_some_and(|p| p.includes(&groups_path()));
        // The response written from the stored text, when the store keeps it: not for a
        // group (its members get read-time sub-attributes) nor when a hook may change it.
        let from_text = !is_group(rt) && !self.hooks.alters_responses();
        let (current, groups) = if wants_groups || from_text {
            let members = group_members();
            let referrer = wants_groups.then_some(&members);
            let name = &rt.definition().name;
            let (found, references) = if from_text {
                self.store.get_text(&ctx.tenant, name, id, referrer).await?
            } else {
                self.store
                    .get_with_references(&ctx.tenant, name, id, &members)
                    .await?
            }
            .ok_or_else(|| ScimError::not_found(format!("Resource {id} not found")))?;
            let groups = match references {
                Some(references) if wants_groups => UserGroups::Known(references),
                _ => UserGroups::Lookup,
            };
            (found, groups)
        } else {
            (self.current(ctx, rt, id).await?, UserGroups::Lookup)
        };
        if req
            .header("If-None-Match")
            .is_some_and(|tags| matches_any(tags, current.version))
        {
            return Ok(Response::empty(304).with_header("ETag", etag(current.version)));
        }
        let projection = match projection {
            Some(projection) => projection,
            None => self.projection(rt, req)?,
        };
        self.respond_projected(ctx, 200, rt, current, req, &projection, groups)
            .await
    }

    pub(super) async fn replace(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        id: &str,
        req: &Request,
    ) -> Result<Response> {
        self.require_type(ctx, rt, true)?;
        let body = json_body(req)?;
        let current = self.current(ctx, rt, id).await?;
        Self::check_if_match(req, &current)?;
        let mut resource = rt
            .validate_replace(body, &current.resource, &self.config.validation)?
            .resource;
        self.check_value_counts(rt, &self.value_counts(rt, &current.resource), &resource)?;
        // Only members the replacement adds are checked for existence.
        let known: HashSet<&str> = member_ids(&current.resource).collect();
        let added: HashSet<String> = member_ids(&resource)
            .filter(|v| !known.contains(v))
            .map(str::to_owned)
            .collect();
        self.check_members(ctx, rt, req, &mut resource, Some(&current.resource))
            .await?;
        let check = self.member_check(rt, req, &resource, Some(&added));
        self.hooks
            .before_replace(ctx, &rt.definition().name, id, &mut resource)?;
        self.stamp(ctx, rt, &mut resource, Some(&current.resource));
        if let Value::Object(m) = &mut resource {
            m.insert("id".into(), json!(id));
        }
        let unique = self.seal(rt, &mut resource, Some(&current.resource))?;
        let stored = self
            .store
            .replace_checked(
                &ctx.tenant,
                &rt.definition().name,
                id,
                current.version,
                resource,
                unique,
                check,
            )
            .await?;
        self.respond(ctx, 200, rt, stored, req).await
    }

    pub(super) async fn patch(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        id: &str,
        req: &Request,
    ) -> Result<Response> {
        self.require_type(ctx, rt, true)?;
        let request = PatchRequest::from_slice(&req.body, &self.config.patch)?;
        // A PATCH that would act only where a secret matches is an oracle too.
        for op in &request.operations {
            if let Some(PatchPath {
                attr,
                value_filter: Some(filter),
                ..
            }) = &op.path
            {
                never_read::check_value_filter(rt, attr, filter)?;
                // `members[display eq "x"]` would match nothing stored: refused, not a no-op.
                read_time::check_value_filter(rt, attr, filter)?;
            }
        }
        self.hooks
            .before_patch(ctx, &rt.definition().name, id, &request)?;
        let patcher = Patcher::new(*rt, self.config.patch);
        if let Some(response) = self
            .patch_out_of_line(ctx, rt, id, req, &patcher, &request)
            .await?
        {
            return Ok(response);
        }
        let mut read = match self
            .patch_in_text(ctx, rt, id, req, &patcher, &request)
            .await?
        {
            TextPatch::Answered(response) => return Ok(response),
            TextPatch::Whole(read) => read,
        };
        let mut attempt = 0;
        loop {
            // What the text path read, if it did (once: a retry reads again).
            let mut current = match read.take() {
                Some(current) => current,
                None => self.current(ctx, rt, id).await?,
            };
            current.parse_text()?;
            Self::check_if_match(req, &current)?;
            let StoredResource {
                id: current_id,
                version: current_version,
                resource: stored,
                ..
            } = current;
            // The patcher undoes its own changes on error: the stored resource is patched in
            // place. What the write needs of it before the patch is `previous`: all of it for
            // a group (its members are compared below), else only what `stamp` and `seal`
            // read, not a copy of megabytes of unchanged emails.
            let group = is_group(rt);
            let (mut resource, previous) = if group {
                (stored.clone(), stored)
            } else {
                let view = sealed_view(rt, &stored);
                (stored, view)
            };
            let before = self.value_counts(rt, &resource);
            let outcome = patcher.apply(&mut resource, &request)?;
            self.check_value_counts(rt, &before, &resource)?;
            let mut check = None;
            if let Some(change) = outcome.delta.get("members") {
                let added: HashSet<String> = change
                    .added
                    .iter()
                    .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                    .collect();
                self.check_members(ctx, rt, req, &mut resource, Some(&previous))
                    .await?;
                check = self.member_check(rt, req, &resource, Some(&added));
            }
            // A member added again (under another `display` or `type`) is dropped by
            // `check_members` (of a group only): then nothing changed after all, and the
            // version stays.
            let changed = outcome.changed
                && (!group || outcome.delta.get("members").is_none() || resource != previous);
            let stored = if changed {
                self.stamp(ctx, rt, &mut resource, Some(&previous));
                let unique = self.seal(rt, &mut resource, Some(&previous))?;
                match self
                    .store
                    .replace_checked(
                        &ctx.tenant,
                        &rt.definition().name,
                        id,
                        current_version,
                        resource,
                        unique,
                        check,
                    )
                    .await
                {
                    Ok(stored) => stored,
                    // Read-modify-write: a concurrent write moved the version.
                    Err(e) => {
                        self.retry_patch(req, id, &mut attempt, e)?;
                        continue;
                    }
                }
            } else {
                // Unchanged: as stored (a group's members as stored, not as checked).
                StoredResource::new(
                    current_id,
                    current_version,
                    if group { previous } else { resource },
                )
            };
            return self.patched(ctx, rt, stored, req).await;
        }
    }

    /// The answer to a PATCH that left `stored`: 200 with the resource (RFC 7644 §3.5.2),
    /// or 204 with its `ETag` under [`Config::patch_no_content`](crate::Config::patch_no_content).
    pub(super) async fn patched(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        stored: StoredResource,
        req: &Request,
    ) -> Result<Response> {
        if self.config.patch_no_content {
            return Ok(Response::empty(204).with_header("ETag", etag(stored.version)));
        }
        self.respond(ctx, 200, rt, stored, req).await
    }

    /// After a PATCH's write failed with `e`: `Ok` to try again on the new state (a
    /// concurrent write moved the version, the client pinned none with `If-Match`, and
    /// fewer than [`Config::max_patch_retries`](crate::Config::max_patch_retries) tries
    /// were made; `attempt` counts this one), else the error.
    pub(super) fn retry_patch(
        &self,
        req: &Request,
        id: &str,
        attempt: &mut usize,
        e: StoreError,
    ) -> Result<()> {
        match e {
            StoreError::VersionMismatch
                if req.header("If-Match").is_none() && *attempt < self.config.max_patch_retries =>
            {
                *attempt += 1;
                Ok(())
            }
            StoreError::NotFound => Err(ScimError::not_found(format!("Resource {id} not found"))),
            e => Err(e.into()),
        }
    }

    /// DELETE (RFC 7644 §3.6), with the resource removed from the groups that contain it.
    ///
    /// An id that no longer exists answers 404 (a later GET of a deleted resource is 404,
    /// §3.6), but first its dangling memberships are removed: a DELETE retried after a crash
    /// between the delete and its cascade (possible only with a store that does not
    /// [keep references](Store::keeps_references)) or after a member was added by a client
    /// that bypassed the member check repairs the groups.
    pub(super) async fn delete(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        id: &str,
        req: &Request,
    ) -> Result<Response> {
        self.require_type(ctx, rt, true)?;
        let rt_name = &rt.definition().name;
        self.hooks.before_delete(ctx, rt_name, id)?;
        let expected = match req.header("If-Match") {
            Some(_) => match self.store.get(&ctx.tenant, rt_name, id).await? {
                Some(current) => {
                    Self::check_if_match(req, &current)?;
                    Some(current.version)
                }
                // Gone already: cleaned below, then 404.
                None => None,
            },
            None => None,
        };
        let referrers = self.referrers(rt);
        let deleted = if self.store.keeps_references() {
            let now = ctx.now.to_rfc3339_opts(SecondsFormat::Millis, true);
            self.store
                .delete_cascade(
                    &ctx.tenant,
                    rt_name,
                    id,
                    expected,
                    Cascade::new(referrers, now),
                )
                .await?
                .deleted
        } else {
            let deleted = match self.store.delete(&ctx.tenant, rt_name, id, expected).await {
                Ok(()) => true,
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(e.into()),
            };
            if !referrers.is_empty() {
                self.remove_from_groups(ctx, id).await?;
            }
            deleted
        };
        if !deleted {
            return Err(ScimError::not_found(format!("Resource {id} not found")));
        }
        Ok(Response::empty(204))
    }
}

/// The `value`s of a group's members.
fn member_ids(resource: &Value) -> impl Iterator<Item = &str> {
    resource
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("value").and_then(Value::as_str))
}

/// Whether an `If-Match`/`If-None-Match` header value names `version` (or is `*`).
fn matches_any(tags: &str, version: u64) -> bool {
    let ours = etag(version);
    let strong = format!("\"{version}\"");
    tags.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == ours || t == strong)
}

#[cfg(test)]
mod tests {
    use super::etag;

    #[test]
    fn etags_are_weak_and_decimal() {
        for version in [0, 1, 9, 10, 99, 100, 12_345, u64::MAX] {
            assert_eq!(etag(version), format!("W/\"{version}\""));
        }
    }
}
