//! References between resources, kept inside one transaction across processes: a member
//! add locks the members it names `FOR KEY SHARE` ([`check`]); a delete locks the resource
//! `FOR UPDATE` (waiting for those adds), deletes it, and then removes it from every group
//! that holds it ([`Core::delete_cascade`]), each statement seeing what committed before it.
//! Every write locks members before groups, and a cascade locks the groups it changes in
//! id order, so they do not deadlock one another.

use std::collections::BTreeSet;

use deadpool_postgres::{GenericClient, Object, Transaction};
use scim_core::{Cascade, Cascaded, Reference, ReferenceCheck, Referrer, StoreError};
use scim_store_layout::{held_out_of_line, hidden_of, remove_references, touch, Row};
use serde_json::Value;

use crate::write::{
    delete_row, member_state, update_row, write_index_keys, write_side_tables, Stored,
};
use crate::{text, Core, Fail};

/// [`StoreError::MissingReference`] unless every value of `check` is the id of a resource of
/// one of its target types in `tenant`. The resources found stay locked `FOR KEY SHARE` until
/// the transaction ends: a concurrent delete waits for it (and then removes what it wrote),
/// and a resource deleted by a transaction still running is waited for, then found gone.
pub(crate) async fn check(
    tx: &Transaction<'_>,
    tenant: &str,
    check: Option<&ReferenceCheck>,
) -> Result<(), Fail> {
    let Some(ReferenceCheck {
        attribute,
        targets,
        values,
        ..
    }) = check
    else {
        return Ok(());
    };
    if values.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = values.iter().map(|v| text(v).into_owned()).collect();
    let found: BTreeSet<String> = tx
        .query(
            &tx.prepare_cached(
                "SELECT id FROM resources WHERE tenant = $1 AND resource_type = ANY($2) \
                 AND id = ANY($3) ORDER BY id FOR KEY SHARE",
            )
            .await?,
            &[&tenant, targets, &keys],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    match values.iter().zip(&keys).find(|(_, k)| !found.contains(*k)) {
        None => Ok(()),
        Some((value, _)) => Err(StoreError::MissingReference {
            attribute: attribute.clone(),
            value: value.clone(),
            targets: targets.clone(),
        }
        .into()),
    }
}

impl Core {
    /// [`Store::delete_cascade`](scim_core::Store::delete_cascade), one try.
    pub(crate) async fn delete_cascade(
        &self,
        client: &mut Object,
        (tenant, rt, id): (&str, &str, &str),
        expected_version: Option<u64>,
        cascade: &Cascade,
    ) -> Result<Cascaded, Fail> {
        let tx = client.transaction().await?;
        let deleted = delete_row(&tx, (tenant, rt, id), expected_version).await?;
        let mut updated = 0;
        for referrer in &cascade.referrers {
            updated += self
                .detach(&tx, tenant, referrer, id, &cascade.last_modified)
                .await?;
        }
        tx.commit().await?;
        Ok(Cascaded::new(deleted, updated))
    }

    /// Removes every element of `referrer`'s attribute whose `value` is exactly `id`, in
    /// every resource of its type in `tenant`; each changed resource gets the next version
    /// and `meta.lastModified` = `at`. Returns how many changed.
    async fn detach(
        &self,
        tx: &Transaction<'_>,
        tenant: &str,
        referrer: &Referrer,
        id: &str,
        at: &str,
    ) -> Result<usize, Fail> {
        let rt = referrer.resource_type.as_str();
        let out_of_line = held_out_of_line(&self.types, referrer);
        // Who holds `id` (no member of it can be added while its row is locked or gone),
        // then their rows locked in id order, then the change.
        let holders: Vec<String> = match out_of_line {
            Some(_) => tx
                .query(
                    &tx.prepare_cached(
                        "SELECT DISTINCT owner_id FROM members WHERE tenant = $1 \
                         AND resource_type = $2 AND value_key = $3 \
                         AND search ->> 'value' = $4 ORDER BY owner_id",
                    )
                    .await?,
                    &[&tenant, &rt, &id.to_lowercase(), &id],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect(),
            None => tx
                .query(
                    &tx.prepare_cached(
                        "SELECT id FROM resources WHERE tenant = $1 AND resource_type = $2 \
                         AND search -> $3 @> jsonb_build_array(jsonb_build_object('value', $4::text)) \
                         ORDER BY id",
                    )
                    .await?,
                    &[&tenant, &rt, &referrer.attribute.to_ascii_lowercase(), &id],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect(),
        };
        let mut changed = 0;
        for holder in &holders {
            let done = match out_of_line {
                Some(attr) => {
                    self.detach_member(tx, (tenant, rt, holder), attr, id, at)
                        .await?
                }
                None => {
                    self.detach_inline(tx, (tenant, rt, holder), &referrer.attribute, id, at)
                        .await?
                }
            };
            changed += usize::from(done);
        }
        Ok(changed)
    }

    /// Removes the out-of-line elements naming `id` from one group and writes its head with
    /// the next version; false when the group row is gone (its members rows, left by an
    /// older crash, are removed all the same).
    async fn detach_member(
        &self,
        tx: &Transaction<'_>,
        key: (&str, &str, &str),
        attr: &str,
        id: &str,
        at: &str,
    ) -> Result<bool, Fail> {
        let (tenant, rt, owner) = key;
        let head = tx
            .query_opt(
                &tx.prepare_cached(
                    "SELECT version, resource::text, members_key, ambiguous FROM resources \
                     WHERE tenant = $1 AND resource_type = $2 AND id = $3 FOR NO KEY UPDATE",
                )
                .await?,
                &[&tenant, &rt, &owner],
            )
            .await?;
        tx.execute(
            &tx.prepare_cached(
                "DELETE FROM members WHERE tenant = $1 AND resource_type = $2 \
                 AND value_key = $4 AND owner_id = $3 AND search ->> 'value' = $5",
            )
            .await?,
            &[&tenant, &rt, &owner, &id.to_lowercase(), &id],
        )
        .await?;
        let Some(head) = head else {
            return Ok(false);
        };
        let (version, text, old_key, old_ambiguous): (i64, String, Option<String>, bool) =
            (head.get(0), head.get(1), head.get(2), head.get(3));
        let mut resource: Value = serde_json::from_str(&text).map_err(unavailable)?;
        touch(&mut resource, at);
        let row = Row::of(&resource, owner, None, &hidden_of(&self.types, rt))?;
        let (has_members, irregular) = member_state(tx, key).await?;
        let members_key = has_members.then(|| old_key.unwrap_or_else(|| attr.to_owned()));
        let stored = Stored {
            row: &row,
            ambiguous: row.ambiguous || old_ambiguous,
            members_key: members_key.as_deref(),
            irregular: irregular || row.irregular,
        };
        update_row(tx, key, version, &stored).await?;
        write_index_keys(tx, key, &row.keys, true).await?;
        Ok(true)
    }

    /// Removes the elements naming `id` from an attribute kept in the document: the
    /// resource is read and rewritten whole.
    async fn detach_inline(
        &self,
        tx: &Transaction<'_>,
        key: (&str, &str, &str),
        attribute: &str,
        id: &str,
        at: &str,
    ) -> Result<bool, Fail> {
        let (tenant, rt, holder) = key;
        let Some((stored, version)) = self.read_locked(tx, key).await? else {
            return Ok(false);
        };
        let mut resource = stored.resource;
        let removed = remove_references(&mut resource, attribute, id);
        if !removed {
            return Ok(false);
        }
        touch(&mut resource, at);
        let row = Row::of(&resource, holder, self.ool(rt), &hidden_of(&self.types, rt))?;
        update_row(tx, (tenant, rt, holder), version, &Stored::of(&row)).await?;
        write_side_tables(tx, key, &row, true).await?;
        Ok(true)
    }

    /// [`Store::references_to`](scim_core::Store::references_to): through the
    /// `members_value` index when `referrer` is the type's out-of-line attribute, `None`
    /// otherwise (the engine then queries).
    pub(crate) async fn references_to(
        &self,
        client: &impl GenericClient,
        tenant: &str,
        referrer: &Referrer,
        targets: &[String],
    ) -> Result<Option<Vec<Reference>>, Fail> {
        let rt = referrer.resource_type.as_str();
        if held_out_of_line(&self.types, referrer).is_none() {
            return Ok(None);
        }
        let keys: Vec<String> = targets
            .iter()
            .map(|t| text(&t.to_lowercase()).into_owned())
            .collect();
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT DISTINCT m.value_key, r.id, (r.resource -> 'displayName')::text \
                         FROM members AS m JOIN resources AS r ON r.tenant = m.tenant \
                         AND r.resource_type = m.resource_type AND r.id = m.owner_id \
                         WHERE m.tenant = $1 AND m.resource_type = $2 \
                         AND m.value_key = ANY($3) ORDER BY r.id",
                    )
                    .await?,
                &[&tenant, &rt, &keys],
            )
            .await?;
        let mut found = Vec::new();
        for (target, key) in targets.iter().zip(&keys) {
            for row in rows
                .iter()
                .filter(|r| r.get::<_, Option<&str>>(0) == Some(key.as_str()))
            {
                let display = row
                    .get::<_, Option<&str>>(2)
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(unavailable)?;
                found.push(Reference::new(
                    row.get::<_, String>(1),
                    target.as_str(),
                    display,
                ));
            }
        }
        Ok(Some(found))
    }
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}
