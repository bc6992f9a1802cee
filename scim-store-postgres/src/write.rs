//! The write path: new ids, creating, replacing and deleting rows with their side tables
//! (index keys, unique keys, out-of-line elements), and element-level PATCH. Each function
//! is one try in one transaction; the caller retries deadlocks.

use std::collections::HashSet;

use deadpool_postgres::{GenericClient, Object, Transaction};
use scim_core::{
    ElementChange, ElementPatch, ReferenceCheck, ResourceEdit, StoreError, StoredResource,
    UniqueKey,
};
use scim_store_layout::{
    changed_out_of_line, folded, hidden_of, search_doc, without, Element, Row,
};
use serde_json::Value;
use tokio_postgres::types::ToSql;

use crate::{references, text, version_param, Core, Fail};

/// `search` as `jsonb` accepts it: a `\u0000` (which `jsonb` cannot hold) becomes U+FFFD,
/// and the second value says so — the resource is then marked ambiguous, for the engine to
/// filter itself.
pub(crate) fn jsonb_safe(search: &str) -> (String, bool) {
    if search.contains("\\u0000") {
        (search.replace("\\u0000", "\\ufffd"), true)
    } else {
        (search.to_owned(), false)
    }
}

/// What a write stores in `resources`, with the flags.
pub(crate) struct Stored<'a> {
    pub(crate) row: &'a Row,
    pub(crate) ambiguous: bool,
    pub(crate) members_key: Option<&'a str>,
    pub(crate) irregular: bool,
}

impl<'a> Stored<'a> {
    /// `row` with its own flags.
    pub(crate) fn of(row: &'a Row) -> Self {
        Stored {
            row,
            ambiguous: row.ambiguous,
            members_key: row.out_of_line.as_ref().map(|o| o.key.as_str()),
            irregular: row.irregular,
        }
    }
}

/// The out-of-line elements of `row` as five columns (seq from `first_seq` on), and whether
/// one of them held a `\u0000`.
struct Columns {
    seq: Vec<i64>,
    value_key: Vec<Option<String>>,
    element: Vec<String>,
    search: Vec<String>,
    folded: Vec<String>,
    nul: bool,
}

impl Columns {
    /// `key` (the first parameters), then the five columns as arrays.
    fn after<'p>(&'p self, key: &[&'p (dyn ToSql + Sync)]) -> Vec<&'p (dyn ToSql + Sync)> {
        let mut params = key.to_vec();
        params.extend_from_slice(&[
            &self.seq,
            &self.value_key,
            &self.element,
            &self.search,
            &self.folded,
        ]);
        params
    }

    fn of<'e>(
        elements: impl IntoIterator<Item = &'e Element>,
        first_seq: i64,
    ) -> Result<Columns, StoreError> {
        let mut c = Columns {
            seq: Vec::new(),
            value_key: Vec::new(),
            element: Vec::new(),
            search: Vec::new(),
            folded: Vec::new(),
            nul: false,
        };
        for (seq, e) in (first_seq..).zip(elements) {
            let (search, nul) = jsonb_safe(&e.search);
            c.folded.push(jsonb_safe(&folded(&e.search)?).0);
            c.nul |= nul;
            c.seq.push(seq);
            c.value_key
                .push(e.value_key.as_deref().map(|k| text(k).into_owned()));
            c.element.push(e.element.clone());
            c.search.push(search);
        }
        Ok(c)
    }
}

impl Core {
    /// [`Store::create_checked`](scim_core::Store::create_checked), one try.
    pub(crate) async fn create(
        &self,
        client: &mut Object,
        (tenant, rt): (&str, &str),
        given: &Value,
        unique: &[UniqueKey],
        check: Option<&ReferenceCheck>,
    ) -> Result<StoredResource, Fail> {
        let tx = client.transaction().await?;
        references::check(&tx, tenant, check).await?;
        let hidden = hidden_of(&self.types, rt);
        // An id another writer took meanwhile is drawn again.
        let (id, resource, row) = loop {
            let id = self.next_id()?;
            let mut resource = given.clone();
            if let Value::Object(m) = &mut resource {
                m.insert("id".into(), Value::String(id.clone()));
            }
            let row = Row::of(&resource, &id, self.ool(rt), &hidden)?;
            if insert_row(&tx, (tenant, rt, &id), &Stored::of(&row)).await? {
                break (id, resource, row);
            }
        };
        write_unique(&tx, (tenant, rt, &id), unique, false).await?;
        write_side_tables(&tx, (tenant, rt, &id), &row, false).await?;
        tx.commit().await?;
        Ok(StoredResource::new(id, 1, resource))
    }

    /// [`Store::replace_checked`](scim_core::Store::replace_checked), one try: not found
    /// and a stale version come before a missing member.
    pub(crate) async fn replace(
        &self,
        client: &mut Object,
        (tenant, rt, id): (&str, &str, &str),
        expected_version: u64,
        resource: &Value,
        unique: &[UniqueKey],
        check: Option<&ReferenceCheck>,
    ) -> Result<StoredResource, Fail> {
        let tx = client.transaction().await?;
        let expected = version_param(expected_version);
        expect_version(&tx, (tenant, rt, id), expected).await?;
        // The members first, then the resource: every write locks in that order.
        references::check(&tx, tenant, check).await?;
        let row = Row::of(resource, id, self.ool(rt), &hidden_of(&self.types, rt))?;
        update_row(&tx, (tenant, rt, id), expected, &Stored::of(&row)).await?;
        write_unique(&tx, (tenant, rt, id), unique, true).await?;
        write_side_tables(&tx, (tenant, rt, id), &row, true).await?;
        tx.commit().await?;
        Ok(StoredResource::new(
            id.to_owned(),
            expected_version + 1,
            resource.clone(),
        ))
    }

    /// [`Store::replace_edited`](scim_core::Store::replace_edited), one try: the row read
    /// from the edit's text ([`Row::of_edit`]) without building the document, else from the
    /// document parsed ([`Core::replace`]).
    pub(crate) async fn replace_edited(
        &self,
        client: &mut Object,
        (tenant, rt, id): (&str, &str, &str),
        expected_version: u64,
        edit: &ResourceEdit,
        unique: &[UniqueKey],
    ) -> Result<StoredResource, Fail> {
        let row = match self.ool(rt) {
            None => Row::of_edit(edit, id, &hidden_of(&self.types, rt), usize::MAX)?,
            Some(_) => None,
        };
        let Some((row, _)) = row else {
            let resource: Value = serde_json::from_str(&edit.text)
                .map_err(|e| StoreError::Unavailable(format!("an edited document: {e}")))?;
            return self
                .replace(
                    client,
                    (tenant, rt, id),
                    expected_version,
                    &resource,
                    unique,
                    None,
                )
                .await;
        };
        let tx = client.transaction().await?;
        let expected = version_param(expected_version);
        expect_version(&tx, (tenant, rt, id), expected).await?;
        update_row(&tx, (tenant, rt, id), expected, &Stored::of(&row)).await?;
        write_unique(&tx, (tenant, rt, id), unique, true).await?;
        write_side_tables(&tx, (tenant, rt, id), &row, true).await?;
        tx.commit().await?;
        Ok(
            StoredResource::new(id.to_owned(), expected_version + 1, Value::Null)
                .with_text(row.resource),
        )
    }

    /// [`Store::delete`](scim_core::Store::delete), one try.
    pub(crate) async fn delete(
        &self,
        client: &mut Object,
        key: (&str, &str, &str),
        expected_version: Option<u64>,
    ) -> Result<(), Fail> {
        let tx = client.transaction().await?;
        if !delete_row(&tx, key, expected_version).await? {
            return Err(StoreError::NotFound.into());
        }
        Ok(tx.commit().await?)
    }

    /// [`Store::patch_elements_checked`](scim_core::Store::patch_elements_checked), one try.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn patch_elements(
        &self,
        client: &mut Object,
        (tenant, rt, id): (&str, &str, &str),
        expected_version: u64,
        head: &Value,
        head_changed: bool,
        change: &ElementChange,
        unique: &[UniqueKey],
        check: Option<&ReferenceCheck>,
    ) -> Result<ElementPatch, Fail> {
        let attr = changed_out_of_line(&self.types, rt, &change.attribute)?;
        let tx = client.transaction().await?;
        let expected = version_param(expected_version);
        let key = (tenant, rt, id);
        expect_version(&tx, key, expected).await?;
        // A member deleted since the engine's check is refused; one being deleted is waited
        // for (its row lock), then refused.
        references::check(&tx, tenant, check).await?;
        // The group's row lock: concurrent element changes of one group take turns.
        let locked = tx
            .query_opt(
                &tx.prepare_cached(
                    "SELECT version, members_key, ambiguous FROM resources \
                     WHERE tenant = $1 AND resource_type = $2 AND id = $3 FOR NO KEY UPDATE",
                )
                .await?,
                &[&tenant, &rt, &id],
            )
            .await?;
        let (old_key, old_ambiguous) = match locked {
            None => return Err(StoreError::NotFound.into()),
            Some(r) if r.get::<_, i64>(0) != expected => {
                return Err(StoreError::VersionMismatch.into())
            }
            Some(r) => (r.get::<_, Option<String>>(1), r.get::<_, bool>(2)),
        };
        let mut changed = 0u64;
        if change.clear {
            changed += tx
                .execute(
                    &tx.prepare_cached(
                        "DELETE FROM members WHERE tenant = $1 AND resource_type = $2 \
                         AND owner_id = $3",
                    )
                    .await?,
                    &[&tenant, &rt, &id],
                )
                .await?;
        }
        if !change.removed.is_empty() {
            let keys: Vec<String> = change
                .removed
                .iter()
                .map(|v| text(&v.to_lowercase()).into_owned())
                .collect();
            changed += tx
                .execute(
                    &tx.prepare_cached(
                        "DELETE FROM members WHERE tenant = $1 AND resource_type = $2 \
                         AND value_key = ANY($4) AND owner_id = $3",
                    )
                    .await?,
                    &[&tenant, &rt, &id, &keys],
                )
                .await?;
        }
        let (added, added_ambiguous) = add_elements(&tx, key, &change.added).await?;
        changed += added;
        if changed == 0 && !head_changed {
            // Nothing to write: the transaction rolls back when dropped.
            return Ok(ElementPatch {
                version: expected_version,
                changed: false,
            });
        }
        let head = without(head.clone(), attr);
        let row = Row::of(&head, id, None, &hidden_of(&self.types, rt))?;
        let (has_members, irregular) = member_state(&tx, key).await?;
        let members_key = has_members.then(|| old_key.unwrap_or_else(|| attr.to_owned()));
        // Sticky until the next replace: which part of the old resource was ambiguous is
        // not recorded.
        let stored = Stored {
            row: &row,
            ambiguous: row.ambiguous || added_ambiguous || old_ambiguous,
            members_key: members_key.as_deref(),
            irregular,
        };
        update_row(&tx, key, expected, &stored).await?;
        write_unique(&tx, key, unique, true).await?;
        write_index_keys(&tx, key, &row.keys, true).await?;
        tx.commit().await?;
        Ok(ElementPatch {
            version: expected_version + 1,
            changed: true,
        })
    }
}

/// Adds `elements` at the end of the owner's out-of-line elements, skipping a `value`
/// present already (RFC 7644 §3.5.2.1) or given twice: how many were added, and whether one
/// of them is ambiguous (keys differing by case, or a `\u0000`).
async fn add_elements(
    tx: &Transaction<'_>,
    (tenant, rt, id): (&str, &str, &str),
    elements: &[Value],
) -> Result<(u64, bool), Fail> {
    if elements.is_empty() {
        return Ok((0, false));
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut kept: Vec<Element> = Vec::with_capacity(elements.len());
    let mut ambiguous: Vec<bool> = Vec::with_capacity(elements.len());
    for element in elements {
        let (search, a) = search_doc(element);
        let e = Element::of(element, &search)?;
        if e.value_key
            .as_ref()
            .is_some_and(|k| !seen.insert(k.clone()))
        {
            continue;
        }
        kept.push(e);
        ambiguous.push(a);
    }
    let last: i64 = tx
        .query_one(
            &tx.prepare_cached(
                "SELECT coalesce(max(seq), 0) FROM members WHERE tenant = $1 \
                 AND resource_type = $2 AND owner_id = $3",
            )
            .await?,
            &[&tenant, &rt, &id],
        )
        .await?
        .get(0);
    let c = Columns::of(&kept, last + 1)?;
    let inserted = tx
        .query(
            &tx.prepare_cached(
                "INSERT INTO members (tenant, resource_type, owner_id, seq, value_key, element, \
                 search, folded) \
                 SELECT $1, $2, $3, t.seq, t.v, t.e::json, t.s::jsonb, t.f::jsonb \
                 FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[]) \
                 AS t(seq, v, e, s, f) \
                 WHERE t.v IS NULL OR NOT EXISTS (SELECT 1 FROM members AS m \
                 WHERE m.tenant = $1 AND m.resource_type = $2 AND m.value_key = t.v \
                 AND m.owner_id = $3) \
                 RETURNING seq",
            )
            .await?,
            &c.after(&[&tenant, &rt, &id]),
        )
        .await?;
    let mut any_ambiguous = false;
    for row in &inserted {
        let seq: i64 = row.get(0);
        let i = usize::try_from(seq - last - 1).unwrap_or(usize::MAX);
        any_ambiguous |= ambiguous.get(i).copied().unwrap_or(false);
    }
    any_ambiguous |= c.nul && !inserted.is_empty();
    Ok((inserted.len() as u64, any_ambiguous))
}

/// The values of the `resources` columns a write sets, after the key: `resource`, `search`,
/// `ambiguous`, `created`, `last_modified`, `members_key`, `irregular`, `created_key`,
/// `last_modified_key`, `odd_times`, `folded`.
struct RowValues<'a> {
    resource: &'a str,
    search: String,
    ambiguous: bool,
    created: Option<std::borrow::Cow<'a, str>>,
    last_modified: Option<std::borrow::Cow<'a, str>>,
    members_key: Option<&'a str>,
    irregular: bool,
    created_key: Option<&'a str>,
    last_modified_key: Option<&'a str>,
    odd_times: bool,
    folded: String,
}

impl<'a> Stored<'a> {
    fn columns(&self) -> Result<RowValues<'a>, StoreError> {
        let (search, nul) = jsonb_safe(&self.row.search);
        Ok(RowValues {
            resource: &self.row.resource,
            search,
            ambiguous: self.ambiguous || nul || members_hold_nul(self.row),
            created: self.row.created.as_deref().map(text),
            last_modified: self.row.last_modified.as_deref().map(text),
            members_key: self.members_key,
            irregular: self.irregular,
            created_key: self.row.time_keys[0].as_ref().and_then(Option::as_deref),
            last_modified_key: self.row.time_keys[1].as_ref().and_then(Option::as_deref),
            odd_times: self.row.time_keys.iter().any(Option::is_none),
            folded: jsonb_safe(&folded(&self.row.search)?).0,
        })
    }
}

impl RowValues<'_> {
    /// `key` (the first parameters), then the eleven columns.
    fn after<'p>(&'p self, key: &[&'p (dyn ToSql + Sync)]) -> Vec<&'p (dyn ToSql + Sync)> {
        let mut params = key.to_vec();
        params.extend_from_slice(&[
            &self.resource,
            &self.search,
            &self.ambiguous,
            &self.created,
            &self.last_modified,
            &self.members_key,
            &self.irregular,
            &self.created_key,
            &self.last_modified_key,
            &self.odd_times,
            &self.folded,
        ]);
        params
    }
}

/// Inserts the resource row with version 1; false when the id is taken.
pub(crate) async fn insert_row(
    tx: &Transaction<'_>,
    (tenant, rt, id): (&str, &str, &str),
    s: &Stored<'_>,
) -> Result<bool, Fail> {
    let c = s.columns()?;
    let n = tx
        .execute(
            &tx.prepare_cached(
                "INSERT INTO resources (tenant, resource_type, id, version, resource, search, \
                 ambiguous, created, last_modified, members_key, irregular, created_key, \
                 last_modified_key, odd_times, folded) \
                 VALUES ($1, $2, $3, 1, $4::text::json, $5::text::jsonb, $6, $7, $8, $9, $10, \
                 $11, $12, $13, $14::text::jsonb) \
                 ON CONFLICT DO NOTHING",
            )
            .await?,
            &c.after(&[&tenant, &rt, &id]),
        )
        .await?;
    Ok(n == 1)
}

fn members_hold_nul(row: &Row) -> bool {
    row.out_of_line
        .as_ref()
        .is_some_and(|o| o.elements.iter().any(|e| e.search.contains("\\u0000")))
}

/// Writes `s` as the next version of the resource if its version is `expected`:
/// [`StoreError::VersionMismatch`] when another write came first, [`StoreError::NotFound`]
/// when it is gone.
pub(crate) async fn update_row(
    tx: &Transaction<'_>,
    (tenant, rt, id): (&str, &str, &str),
    expected: i64,
    s: &Stored<'_>,
) -> Result<(), Fail> {
    let c = s.columns()?;
    let updated = tx
        .execute(
            &tx.prepare_cached(
                "UPDATE resources SET version = version + 1, resource = $5::text::json, \
                 search = $6::text::jsonb, ambiguous = $7, created = $8, last_modified = $9, \
                 members_key = $10, irregular = $11, created_key = $12, \
                 last_modified_key = $13, odd_times = $14, folded = $15::text::jsonb \
                 WHERE tenant = $1 AND resource_type = $2 AND id = $3 AND version = $4",
            )
            .await?,
            &c.after(&[&tenant, &rt, &id, &expected]),
        )
        .await?;
    if updated == 1 {
        return Ok(());
    }
    Err(match current_version(tx, (tenant, rt, id)).await? {
        None => StoreError::NotFound,
        Some(_) => StoreError::VersionMismatch,
    }
    .into())
}

/// Makes the `attr_index` and `members` rows of the resource those of `row` (`existing`:
/// it may have some already).
pub(crate) async fn write_side_tables(
    tx: &Transaction<'_>,
    key: (&str, &str, &str),
    row: &Row,
    existing: bool,
) -> Result<(), Fail> {
    write_index_keys(tx, key, &row.keys, existing).await?;
    let (tenant, rt, id) = key;
    if existing {
        tx.execute(
            &tx.prepare_cached(
                "DELETE FROM members WHERE tenant = $1 AND resource_type = $2 AND owner_id = $3",
            )
            .await?,
            &[&tenant, &rt, &id],
        )
        .await?;
    }
    let Some(ool) = &row.out_of_line else {
        return Ok(());
    };
    let c = Columns::of(&ool.elements, 1)?;
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO members (tenant, resource_type, owner_id, seq, value_key, element, \
             search, folded) \
             SELECT $1, $2, $3, t.seq, t.v, t.e::json, t.s::jsonb, t.f::jsonb \
             FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[]) \
             AS t(seq, v, e, s, f)",
        )
        .await?,
        &c.after(&[&tenant, &rt, &id]),
    )
    .await?;
    Ok(())
}

/// Makes the `attr_index` rows of the resource `keys`, writing only the difference from
/// what is stored (a PATCH of one email of a user with 25,000 changes two rows).
pub(crate) async fn write_index_keys(
    tx: &Transaction<'_>,
    (tenant, rt, id): (&str, &str, &str),
    keys: &[(&'static str, String)],
    existing: bool,
) -> Result<(), Fail> {
    let attrs: Vec<&str> = keys.iter().map(|(a, _)| *a).collect();
    let values: Vec<std::borrow::Cow<'_, str>> = keys.iter().map(|(_, k)| text(k)).collect();
    let values: Vec<&str> = values.iter().map(|k| k.as_ref()).collect();
    if existing {
        tx.execute(
            &tx.prepare_cached(
                "DELETE FROM attr_index WHERE tenant = $1 AND resource_type = $2 AND id = $3 \
                 AND (attr, key) NOT IN (SELECT a, k FROM unnest($4::text[], $5::text[]) AS t(a, k))",
            )
            .await?,
            &[&tenant, &rt, &id, &attrs, &values],
        )
        .await?;
    }
    if keys.is_empty() {
        return Ok(());
    }
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO attr_index (tenant, resource_type, attr, key, id) \
             SELECT $1, $2, t.a, t.k, $3 FROM unnest($4::text[], $5::text[]) AS t(a, k) \
             ON CONFLICT DO NOTHING",
        )
        .await?,
        &[&tenant, &rt, &id, &attrs, &values],
    )
    .await?;
    Ok(())
}

/// Makes the unique keys of the resource `unique` (`existing`: drop those it no longer
/// has). The primary key refuses a value another resource holds, whichever process wrote
/// it: [`StoreError::Conflict`] naming the attribute. A key the resource holds already is
/// left as it is.
pub(crate) async fn write_unique(
    tx: &Transaction<'_>,
    (tenant, rt, id): (&str, &str, &str),
    unique: &[UniqueKey],
    existing: bool,
) -> Result<(), Fail> {
    if existing {
        let attrs: Vec<&str> = unique.iter().map(|k| k.attribute.as_str()).collect();
        let values: Vec<String> = unique.iter().map(|k| text(&k.value).into_owned()).collect();
        tx.execute(
            &tx.prepare_cached(
                "DELETE FROM unique_keys WHERE tenant = $1 AND resource_type = $2 AND id = $3 \
                 AND (attribute, value) NOT IN \
                 (SELECT a, v FROM unnest($4::text[], $5::text[]) AS t(a, v))",
            )
            .await?,
            &[&tenant, &rt, &id, &attrs, &values],
        )
        .await?;
    }
    if unique.is_empty() {
        return Ok(());
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO unique_keys (tenant, resource_type, attribute, value, id) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .await?;
    let owner = tx
        .prepare_cached(
            "SELECT id FROM unique_keys WHERE tenant = $1 AND resource_type = $2 \
             AND attribute = $3 AND value = $4",
        )
        .await?;
    for key in unique {
        let value = text(&key.value);
        // Waits for a writer of the same key to finish, then inserts or finds it taken.
        let inserted = tx
            .execute(&insert, &[&tenant, &rt, &key.attribute, &value, &id])
            .await?;
        if inserted == 1 {
            continue;
        }
        let holder: Option<String> = tx
            .query_opt(&owner, &[&tenant, &rt, &key.attribute, &value])
            .await?
            .map(|r| r.get(0));
        if holder.is_some_and(|h| h != id) {
            return Err(StoreError::Conflict {
                attribute: key.attribute.clone(),
            }
            .into());
        }
    }
    Ok(())
}

/// Refuses a write unless the resource `key` is stored at version `expected` (a
/// [`version_param`]): [`StoreError::NotFound`] or [`StoreError::VersionMismatch`].
async fn expect_version(
    client: &impl GenericClient,
    key: (&str, &str, &str),
    expected: i64,
) -> Result<(), Fail> {
    match current_version(client, key).await? {
        None => Err(StoreError::NotFound.into()),
        Some(v) if v != expected => Err(StoreError::VersionMismatch.into()),
        Some(_) => Ok(()),
    }
}

/// The version of the resource, if it exists (no lock).
pub(crate) async fn current_version(
    client: &impl GenericClient,
    (tenant, rt, id): (&str, &str, &str),
) -> Result<Option<i64>, Fail> {
    Ok(client
        .query_opt(
            &client
                .prepare_cached(
                    "SELECT version FROM resources WHERE tenant = $1 AND resource_type = $2 \
                     AND id = $3",
                )
                .await?,
            &[&tenant, &rt, &id],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Whether the resource has any out-of-line element, and any irregular one (no string
/// `value`).
pub(crate) async fn member_state(
    tx: &Transaction<'_>,
    (tenant, rt, id): (&str, &str, &str),
) -> Result<(bool, bool), Fail> {
    let row = tx
        .query_one(
            &tx.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM members WHERE tenant = $1 AND resource_type = $2 \
                 AND owner_id = $3), \
                 EXISTS (SELECT 1 FROM members WHERE tenant = $1 AND resource_type = $2 \
                 AND value_key IS NULL AND owner_id = $3)",
            )
            .await?,
            &[&tenant, &rt, &id],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// Deletes the resource row (locked first: a member add holding it waits for us, or we for
/// it) and its side-table rows, if its version is `expected` (when given): true when it
/// existed, [`StoreError::VersionMismatch`] when its version differs.
pub(crate) async fn delete_row(
    tx: &Transaction<'_>,
    (tenant, rt, id): (&str, &str, &str),
    expected: Option<u64>,
) -> Result<bool, Fail> {
    let current: Option<i64> = tx
        .query_opt(
            &tx.prepare_cached(
                "SELECT version FROM resources WHERE tenant = $1 AND resource_type = $2 \
                 AND id = $3 FOR UPDATE",
            )
            .await?,
            &[&tenant, &rt, &id],
        )
        .await?
        .map(|r| r.get(0));
    match (current, expected) {
        (None, _) => return Ok(false),
        (Some(v), Some(e)) if v != version_param(e) => {
            return Err(StoreError::VersionMismatch.into())
        }
        _ => {}
    }
    for sql in [
        "DELETE FROM resources WHERE tenant = $1 AND resource_type = $2 AND id = $3",
        "DELETE FROM attr_index WHERE tenant = $1 AND resource_type = $2 AND id = $3",
        "DELETE FROM members WHERE tenant = $1 AND resource_type = $2 AND owner_id = $3",
        "DELETE FROM unique_keys WHERE tenant = $1 AND resource_type = $2 AND id = $3",
    ] {
        tx.execute(&tx.prepare_cached(sql).await?, &[&tenant, &rt, &id])
            .await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::jsonb_safe;

    #[test]
    fn nul_escapes_are_replaced_and_reported() {
        assert_eq!(
            jsonb_safe(r#"{"a":"x"}"#),
            (r#"{"a":"x"}"#.to_owned(), false)
        );
        assert_eq!(
            jsonb_safe(r#"{"a":"x\u0000"}"#),
            (r#"{"a":"x\ufffd"}"#.to_owned(), true)
        );
    }
}
