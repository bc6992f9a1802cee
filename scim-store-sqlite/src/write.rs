//! The write path: new ids, creating, replacing and deleting rows with their side tables
//! (index keys, unique keys, out-of-line elements, trigrams), and element-level PATCH.

use rusqlite::{params, Connection, OptionalExtension};
use scim_core::{
    ElementChange, ElementPatch, ReferenceCheck, ResourceEdit, StoreError, StoredResource,
    UniqueKey,
};
use serde_json::Value;

use crate::layout::{changed_out_of_line, hidden_of, search_doc, without, Capped, Element, Row};
use crate::{keys_of, references, trigrams, unavailable, Core};

/// A resource about to be created: its id, the document with it, and its rows
/// ([`Core::prepare_create`]).
pub(crate) struct PreparedCreate {
    id: String,
    resource: Value,
    row: Row,
    over: Vec<Capped>,
}

impl Core {
    /// A new id nobody can guess from another: a version-7 UUID (time first, see
    /// [`crate::SqliteOptions::time_ordered_ids`]) or a random version-4 one.
    pub(crate) fn next_id(&self) -> Result<String, StoreError> {
        crate::layout::new_id(&*self.entropy, self.time_ordered_ids)
    }

    /// A new resource's id and rows, made before the write: on the caller's thread, so that
    /// the writer, which all writes queue for, only runs SQL.
    pub(crate) fn prepare_create(
        &self,
        rt: &str,
        mut resource: Value,
    ) -> Result<PreparedCreate, StoreError> {
        let id = self.next_id()?;
        if let Value::Object(m) = &mut resource {
            m.insert("id".into(), Value::String(id.clone()));
        }
        let (row, over) = Row::of_capped(
            &resource,
            &id,
            self.ool(rt),
            &hidden_of(&self.schema, rt),
            self.max_indexed_values,
        )?;
        Ok(PreparedCreate {
            id,
            resource,
            row,
            over,
        })
    }

    /// [`Store::create`] inside `tx`.
    pub(crate) fn create_in(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: &[UniqueKey],
    ) -> Result<StoredResource, StoreError> {
        let prepared = self.prepare_create(rt, resource)?;
        self.create_prepared_in(tx, tenant, rt, prepared, unique)
    }

    /// [`Store::create`] of a resource [`Core::prepare_create`] made, inside `tx`.
    /// Everything that can refuse the create (the id, the unique values) is checked before
    /// the first row is written: the writer runs it without a savepoint
    /// (`Pool::write_unjournaled`).
    pub(crate) fn create_prepared_in(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        prepared: PreparedCreate,
        unique: &[UniqueKey],
    ) -> Result<StoredResource, StoreError> {
        let mut prepared = prepared;
        // Another store on the same file may have taken the id (122 or 74 random bits: in
        // practice never): draw again.
        while current_version(tx, tenant, rt, &prepared.id)?.is_some() {
            let resource = std::mem::take(&mut prepared.resource);
            prepared = self.prepare_create(rt, resource)?;
        }
        let PreparedCreate {
            id,
            resource,
            row,
            over,
        } = prepared;
        check_unique(tx, tenant, rt, &id, unique)?;
        tx.prepare_cached(
            "INSERT INTO resources (tenant, resource_type, id, version, resource, search, \
             ambiguous, created, last_modified, members_key, irregular) \
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                tenant,
                rt,
                id,
                row.resource,
                row.search,
                row.ambiguous,
                row.created,
                row.last_modified,
                row.out_of_line.as_ref().map(|o| o.key.as_str()),
                row.irregular
            ])
        })
        .map_err(unavailable)?;
        write_side_tables(tx, (tenant, rt, &id), &row, &over, false)?;
        index_unique(tx, tenant, rt, &id, unique, false)?;
        Ok(StoredResource::new(id, 1, resource))
    }

    /// [`Store::patch_elements`] inside `tx`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn patch_elements_in(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
        check: Option<&ReferenceCheck>,
    ) -> Result<ElementPatch, StoreError> {
        let attr = changed_out_of_line(&self.schema, rt, &change.attribute)?;
        {
            let expected = version_param(expected_version);
            let current: Option<(i64, Option<String>, bool)> = tx
                .prepare_cached(
                    "SELECT version, members_key, ambiguous FROM resources \
                     WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![tenant, rt, id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
                })
                .map_err(unavailable)?;
            let (old_key, old_ambiguous) = match current {
                None => return Err(StoreError::NotFound),
                Some((v, _, _)) if v != expected => return Err(StoreError::VersionMismatch),
                Some((_, key, ambiguous)) => (key, ambiguous),
            };
            // In this transaction: a member deleted since the engine's check is refused.
            references::check(tx, tenant, check)?;
            let mut changed = 0usize;
            if change.clear {
                changed += tx
                    .prepare_cached(
                        "DELETE FROM members WHERE tenant = ?1 AND resource_type = ?2 \
                         AND owner_id = ?3",
                    )
                    .and_then(|mut s| s.execute(params![tenant, rt, id]))
                    .map_err(unavailable)?;
            }
            {
                let mut remove = tx
                    .prepare_cached(
                        // Without the hint SQLite 3.50 walks the group's primary-key range
                        // (every member) instead of this index: 8 ms on 100,000 members.
                        "DELETE FROM members INDEXED BY members_value \
                         WHERE tenant = ?1 AND resource_type = ?2 \
                         AND value_key = ?4 AND owner_id = ?3",
                    )
                    .map_err(unavailable)?;
                for value in &change.removed {
                    changed += remove
                        .execute(params![tenant, rt, id, value.to_lowercase()])
                        .map_err(unavailable)?;
                }
            }
            let mut added_ambiguous = false;
            if !change.added.is_empty() {
                let mut seq: i64 = tx
                    .prepare_cached(
                        "SELECT seq FROM members WHERE tenant = ?1 AND resource_type = ?2 \
                         AND owner_id = ?3 ORDER BY seq DESC LIMIT 1",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![tenant, rt, id], |r| r.get(0))
                            .optional()
                    })
                    .map_err(unavailable)?
                    .unwrap_or(0);
                // A value present already is skipped (RFC 7644 §3.5.2.1).
                let mut add = tx
                    .prepare_cached(
                        "INSERT INTO members (tenant, resource_type, owner_id, seq, value_key, \
                         element, search) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 \
                         WHERE ?5 IS NULL OR NOT EXISTS (SELECT 1 FROM members \
                         INDEXED BY members_value WHERE tenant = ?1 AND resource_type = ?2 AND value_key = ?5 \
                         AND owner_id = ?3)",
                    )
                    .map_err(unavailable)?;
                for element in &change.added {
                    let (search, ambiguous) = search_doc(element);
                    let e = Element::of(element, &search)?;
                    seq += 1;
                    let n = add
                        .execute(params![
                            tenant,
                            rt,
                            id,
                            seq,
                            e.value_key,
                            e.element,
                            e.search
                        ])
                        .map_err(unavailable)?;
                    added_ambiguous |= ambiguous && n > 0;
                    changed += n;
                }
            }
            if changed == 0 && !head_changed {
                // Nothing to write: the transaction rolls back when dropped.
                return Ok(ElementPatch {
                    version: expected_version,
                    changed: false,
                });
            }
            check_unique(tx, tenant, rt, id, &unique)?;
            let head = without(head, attr);
            let (row, over) = Row::of_capped(
                &head,
                id,
                None,
                &hidden_of(&self.schema, rt),
                self.max_indexed_values,
            )?;
            let (has_members, irregular) = member_state(tx, tenant, rt, id)?;
            let members_key = has_members.then(|| old_key.unwrap_or_else(|| attr.to_owned()));
            // Sticky until the next replace: which part of the old resource was ambiguous is
            // not recorded, and a false `ambiguous` would make push-down inexact.
            let ambiguous = row.ambiguous || added_ambiguous || old_ambiguous;
            let members_key = members_key.as_deref();
            update_row(
                tx,
                (tenant, rt, id),
                expected,
                &row,
                (ambiguous, members_key, irregular),
            )?;
            write_keys(tx, (tenant, rt, id), Some((&row, &over)), true)?;
            index_unique(tx, tenant, rt, id, &unique, true)?;
            Ok(ElementPatch {
                version: expected_version + 1,
                changed: true,
            })
        }
    }

    /// [`Store::replace`] inside `tx`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn replace_in(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: &[UniqueKey],
        check: Option<&ReferenceCheck>,
    ) -> Result<StoredResource, StoreError> {
        let expected = version_param(expected_version);
        expect_version(tx, (tenant, rt, id), expected)?;
        references::check(tx, tenant, check)?;
        check_unique(tx, tenant, rt, id, unique)?;
        let (row, over) = Row::of_capped(
            &resource,
            id,
            self.ool(rt),
            &hidden_of(&self.schema, rt),
            self.max_indexed_values,
        )?;
        let flags = (
            row.ambiguous,
            row.out_of_line.as_ref().map(|o| o.key.as_str()),
            row.irregular,
        );
        update_row(tx, (tenant, rt, id), expected, &row, flags)?;
        write_side_tables(tx, (tenant, rt, id), &row, &over, true)?;
        index_unique(tx, tenant, rt, id, unique, true)?;
        Ok(StoredResource::new(
            id.to_owned(),
            expected_version + 1,
            resource,
        ))
    }

    /// [`Store::replace_edited`] inside `tx`: the row read from the edit's text
    /// ([`Row::of_edit`]) without building the document, else from the document parsed.
    pub(crate) fn replace_edited_in(
        &self,
        tx: &Connection,
        (tenant, rt, id): (&str, &str, &str),
        expected_version: u64,
        edit: ResourceEdit,
        unique: &[UniqueKey],
    ) -> Result<StoredResource, StoreError> {
        let hidden = hidden_of(&self.schema, rt);
        let row = match self.ool(rt) {
            None => Row::of_edit(&edit, id, &hidden, self.max_indexed_values)?,
            Some(_) => None,
        };
        let Some((row, over)) = row else {
            let resource = serde_json::from_str(&edit.text).map_err(unavailable)?;
            return self.replace_in(tx, tenant, rt, id, expected_version, resource, unique, None);
        };
        drop(edit);
        let expected = version_param(expected_version);
        expect_version(tx, (tenant, rt, id), expected)?;
        check_unique(tx, tenant, rt, id, unique)?;
        update_row(tx, (tenant, rt, id), expected, &row, (false, None, false))?;
        write_side_tables(tx, (tenant, rt, id), &row, &over, true)?;
        index_unique(tx, tenant, rt, id, unique, true)?;
        Ok(
            StoredResource::new(id.to_owned(), expected_version + 1, Value::Null)
                .with_text(row.resource),
        )
    }

    /// [`Store::delete`] inside `tx`.
    pub(crate) fn delete_in(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        if !references::delete_row(tx, tenant, rt, id, expected_version)? {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// Fills `attr_index` (and the trigram and capped tables, see [`write_keys`]) and
/// `members` for a stored row (`existing`: first drop what the resource had).
pub(crate) fn write_side_tables(
    tx: &Connection,
    (tenant, rt, id): (&str, &str, &str),
    row: &Row,
    over: &[Capped],
    existing: bool,
) -> Result<(), StoreError> {
    write_keys(tx, (tenant, rt, id), Some((row, over)), existing)?;
    if existing {
        tx.prepare_cached(
            "DELETE FROM members WHERE tenant = ?1 AND resource_type = ?2 AND owner_id = ?3",
        )
        .and_then(|mut s| s.execute(params![tenant, rt, id]))
        .map_err(unavailable)?;
    }
    if let Some(ool) = &row.out_of_line {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO members (tenant, resource_type, owner_id, seq, value_key, element, \
                 search) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(unavailable)?;
        for (seq, e) in (1i64..).zip(&ool.elements) {
            insert
                .execute(params![
                    tenant,
                    rt,
                    id,
                    seq,
                    e.value_key,
                    e.element,
                    e.search
                ])
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// The table of the (resource, label) pairs over the cap ([`write_keys`]): such a resource
/// has no `attr_index` or trigram rows for the label, and lookups of the label read its
/// document instead.
pub(crate) const CAPPED: &str = "
CREATE TABLE IF NOT EXISTS capped (
    tenant        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    attr          TEXT NOT NULL,
    id            TEXT NOT NULL,
    bloom         BLOB,
    PRIMARY KEY (tenant, resource_type, attr, id)
) WITHOUT ROWID;
";

/// Brings every index row of `(tenant, rt, id)` to `keys`: `attr_index`, the trigram
/// index, and `capped`. A label with more keys in this one resource than
/// [`crate::SqliteOptions::max_indexed_values`] (a user with 25,000 emails; `over`, which
/// [`Row::of_capped`] leaves out of `keys`) is not indexed value by value: the resource is
/// recorded in `capped` for it instead, and the lookups of that label read the documents
/// of such resources (see `translate::lookups`). Each (resource, label) is either fully
/// indexed or capped, whatever cap it was written with, so push-down stays exact for both.
pub(crate) fn write_keys(
    tx: &Connection,
    (tenant, rt, id): (&str, &str, &str),
    indexed: Option<(&Row, &[Capped])>,
    existing: bool,
) -> Result<(), StoreError> {
    let keys = indexed.map_or(&[][..], |(row, _)| &row.keys[..]);
    write_index_keys(tx, tenant, rt, id, keys, existing)?;
    trigrams::write(tx, tenant, rt, id, keys, existing)?;
    if existing {
        tx.prepare_cached(
            "DELETE FROM capped WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
        )
        .and_then(|mut s| s.execute(params![tenant, rt, id]))
        .map_err(unavailable)?;
    }
    let Some((_, over)) = indexed.filter(|(_, over)| !over.is_empty()) else {
        return Ok(());
    };
    let mut insert = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO capped (tenant, resource_type, attr, id, bloom) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(unavailable)?;
    for (label, keys) in over {
        // The keys the index would hold, for the filter.
        let bloom = keys_of::label_attr(label).map(|_| keys_of::bloom(keys));
        insert
            .execute(params![tenant, rt, label, id, bloom])
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Makes the `attr_index` rows of `id` the `keys` (`existing`: the resource may have rows
/// already). Writes only the difference from what is stored, in key order: a PATCH of one
/// email of a user with 25,000 deletes one row and inserts one, instead of rewriting 25,000.
pub(crate) fn write_index_keys(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    keys: &[(&'static str, String)],
    existing: bool,
) -> Result<(), StoreError> {
    if existing && keys.is_empty() {
        tx.prepare_cached(
            "DELETE FROM attr_index WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
        )
        .and_then(|mut s| s.execute(params![tenant, rt, id]))
        .map_err(unavailable)?;
        return Ok(());
    }
    let mut new: Vec<(&str, &str)> = keys.iter().map(|(a, k)| (*a, k.as_str())).collect();
    new.sort_unstable();
    new.dedup();
    let mut old: Vec<(String, String)> = Vec::new();
    if existing {
        let mut stmt = tx
            .prepare_cached(
                "SELECT attr, key FROM attr_index INDEXED BY attr_index_owner \
                 WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3 ORDER BY attr, key",
            )
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params![tenant, rt, id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(unavailable)?;
        for row in rows {
            old.push(row.map_err(unavailable)?);
        }
        // Already in order (the index's); the sort only confirms it, in linear time.
        old.sort_unstable();
    }
    // One merge of the two sorted lists: rows only in `old` go, rows only in `new` come.
    let mut gone: Vec<(&str, &str)> = Vec::new();
    let mut added: Vec<(&str, &str)> = Vec::with_capacity(new.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let o = old.get(i).map(|(a, k)| (a.as_str(), k.as_str()));
        match (o, new.get(j).copied()) {
            (Some(o), Some(n)) if o == n => {
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o < n => {
                gone.push(o);
                i += 1;
            }
            (Some(o), None) => {
                gone.push(o);
                i += 1;
            }
            (_, Some(n)) => {
                added.push(n);
                j += 1;
            }
            (None, None) => break,
        }
    }
    if !gone.is_empty() {
        let mut delete = tx
            .prepare_cached(
                "DELETE FROM attr_index WHERE tenant = ?1 AND resource_type = ?2 \
                 AND attr = ?3 AND key = ?4 AND id = ?5",
            )
            .map_err(unavailable)?;
        for (attr, key) in gone {
            delete
                .execute(params![tenant, rt, attr, key, id])
                .map_err(unavailable)?;
        }
    }
    // Many rows per statement: a user with 25,000 emails is 25,000 rows.
    const ROWS: usize = 64;
    let values = |rows: usize| {
        (0..rows)
            .map(|r| format!("(?1, ?2, ?{}, ?{}, ?3)", 4 + 2 * r, 5 + 2 * r))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let insert_sql = |rows: usize| {
        format!(
            "INSERT OR IGNORE INTO attr_index (tenant, resource_type, attr, key, id) VALUES {}",
            values(rows)
        )
    };
    let mut chunks = added.chunks_exact(ROWS);
    if chunks.len() > 0 {
        let mut insert = tx.prepare_cached(&insert_sql(ROWS)).map_err(unavailable)?;
        for chunk in &mut chunks {
            let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&tenant, &rt, &id];
            for (attr, key) in chunk {
                bound.push(attr);
                bound.push(key);
            }
            insert.execute(&bound[..]).map_err(unavailable)?;
        }
    }
    let mut insert = tx.prepare_cached(&insert_sql(1)).map_err(unavailable)?;
    for (attr, key) in chunks.remainder() {
        insert
            .execute(params![tenant, rt, id, attr, key])
            .map_err(unavailable)?;
    }
    Ok(())
}

pub(crate) fn check_unique(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    unique: &[UniqueKey],
) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT id FROM unique_keys WHERE tenant = ?1 AND resource_type = ?2 \
             AND attribute = ?3 AND value = ?4",
        )
        .map_err(unavailable)?;
    for key in unique {
        let owner: Option<String> = stmt
            .query_row(params![tenant, rt, key.attribute, key.value], |r| r.get(0))
            .optional()
            .map_err(unavailable)?;
        if owner.is_some_and(|o| o != id) {
            return Err(StoreError::Conflict {
                attribute: key.attribute.clone(),
            });
        }
    }
    Ok(())
}

pub(crate) fn index_unique(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    unique: &[UniqueKey],
    existing: bool,
) -> Result<(), StoreError> {
    if existing {
        tx.prepare_cached(
            "DELETE FROM unique_keys WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
        )
        .and_then(|mut s| s.execute(params![tenant, rt, id]))
        .map_err(unavailable)?;
    }
    let mut stmt = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO unique_keys (tenant, resource_type, attribute, value, id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(unavailable)?;
    for key in unique {
        stmt.execute(params![tenant, rt, key.attribute, key.value, id])
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Refuses a write unless `id` is stored at version `expected` (a [`version_param`]):
/// [`StoreError::NotFound`] or [`StoreError::VersionMismatch`].
fn expect_version(
    tx: &Connection,
    (tenant, rt, id): (&str, &str, &str),
    expected: i64,
) -> Result<(), StoreError> {
    match current_version(tx, tenant, rt, id)? {
        None => Err(StoreError::NotFound),
        Some(v) if v != expected => Err(StoreError::VersionMismatch),
        Some(_) => Ok(()),
    }
}

pub(crate) fn current_version(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
) -> Result<Option<i64>, StoreError> {
    tx.prepare_cached(
        "SELECT version FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![tenant, rt, id], |r| r.get(0))
            .optional()
    })
    .map_err(unavailable)
}

/// A version as SQLite stores it; one it cannot hold matches no row.
pub(crate) fn version_param(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(-1)
}

/// Whether `id` has any out-of-line element, and any irregular one (no string `value`).
pub(crate) fn member_state(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
) -> Result<(bool, bool), StoreError> {
    tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM members WHERE tenant = ?1 AND resource_type = ?2 \
         AND owner_id = ?3), \
         EXISTS (SELECT 1 FROM members WHERE tenant = ?1 AND resource_type = ?2 \
         AND value_key IS NULL AND owner_id = ?3)",
    )
    .and_then(|mut s| s.query_row(params![tenant, rt, id], |r| Ok((r.get(0)?, r.get(1)?))))
    .map_err(unavailable)
}

/// Writes `row` as the next version of `(tenant, type, id)` if its version is `expected`,
/// with the given `(ambiguous, members_key, irregular)`; [`StoreError::VersionMismatch`]
/// when another write came first.
pub(crate) fn update_row(
    tx: &Connection,
    (tenant, rt, id): (&str, &str, &str),
    expected: i64,
    row: &Row,
    (ambiguous, members_key, irregular): (bool, Option<&str>, bool),
) -> Result<(), StoreError> {
    // Prepared once per connection: parsing this statement cost a tenth of a small PATCH.
    let updated = tx
        .prepare_cached(
            "UPDATE resources SET version = version + 1, resource = ?5, search = ?6, \
             ambiguous = ?7, created = ?8, last_modified = ?9, members_key = ?10, \
             irregular = ?11 \
             WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3 AND version = ?4",
        )
        .and_then(|mut s| {
            s.execute(params![
                tenant,
                rt,
                id,
                expected,
                row.resource,
                row.search,
                ambiguous,
                row.created,
                row.last_modified,
                members_key,
                irregular
            ])
        })
        .map_err(unavailable)?;
    if updated == 0 {
        return Err(StoreError::VersionMismatch);
    }
    Ok(())
}
