//! PATCH of a resource whose multi-valued attribute the store keeps out of line (a group's
//! members in a table of their own, [`Store::out_of_line`]): the request is split
//! ([`Patcher::split`]), the rest applied to the resource without that attribute, and the
//! elements changed by key in one atomic store write. Adding one member to a group of
//! 100,000 then reads and writes one member, not 100,000.

use scim_patch::{PatchRequest, Patcher};
use scim_schema::ResourceTypeRef;
use serde_json::Value;

use super::resources::etag;
use super::{Engine, Result};
use crate::store::ElementChange;
use crate::{Request, RequestContext, Response, ScimError, Store};

impl<S: Store> Engine<S> {
    /// The response, when the store keeps an attribute of `rt` out of line and `request`
    /// changes it only by key; `None` when the whole resource must be patched.
    pub(super) async fn patch_out_of_line(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        id: &str,
        req: &Request,
        patcher: &Patcher<'_>,
        request: &PatchRequest,
    ) -> Result<Option<Response>> {
        let rt_name = &rt.definition().name;
        let Some(attr) = self.store.out_of_line(rt_name).map(str::to_owned) else {
            return Ok(None);
        };
        let Some(split) = patcher.split(request, &attr)? else {
            return Ok(None);
        };
        // New members must exist (and get the server's `type`), as on the whole-resource path.
        let mut added = split.added;
        let mut check = None;
        if !added.is_empty() {
            let mut holder = Value::Object(serde_json::Map::new());
            if let Value::Object(m) = &mut holder {
                m.insert(attr.clone(), Value::Array(added));
            }
            self.check_members(ctx, rt, req, &mut holder, None).await?;
            // Checked again inside the write: a member deleted meanwhile is never committed.
            check = self.member_check(rt, req, &holder, None);
            added = match holder {
                Value::Object(mut m) => match m.remove(&attr) {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
        }
        let mut attempt = 0;
        loop {
            let current = self
                .store
                .get_head(&ctx.tenant, rt_name, id)
                .await?
                .ok_or_else(|| ScimError::not_found(format!("Resource {id} not found")))?;
            Self::check_if_match(req, &current)?;
            let mut head = current.resource.clone();
            let head_changed = if split.rest.operations.is_empty() {
                false
            } else {
                let before = self.value_counts(rt, &head);
                let changed = patcher.apply(&mut head, &split.rest)?.changed;
                self.check_value_counts(rt, &before, &head)?;
                changed
            };
            let mut change = ElementChange::new(attr.clone());
            change.clear = split.clear;
            change.removed = split.removed.clone();
            change.added = added.clone();
            if head_changed || !change.is_empty() {
                self.stamp(ctx, rt, &mut head, Some(&current.resource));
            }
            let unique = self.seal(rt, &mut head, Some(&current.resource))?;
            let written = self
                .store
                .patch_elements_checked(
                    &ctx.tenant,
                    rt_name,
                    id,
                    current.version,
                    head,
                    head_changed,
                    change,
                    unique,
                    check.clone(),
                )
                .await;
            let done = match written {
                Ok(done) => done,
                Err(e) => {
                    self.retry_patch(req, id, &mut attempt, e)?;
                    continue;
                }
            };
            if self.config.patch_no_content {
                return Ok(Some(
                    Response::empty(204).with_header("ETag", etag(done.version)),
                ));
            }
            // RFC 7644 §3.5.2: 200 with the whole resource (or 204, with `patch_no_content`,
            // which spares reading the members back) — the members read back only when the
            // response shows them (`excludedAttributes=members` spares them too).
            let shown = self
                .projection(rt, req)?
                .includes(&scim_filter::AttrPath::new(attr.as_str()));
            let stored = if shown {
                self.current(ctx, rt, id).await?
            } else {
                self.store
                    .get_head(&ctx.tenant, rt_name, id)
                    .await?
                    .ok_or_else(|| ScimError::not_found(format!("Resource {id} not found")))?
            };
            return Ok(Some(self.respond(ctx, 200, rt, stored, req).await?));
        }
    }
}
