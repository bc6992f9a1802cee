//! A user's `groups` (RFC 7643 §4.1.2): read-only, derived at read time from the groups
//! whose `members` list the user. A store with an index answers with
//! [`Store::references_to`] (and a `GET /Users/{id}` with [`Store::get_with_references`], in
//! one call); for any other store the engine queries `members.value eq "…"`.

use scim_filter::AttrPath;
use serde_json::{json, Value};

use super::{Engine, Result};
use crate::store::{Reference, Referrer, StoredResource};
use crate::{RequestContext, Store};

/// Where the groups of the users being rendered come from.
#[derive(Debug)]
pub(crate) enum UserGroups {
    /// Not shown (a user just created is in no group; a bypass; a projection without them).
    Skip,
    /// Looked up for every user rendered.
    Lookup,
    /// Already read with the user.
    Known(Vec<Reference>),
}

/// Where users are referenced from: the `members` of groups.
pub(crate) fn group_members() -> Referrer {
    Referrer::new("Group", "members")
}

/// The path `groups` (what a projection is asked about before groups are looked up).
pub(crate) fn groups_path() -> AttrPath {
    AttrPath::new("groups")
}

impl<S: Store> Engine<S> {
    /// The groups that list any of `ids`: one store call.
    pub(crate) async fn references_to_users(
        &self,
        ctx: &RequestContext,
        ids: &[&str],
    ) -> Result<Vec<Reference>> {
        if let Some(found) = self
            .store
            .references_to(&ctx.tenant, &group_members(), ids)
            .await?
        {
            return Ok(found);
        }
        // For one user the filter already says it is a member: only names are read.
        let single_user = ids.len() == 1;
        let needed: &[&str] = if single_user {
            &["displayName"]
        } else {
            &["displayName", "members"]
        };
        let groups = self
            .find_by(ctx, "Group", "members.value", ids, Some(needed))
            .await?;
        let mut found = Vec::new();
        for g in &groups {
            let display = g.resource.get("displayName").cloned();
            if single_user {
                found.push(Reference::new(g.id.clone(), ids[0], display));
                continue;
            }
            let values: Vec<String> = super::groups::member_values(&g.resource)
                .into_iter()
                .map(str::to_lowercase)
                .collect();
            for id in ids {
                if values.contains(&id.to_lowercase()) {
                    found.push(Reference::new(g.id.clone(), *id, display.clone()));
                }
            }
        }
        Ok(found)
    }

    /// Sets (or removes) `groups` of each of `users` from `references`. A user read as its
    /// text only is built from it first when that changes anything (a text names a stored
    /// `groups` as `"groups"`: it is what `serde_json` writes).
    pub(crate) fn attach_groups(
        &self,
        users: &mut [StoredResource],
        references: &[Reference],
    ) -> Result<()> {
        let group_rt = self.registry.resource_type("Group");
        for user in users.iter_mut() {
            let mine: Vec<Value> = references
                .iter()
                .filter(|r| r.target == user.id)
                .map(|r| {
                    let mut entry = json!({"value": r.referrer, "type": "direct"});
                    if let Some(rt) = &group_rt {
                        entry["$ref"] = json!(self.location(rt, &r.referrer));
                    }
                    if let Some(d) = &r.display {
                        entry["display"] = d.clone();
                    }
                    entry
                })
                .collect();
            if user.is_text_only() {
                let stored_groups = user
                    .text
                    .as_deref()
                    .is_some_and(|t| t.contains("\"groups\""));
                if mine.is_empty() && !stored_groups {
                    continue;
                }
                user.parse_text()?;
            }
            if let Value::Object(o) = &mut user.resource {
                // The stored text no longer says what the resource holds once it changes.
                if mine.is_empty() {
                    if o.remove("groups").is_some() {
                        user.text = None;
                    }
                } else {
                    o.insert("groups".into(), Value::Array(mine));
                    user.text = None;
                }
            }
        }
        Ok(())
    }
}
