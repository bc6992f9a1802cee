//! Single-resource reads: the resource with its out-of-line elements (aggregated by the
//! server in the same statement, one round trip), or its head alone.

use std::collections::HashMap;

use deadpool_postgres::{GenericClient, Transaction};
use scim_core::{StoreError, StoredResource};
use scim_store_layout::without;
use serde_json::Value;

use crate::references::unavailable;
use crate::{version_of, Core, Fail};

/// The resource and, when it has out-of-line elements, their JSON array (in order) and
/// the key they go under.
const GET: &str = "SELECT r.version, r.resource::text, r.members_key, \
     CASE WHEN r.members_key IS NULL THEN NULL ELSE \
     (SELECT coalesce(json_agg(m.element ORDER BY m.seq), '[]'::json)::text FROM members AS m \
      WHERE m.tenant = r.tenant AND m.resource_type = r.resource_type AND m.owner_id = r.id) END \
     FROM resources AS r WHERE r.tenant = $1 AND r.resource_type = $2 AND r.id = $3";

/// A resource read back: its text parsed, its elements put back under their key.
pub(crate) fn assemble(
    id: &str,
    version: i64,
    text: &str,
    members: Option<(String, &str)>,
) -> Result<StoredResource, StoreError> {
    let mut resource: Value = serde_json::from_str(text).map_err(unavailable)?;
    if let (Some((key, elements)), Value::Object(m)) = (members, &mut resource) {
        let elements: Value = serde_json::from_str(elements).map_err(unavailable)?;
        m.insert(key, elements);
    }
    Ok(StoredResource::new(
        id.to_owned(),
        version_of(version),
        resource,
    ))
}

impl Core {
    /// [`Store::get`](scim_core::Store::get).
    pub(crate) async fn get(
        &self,
        client: &impl GenericClient,
        at: (&str, &str, &str),
    ) -> Result<Option<StoredResource>, Fail> {
        // Only reads for responses hand a text over: none is copied here.
        self.read(client, at, |_| true, false).await
    }

    /// [`Store::get_text`](scim_core::Store::get_text): the resource with its text (as
    /// written: a `json` column keeps it) when it has no elements out of line; built only
    /// when `build` says so for the text's length, else the text only.
    pub(crate) async fn get_text(
        &self,
        client: &impl GenericClient,
        at: (&str, &str, &str),
        build: impl FnOnce(usize) -> bool,
    ) -> Result<Option<StoredResource>, Fail> {
        self.read(client, at, build, true).await
    }

    /// [`Core::get_text`], the text kept only with `text`.
    async fn read(
        &self,
        client: &impl GenericClient,
        (tenant, rt, id): (&str, &str, &str),
        build: impl FnOnce(usize) -> bool,
        text: bool,
    ) -> Result<Option<StoredResource>, Fail> {
        let Some(row) = client
            .query_opt(&client.prepare_cached(GET).await?, &[&tenant, &rt, &id])
            .await?
        else {
            return Ok(None);
        };
        let key: Option<String> = row.get(2);
        let elements: Option<&str> = row.get(3);
        let doc: &str = row.get(1);
        if key.is_some() || !text {
            return Ok(Some(assemble(id, row.get(0), doc, key.zip(elements))?));
        }
        let mut found = if build(doc.len()) {
            assemble(id, row.get(0), doc, None)?
        } else {
            StoredResource::new(id.to_owned(), version_of(row.get(0)), Value::Null)
        };
        found.text = Some(doc.into());
        Ok(Some(found))
    }

    /// [`Store::get_head`](scim_core::Store::get_head): the row alone.
    pub(crate) async fn get_head(
        &self,
        client: &impl GenericClient,
        (tenant, rt, id): (&str, &str, &str),
    ) -> Result<Option<StoredResource>, Fail> {
        let Some(row) = client
            .query_opt(
                &client
                    .prepare_cached(
                        "SELECT version, resource::text FROM resources \
                         WHERE tenant = $1 AND resource_type = $2 AND id = $3",
                    )
                    .await?,
                &[&tenant, &rt, &id],
            )
            .await?
        else {
            return Ok(None);
        };
        let mut stored = assemble(id, row.get(0), row.get(1), None)?;
        if let Some(attr) = self.ool(rt) {
            stored.resource = without(stored.resource, attr);
        }
        Ok(Some(stored))
    }

    /// The whole resource with its row locked for an update, and its version.
    pub(crate) async fn read_locked(
        &self,
        tx: &Transaction<'_>,
        key: (&str, &str, &str),
    ) -> Result<Option<(StoredResource, i64)>, Fail> {
        let (tenant, rt, id) = key;
        let locked = tx
            .query_opt(
                &tx.prepare_cached(
                    "SELECT version FROM resources WHERE tenant = $1 AND resource_type = $2 \
                     AND id = $3 FOR NO KEY UPDATE",
                )
                .await?,
                &[&tenant, &rt, &id],
            )
            .await?;
        let Some(locked) = locked else {
            return Ok(None);
        };
        let version: i64 = locked.get(0);
        Ok(self.get(tx, key).await?.map(|s| (s, version)))
    }
}

/// Puts the out-of-line elements of the `holders` (index in `resources`, key) back, with
/// one statement for the whole page.
pub(crate) async fn attach_members_of_page(
    client: &impl GenericClient,
    (tenant, rt): (&str, &str),
    resources: &mut [StoredResource],
    holders: &[(usize, String)],
) -> Result<(), Fail> {
    if holders.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = holders
        .iter()
        .filter_map(|(i, _)| resources.get(*i).map(|r| r.id.as_str()))
        .collect();
    let rows = client
        .query(
            &client
                .prepare_cached(
                    "SELECT owner_id, json_agg(element ORDER BY seq)::text FROM members \
                     WHERE tenant = $1 AND resource_type = $2 AND owner_id = ANY($3) \
                     GROUP BY owner_id",
                )
                .await?,
            &[&tenant, &rt, &ids],
        )
        .await?;
    let mut texts: HashMap<String, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for (i, key) in holders {
        let Some(stored) = resources.get_mut(*i) else {
            continue;
        };
        let text = texts.remove(&stored.id).unwrap_or_else(|| "[]".to_owned());
        let elements: Value = serde_json::from_str(&text).map_err(unavailable)?;
        if let Value::Object(m) = &mut stored.resource {
            m.insert(key.clone(), elements);
        }
    }
    Ok(())
}
