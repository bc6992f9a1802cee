//! References between resources, kept inside one transaction: a member add checks that the
//! member exists in the transaction that writes it ([`check`]), and a delete removes the
//! resource from every group that holds it in the transaction that deletes it
//! ([`Core::detach`]). With SQLite's single writer the two serialise: a member is
//! either added before the delete (and removed by it) or refused after it.

use rusqlite::{params, Connection, OptionalExtension};
use scim_core::{Reference, ReferenceCheck, Referrer, StoreError};
use serde_json::Value;

use crate::layout::{held_out_of_line, hidden_of, remove_references, touch, Row};
use crate::{
    attach_members, current_version, index_unique, member_state, unavailable, update_row,
    version_param, write_keys, write_side_tables, Core,
};

/// [`StoreError::MissingReference`] unless every value of `check` is the id of a resource of
/// one of its target types in `tenant` (one primary-key lookup per value and type).
pub(crate) fn check(
    tx: &Connection,
    tenant: &str,
    check: Option<&scim_core::ReferenceCheck>,
) -> Result<(), StoreError> {
    let Some(ReferenceCheck {
        attribute,
        targets,
        values,
        ..
    }) = check
    else {
        return Ok(());
    };
    let mut exists = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM resources WHERE tenant = ?1 AND resource_type = ?2 \
             AND id = ?3)",
        )
        .map_err(unavailable)?;
    for value in values {
        let mut found = false;
        for rt in targets {
            found = exists
                .query_row(params![tenant, rt, value], |r| r.get(0))
                .map_err(unavailable)?;
            if found {
                break;
            }
        }
        if !found {
            return Err(StoreError::MissingReference {
                attribute: attribute.clone(),
                value: value.clone(),
                targets: targets.clone(),
            });
        }
    }
    Ok(())
}

/// Deletes the resource row and its side-table rows (index keys, its own members, unique
/// keys), if its version is `expected` (when given): true when it existed,
/// [`StoreError::VersionMismatch`] when its version differs.
pub(crate) fn delete_row(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    expected: Option<u64>,
) -> Result<bool, StoreError> {
    match (current_version(tx, tenant, rt, id)?, expected) {
        (None, _) => return Ok(false),
        (Some(v), Some(e)) if v != version_param(e) => return Err(StoreError::VersionMismatch),
        _ => {}
    }
    tx.prepare_cached("DELETE FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3")
        .and_then(|mut s| s.execute(params![tenant, rt, id]))
        .map_err(unavailable)?;
    write_keys(tx, (tenant, rt, id), None, true)?;
    tx.prepare_cached(
        "DELETE FROM members WHERE tenant = ?1 AND resource_type = ?2 AND owner_id = ?3",
    )
    .and_then(|mut s| s.execute(params![tenant, rt, id]))
    .map_err(unavailable)?;
    index_unique(tx, tenant, rt, id, &[], true)?;
    Ok(true)
}

/// A JSON path to the top-level key `key` for SQLite's JSON functions.
fn json_key_path(key: &str) -> String {
    format!("$.\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Core {
    /// Removes every element of `referrer`'s attribute whose `value` is exactly `id`, in
    /// every resource of its type in `tenant`; each changed resource gets the next version
    /// and `meta.lastModified` = `at`. Returns how many changed.
    pub(crate) fn detach(
        &self,
        tx: &Connection,
        tenant: &str,
        referrer: &Referrer,
        id: &str,
        at: &str,
    ) -> Result<usize, StoreError> {
        let rt = referrer.resource_type.as_str();
        match self.ool(rt) {
            Some(attr) if attr.eq_ignore_ascii_case(&referrer.attribute) => {
                self.detach_out_of_line(tx, tenant, rt, attr, id, at)
            }
            _ => self.detach_inline(tx, tenant, rt, &referrer.attribute, id, at),
        }
    }

    /// [`Core::detach`] for out-of-line members: found and removed through the
    /// `members_value` index, then each group's head rewritten (not its other members).
    fn detach_out_of_line(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        attr: &str,
        id: &str,
        at: &str,
    ) -> Result<usize, StoreError> {
        let key = id.to_lowercase();
        let owners: Vec<String> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT DISTINCT owner_id FROM members INDEXED BY members_value \
                     WHERE tenant = ?1 AND resource_type = ?2 AND value_key = ?3 \
                     AND json_extract(search, '$.value') = ?4",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![tenant, rt, key, id], |r| r.get(0))
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)?
        };
        let hidden = hidden_of(&self.schema, rt);
        for owner in &owners {
            tx.prepare_cached(
                "DELETE FROM members WHERE tenant = ?1 AND resource_type = ?2 \
                 AND owner_id = ?3 AND value_key = ?4 AND json_extract(search, '$.value') = ?5",
            )
            .and_then(|mut s| s.execute(params![tenant, rt, owner, key, id]))
            .map_err(unavailable)?;
            let head: Option<(i64, String, Option<String>, bool)> = tx
                .prepare_cached(
                    "SELECT version, resource, members_key, ambiguous FROM resources \
                     WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![tenant, rt, owner], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .optional()
                })
                .map_err(unavailable)?;
            // Members of a group row that is gone (left by an older crash): just removed.
            let Some((version, text, old_key, old_ambiguous)) = head else {
                continue;
            };
            let mut head: Value = serde_json::from_str(&text).map_err(unavailable)?;
            touch(&mut head, at);
            let (row, over) = Row::of_capped(&head, owner, None, &hidden, self.max_indexed_values)?;
            let (has_members, irregular) = member_state(tx, tenant, rt, owner)?;
            let members_key = has_members.then(|| old_key.unwrap_or_else(|| attr.to_owned()));
            update_row(
                tx,
                (tenant, rt, owner),
                version,
                &row,
                (
                    row.ambiguous || old_ambiguous,
                    members_key.as_deref(),
                    irregular || row.irregular,
                ),
            )?;
            write_keys(tx, (tenant, rt, owner), Some((&row, &over)), true)?;
        }
        Ok(owners.len())
    }

    /// [`Core::detach`] for an attribute kept in the document: each resource holding
    /// `id` is rewritten whole.
    fn detach_inline(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        attribute: &str,
        id: &str,
        at: &str,
    ) -> Result<usize, StoreError> {
        // `search` has its keys lower-cased; values as given.
        let holders: Vec<(String, i64)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT r.id, r.version FROM resources AS r \
                     WHERE r.tenant = ?1 AND r.resource_type = ?2 AND EXISTS ( \
                     SELECT 1 FROM json_each(r.search, ?3) AS j \
                     WHERE j.type = 'object' AND json_extract(j.value, '$.value') = ?4)",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(
                    params![tenant, rt, json_key_path(&attribute.to_lowercase()), id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)?
        };
        let hidden = hidden_of(&self.schema, rt);
        let mut changed = 0;
        for (holder, version) in holders {
            let Some((stored, key)) = self.read(tx, tenant, rt, &holder)? else {
                continue;
            };
            let mut resource = stored.resource;
            if let Some(key) = key {
                attach_members(tx, tenant, rt, &holder, &mut resource, key)?;
            }
            let removed = remove_references(&mut resource, attribute, id);
            if !removed {
                continue;
            }
            touch(&mut resource, at);
            let (row, over) = Row::of_capped(
                &resource,
                &holder,
                self.ool(rt),
                &hidden,
                self.max_indexed_values,
            )?;
            let flags = (
                row.ambiguous,
                row.out_of_line.as_ref().map(|o| o.key.as_str()),
                row.irregular,
            );
            update_row(tx, (tenant, rt, &holder), version, &row, flags)?;
            write_side_tables(tx, (tenant, rt, &holder), &row, &over, true)?;
            changed += 1;
        }
        Ok(changed)
    }
}

impl Core {
    /// [`scim_core::Store::references_to`]: through the `members_value` index when
    /// `referrer` is the type's out-of-line attribute (one index range per target), `None`
    /// otherwise (the engine then queries).
    pub(crate) fn references_in(
        &self,
        conn: &Connection,
        tenant: &str,
        referrer: &Referrer,
        targets: &[String],
    ) -> Result<Option<Vec<Reference>>, StoreError> {
        let rt = referrer.resource_type.as_str();
        if held_out_of_line(&self.schema, referrer).is_none() {
            return Ok(None);
        }
        // The index walk gives the owners in order (`m` first: CROSS JOIN fixes the join
        // order), so a group listing the target twice comes in adjacent rows and is skipped
        // here: no temporary B-tree for a DISTINCT or an ORDER BY on every GET of a user.
        let mut stmt = conn
            .prepare_cached(
                "SELECT m.owner_id, json_extract(r.resource, '$.displayName') \
                 FROM members AS m INDEXED BY members_value \
                 CROSS JOIN resources AS r \
                 WHERE m.tenant = ?1 AND m.resource_type = ?2 AND m.value_key = ?3 \
                 AND r.tenant = m.tenant AND r.resource_type = m.resource_type \
                 AND r.id = m.owner_id \
                 ORDER BY m.owner_id",
            )
            .map_err(unavailable)?;
        let mut found: Vec<Reference> = Vec::new();
        for target in targets {
            let first = found.len();
            let rows = stmt
                .query_map(params![tenant, rt, target.to_lowercase()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .map_err(unavailable)?;
            for row in rows {
                let (group, display) = row.map_err(unavailable)?;
                if found[first..].last().is_some_and(|r| r.referrer == group) {
                    continue;
                }
                found.push(Reference::new(
                    group,
                    target.as_str(),
                    display.map(Value::String),
                ));
            }
        }
        Ok(Some(found))
    }
}

#[cfg(test)]
mod tests {
    use super::json_key_path;

    #[test]
    fn json_key_paths_quote_the_key() {
        assert_eq!(json_key_path("members"), "$.\"members\"");
        assert_eq!(json_key_path("a\"b"), "$.\"a\\\"b\"");
    }
}
