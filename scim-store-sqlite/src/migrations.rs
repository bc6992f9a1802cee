//! The tables, and the migration of a database written by an earlier version
//! (`PRAGMA user_version`).

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use scim_core::StoreError;
use serde_json::Value;

use scim_core::secret::{hash_secrets_at, PasswordScheme};
use scim_core::StoreSchema;

use crate::layout::{hidden_of, Row};
use crate::trigrams;
use crate::{out_of_line_of, unavailable};

/// The schema version this crate writes (`PRAGMA user_version`).
///
/// - 0: `resources` and `unique_keys` only.
/// - 1: `attr_index`, `members`, and `resources.members_key` / `resources.irregular`.
/// - 2: no secret in clear: `returned: never` values (passwords) hashed, and left out of
///   `search`; unique keys compared as `UniqueKey::normalised` makes them (NFKC, case-folded).
/// - 3: the trigram index (`attr_text`, `attr_trigram`, see [`crate::trigrams`]).
/// - 4: the `capped` table (resources with too many values of an indexed attribute to
///   index them one by one, see [`crate::write_keys`]); empty at first: every resource
///   written before is fully indexed, which stays exact.
pub(crate) const VERSION: i64 = 4;

/// Version 0, as it was (created when missing, so that one migration path serves new and
/// old files alike).
const V0: &str = "
CREATE TABLE IF NOT EXISTS resources (
    tenant        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    id            TEXT NOT NULL,
    version       INTEGER NOT NULL,
    resource      TEXT NOT NULL,
    search        TEXT NOT NULL,
    ambiguous     INTEGER NOT NULL DEFAULT 0,
    created       TEXT,
    last_modified TEXT,
    PRIMARY KEY (tenant, resource_type, id)
);
CREATE INDEX IF NOT EXISTS resources_ambiguous
    ON resources (tenant, resource_type) WHERE ambiguous = 1;
CREATE TABLE IF NOT EXISTS unique_keys (
    tenant        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    attribute     TEXT NOT NULL,
    value         TEXT NOT NULL,
    id            TEXT NOT NULL,
    PRIMARY KEY (tenant, resource_type, attribute, value)
);
CREATE INDEX IF NOT EXISTS unique_keys_owner ON unique_keys (tenant, resource_type, id);
";

/// What version 1 adds.
const V1: &str = "
CREATE INDEX IF NOT EXISTS resources_irregular
    ON resources (tenant, resource_type) WHERE irregular = 1;
CREATE TABLE IF NOT EXISTS attr_index (
    tenant        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    attr          TEXT NOT NULL,
    key           TEXT NOT NULL,
    id            TEXT NOT NULL,
    PRIMARY KEY (tenant, resource_type, attr, key, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attr_index_owner ON attr_index (tenant, resource_type, id);
CREATE TABLE IF NOT EXISTS members (
    tenant        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    owner_id      TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    value_key     TEXT,
    element       TEXT NOT NULL,
    search        TEXT NOT NULL,
    PRIMARY KEY (tenant, resource_type, owner_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_value
    ON members (tenant, resource_type, value_key, owner_id);
";

/// Creates the tables, or brings an older file up to [`VERSION`], in one transaction: from
/// version 0, adds the columns and tables, then rewrites every stored resource once
/// (side-table keys; out-of-line elements for the types whose members go out of line); from
/// any version before 2, hashes the secrets kept in clear with `passwords`; from version 1
/// or 2, fills the trigram index from `attr_index`.
pub(crate) fn migrate(
    conn: &mut Connection,
    schema: &StoreSchema,
    passwords: &dyn PasswordScheme,
    cap: usize,
) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(unavailable)?;
    if version >= VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Exclusive)
        .map_err(unavailable)?;
    // Another connection may have migrated while this one waited for the lock.
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(unavailable)?;
    if version >= VERSION {
        return Ok(());
    }
    // First: the rewrite of version 0 writes to it.
    tx.execute_batch(crate::write::CAPPED)
        .map_err(unavailable)?;
    if version < 1 {
        tx.execute_batch(V0).map_err(unavailable)?;
        for (column, decl) in [
            ("members_key", "TEXT"),
            ("irregular", "INTEGER NOT NULL DEFAULT 0"),
        ] {
            let present: Option<String> = tx
                .query_row(
                    "SELECT name FROM pragma_table_info('resources') WHERE name = ?1",
                    params![column],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            if present.is_none() {
                // Names from the list above, never from input.
                tx.execute_batch(&format!(
                    "ALTER TABLE resources ADD COLUMN {column} {decl};"
                ))
                .map_err(unavailable)?;
            }
        }
        tx.execute_batch(V1).map_err(unavailable)?;
        // The rewrite below fills the trigram index with the other side tables.
        tx.execute_batch(trigrams::TABLES).map_err(unavailable)?;
        backfill(&tx, schema, cap)?;
    } else if version < 3 {
        tx.execute_batch(trigrams::TABLES).map_err(unavailable)?;
        trigrams::backfill(&tx)?;
    }
    if version < 2 {
        seal_secrets(&tx, schema, passwords)?;
        renormalise_unique_keys(&tx, schema)?;
    }
    tx.pragma_update(None, "user_version", VERSION)
        .map_err(unavailable)?;
    tx.commit().map_err(unavailable)
}

/// Version 2: the unique keys an older engine wrote (lower-cased only) are made again as
/// [`scim_core::UniqueKey::normalised`] makes them, so a legacy `José` (NFD) and a new
/// `José` (NFC) collide. Two legacy values that now collide keep one key (the first id in
/// order): both resources stay, and the next write of the other one is refused as taken.
fn renormalise_unique_keys(
    tx: &rusqlite::Transaction<'_>,
    schema: &StoreSchema,
) -> Result<(), StoreError> {
    let rows: Vec<(String, String, String, String, String)> = {
        let mut stmt = tx
            .prepare(
                "SELECT tenant, resource_type, attribute, value, id FROM unique_keys ORDER BY id",
            )
            .map_err(unavailable)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(unavailable)?;
        rows.collect::<Result<_, _>>().map_err(unavailable)?
    };
    tx.execute("DELETE FROM unique_keys", [])
        .map_err(unavailable)?;
    let mut insert = tx
        .prepare(
            "INSERT OR IGNORE INTO unique_keys (tenant, resource_type, attribute, value, id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(unavailable)?;
    for (tenant, rt, attribute, value, id) in rows {
        let case_exact = schema.get(&rt).is_some_and(|t| {
            t.case_exact_unique
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&attribute))
        });
        let key = scim_core::UniqueKey::normalised(attribute, &value, case_exact);
        insert
            .execute(params![tenant, rt, key.attribute, key.value, id])
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Version 2: every `returned: never` value that is not a hash of `passwords` is hashed, and
/// the search form of those resources rewritten without them.
fn seal_secrets(
    tx: &rusqlite::Transaction<'_>,
    schema: &StoreSchema,
    passwords: &dyn PasswordScheme,
) -> Result<(), StoreError> {
    for rt in schema.types() {
        let name = rt.name.clone();
        let hidden = hidden_of(schema, &name);
        if hidden.is_empty() {
            continue;
        }
        let rows: Vec<(String, String, String)> = {
            let mut stmt = tx
                .prepare("SELECT tenant, id, resource FROM resources WHERE resource_type = ?1")
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)?
        };
        let mut update = tx
            .prepare(
                "UPDATE resources SET resource = ?4, search = ?5 \
                 WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
            )
            .map_err(unavailable)?;
        for (tenant, id, text) in rows {
            let mut resource: Value = serde_json::from_str(&text).map_err(unavailable)?;
            hash_secrets_at(&rt.secrets, &mut resource, passwords, &|s| {
                passwords.is_hash(s)
            })
            .map_err(unavailable)?;
            let row = Row::of(&resource, &id, None, &hidden)?;
            update
                .execute(params![tenant, name, id, row.resource, row.search])
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Rewrites every resource through [`Row::of`] and [`crate::write_side_tables`].
fn backfill(
    tx: &rusqlite::Transaction<'_>,
    schema: &StoreSchema,
    cap: usize,
) -> Result<(), StoreError> {
    // The keys first: the loop below rewrites the rows it would otherwise be scanning.
    let keys: Vec<(String, String, String)> = {
        let mut stmt = tx
            .prepare("SELECT tenant, resource_type, id FROM resources")
            .map_err(unavailable)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(unavailable)?;
        rows.collect::<Result<_, _>>().map_err(unavailable)?
    };
    let mut read = tx
        .prepare(
            "SELECT resource FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
        )
        .map_err(unavailable)?;
    let mut update = tx
        .prepare(
            "UPDATE resources SET resource = ?4, search = ?5, members_key = ?6, irregular = ?7 \
             WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
        )
        .map_err(unavailable)?;
    for (tenant, rt, id) in keys {
        let text: String = read
            .query_row(params![tenant, rt, id], |r| r.get(0))
            .map_err(unavailable)?;
        let resource: Value = serde_json::from_str(&text).map_err(unavailable)?;
        let (stored, over) = Row::of_capped(
            &resource,
            &id,
            out_of_line_of(schema, &rt),
            &hidden_of(schema, &rt),
            cap,
        )?;
        update
            .execute(params![
                tenant,
                rt,
                id,
                stored.resource,
                stored.search,
                stored.out_of_line.as_ref().map(|o| o.key.as_str()),
                stored.irregular
            ])
            .map_err(unavailable)?;
        crate::write_side_tables(tx, (&tenant, &rt, &id), &stored, &over, false)?;
    }
    Ok(())
}
