//! The tables, created or brought up to [`LAYOUT_VERSION`] on connect, in the store's
//! schema; each version applied is a row of the `layout` table.

use deadpool_postgres::Object;

use scim_store_layout::INDEXED;

use crate::Fail;

/// The layout this crate writes (the highest `version` in the schema's `layout` table).
///
/// - 1: `resources`, `members`, `attr_index` (with a trigram index on `key` where
///   `pg_trgm` was available), `unique_keys`.
/// - 2: `resources.created_key` and `last_modified_key`: `meta.created` and
///   `meta.lastModified` as instant keys, which filters compare; `odd_times` marks a
///   resource whose `meta` times are not one dateTime each (the engine filters it);
///   `resources.folded` and `members.folded`: the search documents with their strings
///   lower-cased by Rust, which case-insensitive comparisons read. Rows written before have
///   no `folded` document: the engine filters them until they are written again.
/// - 3: one trigram index per indexed attribute (`attr_index_trgm_<attribute>`, partial on
///   `attr`) instead of one over every key: a `displayName co` search reads the posting
///   lists of display names only, not those of every userName and email too (a fifth of
///   the entries); and none keeps a pending list (`fastupdate = off`): each write puts its
///   keys in the index at once, so a search never scans megabytes of recent, unmerged keys.
///
/// ```
/// assert_eq!(scim_store_postgres::LAYOUT_VERSION, 3);
/// ```
pub const LAYOUT_VERSION: i32 = 3;

/// One key for every store's migrations in a database: schemas migrate one at a time (a
/// `CREATE EXTENSION` or `CREATE SCHEMA` racing another fails rather than waits).
pub(crate) const MIGRATION_LOCK: i64 = 0x5c1d_5709_e000_0001;

/// Version 1. `{s}` is the schema (checked: it needs no quoting).
const V1: &str = r#"
CREATE TABLE {s}.resources (
    tenant        text COLLATE "C" NOT NULL,
    resource_type text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    version       bigint NOT NULL,
    resource      json NOT NULL,
    search        jsonb NOT NULL,
    ambiguous     boolean NOT NULL DEFAULT false,
    irregular     boolean NOT NULL DEFAULT false,
    members_key   text,
    created       text,
    last_modified text,
    PRIMARY KEY (tenant, resource_type, id)
);
CREATE INDEX resources_ambiguous ON {s}.resources (tenant, resource_type) WHERE ambiguous;
CREATE INDEX resources_irregular ON {s}.resources (tenant, resource_type) WHERE irregular;
CREATE TABLE {s}.unique_keys (
    tenant        text COLLATE "C" NOT NULL,
    resource_type text COLLATE "C" NOT NULL,
    attribute     text COLLATE "C" NOT NULL,
    value         text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, resource_type, attribute, value)
);
CREATE INDEX unique_keys_owner ON {s}.unique_keys (tenant, resource_type, id);
CREATE TABLE {s}.attr_index (
    tenant        text COLLATE "C" NOT NULL,
    resource_type text COLLATE "C" NOT NULL,
    attr          text COLLATE "C" NOT NULL,
    key           text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, resource_type, attr, key, id)
);
CREATE INDEX attr_index_owner ON {s}.attr_index (tenant, resource_type, id);
CREATE TABLE {s}.members (
    tenant        text COLLATE "C" NOT NULL,
    resource_type text COLLATE "C" NOT NULL,
    owner_id      text COLLATE "C" NOT NULL,
    seq           bigint NOT NULL,
    value_key     text COLLATE "C",
    element       json NOT NULL,
    search        jsonb NOT NULL,
    PRIMARY KEY (tenant, resource_type, owner_id, seq)
);
CREATE INDEX members_value ON {s}.members (tenant, resource_type, value_key, owner_id);
"#;

/// Version 2.
const V2: &str = r#"
ALTER TABLE {s}.resources
    ADD COLUMN created_key text COLLATE "C",
    ADD COLUMN last_modified_key text COLLATE "C",
    ADD COLUMN odd_times boolean NOT NULL DEFAULT false,
    ADD COLUMN folded jsonb;
ALTER TABLE {s}.members ADD COLUMN folded jsonb;
CREATE INDEX resources_odd_times ON {s}.resources (tenant, resource_type) WHERE odd_times;
CREATE INDEX resources_unfolded ON {s}.resources (tenant, resource_type) WHERE folded IS NULL;
CREATE INDEX resources_last_modified ON {s}.resources (tenant, resource_type, last_modified_key);
"#;

/// Creates the schema and tables, or brings them up to [`LAYOUT_VERSION`], in one
/// transaction under a database-wide advisory lock (replicas starting together wait for
/// the first). A schema at the current version is left as it is.
pub(crate) async fn migrate(client: &mut Object, schema: &str) -> Result<(), Fail> {
    let tx = client.transaction().await?;
    // A migration may rewrite large tables: no statement timeout for it.
    tx.batch_execute("SET LOCAL statement_timeout = 0").await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; \
         CREATE TABLE IF NOT EXISTS {schema}.layout ( \
             version    integer PRIMARY KEY, \
             applied_at timestamptz NOT NULL DEFAULT now())"
    ))
    .await?;
    let current: i32 = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {schema}.layout"),
            &[],
        )
        .await?
        .get(0);
    if current >= LAYOUT_VERSION {
        return Ok(tx.commit().await?);
    }
    if current < 1 {
        tx.batch_execute(&V1.replace("{s}", schema)).await?;
    }
    if current < 2 {
        tx.batch_execute(&V2.replace("{s}", schema)).await?;
    }
    if current < 3 {
        trigram_indexes(&tx, schema).await?;
    }
    for version in current + 1..=LAYOUT_VERSION {
        tx.execute(
            &format!("INSERT INTO {schema}.layout (version) VALUES ($1)"),
            &[&version],
        )
        .await?;
    }
    Ok(tx.commit().await?)
}

/// The trigram indexes on `attr_index.key` (for `co`, `ew` on the indexed attributes), one
/// per attribute of [`INDEXED`], if the `pg_trgm` extension is installed or may be: without
/// it, the table is still complete and filters are answered without the index. Layout 1's
/// index over every key, if there is one, is dropped.
///
/// The extension goes to `public` when it may (else to the first schema of the search path,
/// the store's own), never by default into the store's schema: dropping one deployment's
/// schema would otherwise take the extension, and every other schema's trigram indexes,
/// with it. The operator class is named by the schema the extension is in, wherever that is.
async fn trigram_indexes(
    tx: &deadpool_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), Fail> {
    let mut found = trgm_schema(tx).await?;
    if found.is_none() {
        // pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
        for create in [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public",
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        ] {
            tx.batch_execute("SAVEPOINT trgm").await?;
            if tx.batch_execute(create).await.is_ok() {
                break;
            }
            tx.batch_execute("ROLLBACK TO SAVEPOINT trgm").await?;
        }
        found = trgm_schema(tx).await?;
    }
    let Some(extension_schema) = found else {
        return Ok(());
    };
    let mut sql = format!("DROP INDEX IF EXISTS {schema}.attr_index_trgm;");
    for (_, _, label) in INDEXED {
        // Labels are lower-case ASCII names with dots (checked by a test): a literal and,
        // dots as `_`, an index name.
        sql.push_str(&format!(
            "CREATE INDEX IF NOT EXISTS {} ON {schema}.attr_index \
             USING gin (key {extension_schema}.gin_trgm_ops) WITH (fastupdate = off) \
             WHERE attr = '{label}';",
            trigram_index_name(label)
        ));
    }
    tx.batch_execute(&sql).await?;
    Ok(())
}

/// The name of the trigram index of the attribute labelled `label` in `attr_index`.
fn trigram_index_name(label: &str) -> String {
    format!("attr_index_trgm_{}", label.replace('.', "_"))
}

/// The schema `pg_trgm` is installed in (quoted where it needs quoting), if it is.
async fn trgm_schema(tx: &deadpool_postgres::Transaction<'_>) -> Result<Option<String>, Fail> {
    let row = tx
        .query_opt(
            "SELECT extnamespace::regnamespace::text FROM pg_extension \
             WHERE extname = 'pg_trgm'",
            &[],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_need_no_quoting_and_name_their_index() {
        for (_, _, label) in INDEXED {
            assert!(
                label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{label}"
            );
        }
        assert_eq!(
            trigram_index_name("emails.value"),
            "attr_index_trgm_emails_value"
        );
    }
}
