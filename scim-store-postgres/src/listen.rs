//! How the read cache hears of changes: triggers on `resources` and `members` send, at
//! commit, a notification on the schema's channel naming the tenant and id of each row
//! written (whoever wrote it), and one connection per store listens on that channel for as
//! long as the store lives, reconnecting after a failure. While it is not listening the
//! cache is off.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Object;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::Fail;
use scim_store_cache::{ReadCache, SEPARATOR};

/// The triggers. `{s}` is the schema (checked: it needs no quoting), which is also the
/// channel. A payload is `tenant \x1f id` with the id folded to ASCII lower case (a
/// member's `value_key`, folded by Rust, is the same for the ASCII ids the cache keeps).
/// They fire once per statement and read the statement's rows from its transition tables:
/// one notification per distinct key, or a single `*` (everything) when a statement
/// changed more than [`MANY`] keys (a group of 100,000 created at once) or a key too long
/// for a notification (8,000 bytes).
const TRIGGERS: &str = r#"
CREATE OR REPLACE FUNCTION {s}.scim_notify_keys(keys text[]) RETURNS void
LANGUAGE plpgsql AS $f$
BEGIN
    IF keys IS NULL OR cardinality(keys) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(keys) > {many} OR EXISTS (SELECT 1 FROM unnest(keys) AS k WHERE octet_length(k) > 7900) THEN
        PERFORM pg_notify('{s}', '*');
    ELSE
        PERFORM pg_notify('{s}', k) FROM unnest(keys) AS k;
    END IF;
END $f$;
CREATE OR REPLACE FUNCTION {s}.scim_notify_resources() RETURNS trigger
LANGUAGE plpgsql AS $f$
DECLARE keys text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT r.tenant || chr(31) || translate(r.id, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')) INTO keys FROM new_rows AS r;
    ELSE
        SELECT array_agg(DISTINCT r.tenant || chr(31) || translate(r.id, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')) INTO keys FROM old_rows AS r;
    END IF;
    PERFORM {s}.scim_notify_keys(keys);
    RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION {s}.scim_notify_members() RETURNS trigger
LANGUAGE plpgsql AS $f$
DECLARE keys text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT m.tenant || chr(31) || m.value_key) INTO keys
            FROM new_rows AS m WHERE m.value_key IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT m.tenant || chr(31) || m.value_key) INTO keys
            FROM old_rows AS m WHERE m.value_key IS NOT NULL;
    ELSE
        SELECT array_agg(DISTINCT k) INTO keys FROM (
            SELECT m.tenant || chr(31) || m.value_key AS k FROM new_rows AS m WHERE m.value_key IS NOT NULL
            UNION ALL
            SELECT m.tenant || chr(31) || m.value_key FROM old_rows AS m WHERE m.value_key IS NOT NULL) AS both_sides;
    END IF;
    PERFORM {s}.scim_notify_keys(keys);
    RETURN NULL;
END $f$;
DROP TRIGGER IF EXISTS scim_notify_insert ON {s}.resources;
DROP TRIGGER IF EXISTS scim_notify_update ON {s}.resources;
DROP TRIGGER IF EXISTS scim_notify_delete ON {s}.resources;
DROP TRIGGER IF EXISTS scim_notify_insert ON {s}.members;
DROP TRIGGER IF EXISTS scim_notify_update ON {s}.members;
DROP TRIGGER IF EXISTS scim_notify_delete ON {s}.members;
CREATE TRIGGER scim_notify_insert AFTER INSERT ON {s}.resources
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.scim_notify_resources();
CREATE TRIGGER scim_notify_update AFTER UPDATE ON {s}.resources
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.scim_notify_resources();
CREATE TRIGGER scim_notify_delete AFTER DELETE ON {s}.resources
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.scim_notify_resources();
CREATE TRIGGER scim_notify_insert AFTER INSERT ON {s}.members
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.scim_notify_members();
CREATE TRIGGER scim_notify_update AFTER UPDATE ON {s}.members
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.scim_notify_members();
CREATE TRIGGER scim_notify_delete AFTER DELETE ON {s}.members
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.scim_notify_members();
"#;

/// Past this many keys changed by one statement, its notification is `*` (everything).
const MANY: usize = 1000;

/// How many triggers [`TRIGGERS`] creates.
const TRIGGER_COUNT: i64 = 6;

/// Whether the schema's tables already send notifications.
const HAS_TRIGGERS: &str = "SELECT count(*) FROM pg_trigger t \
     JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND t.tgname LIKE 'scim\\_notify\\_%' AND NOT t.tgisinternal";

/// Installs the triggers in `schema` unless they are there (a store with a cache installs
/// them; they then serve every store on the schema). Under the migrations' lock.
pub(crate) async fn install_triggers(
    client: &mut Object,
    schema: &str,
    lock: i64,
) -> Result<(), Fail> {
    let present: i64 = client.query_one(HAS_TRIGGERS, &[&schema]).await?.get(0);
    if present == TRIGGER_COUNT {
        return Ok(());
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])
        .await?;
    tx.batch_execute(
        &TRIGGERS
            .replace("{s}", schema)
            .replace("{many}", &MANY.to_string()),
    )
    .await?;
    Ok(tx.commit().await?)
}

/// A notification's payload: `tenant \x1f id` invalidates that key; anything else (`*`, a
/// payload this store did not send) clears everything.
fn notified(cache: &ReadCache, payload: &str) {
    match payload.rsplit_once(SEPARATOR) {
        Some((tenant, id)) => cache.invalidate(tenant, [id]),
        None => cache.clear(),
    }
}

/// How often the listening connection is checked (a peer that vanished without closing
/// the socket is found within this, plus the check's own timeout).
const PING_EVERY: Duration = Duration::from_secs(10);

/// Listens on `schema`'s channel for the store's life, feeding `cache`; after a failure the
/// cache is off until a new connection listens (tried again after 50 ms, doubling to 5 s).
pub(crate) async fn listen(
    cache: Arc<ReadCache>,
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    schema: String,
) {
    let mut config = config;
    // Operators (and tests) find the listening connection by its name.
    config.application_name(format!("scim-listen {schema}"));
    let mut pause = Duration::from_millis(50);
    loop {
        if session(&cache, &config, tls.clone(), &schema).await {
            pause = Duration::from_millis(50);
        }
        cache.go_dead();
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// One listening connection, until it fails. True if it got to listen.
async fn session(
    cache: &Arc<ReadCache>,
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    channel: &str,
) -> bool {
    let Ok((client, mut connection)) = config.connect(tls).await else {
        return false;
    };
    let feed = Arc::clone(cache);
    // The connection's messages: notifications invalidate; the end of the stream (closed,
    // or an error) ends the session.
    let mut driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => notified(&feed, n.payload()),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    if client
        .batch_execute(&format!("LISTEN \"{channel}\""))
        .await
        .is_err()
    {
        driver.abort();
        return false;
    }
    cache.go_live();
    loop {
        tokio::select! {
            _ = &mut driver => return true,
            () = tokio::time::sleep(PING_EVERY) => {
                let ping = tokio::time::timeout(PING_EVERY, client.batch_execute("")).await;
                if !matches!(ping, Ok(Ok(()))) {
                    cache.go_dead();
                    driver.abort();
                    return true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::num::NonZeroUsize;

    use scim_core::{Referrer, StoredResource, WithReferences};
    use serde_json::json;

    use super::*;

    fn fill(c: &ReadCache, id: &str) {
        let answer: WithReferences = (
            StoredResource::new(id.to_owned(), 1, json!({"id": id})),
            Some(Vec::new()),
        );
        let ticket = c.ticket("t", id).unwrap();
        c.fill(ticket, ("t", "User", id), &groups(), &answer);
    }

    fn groups() -> Referrer {
        Referrer::new("Group", "members")
    }

    fn kept(c: &ReadCache, id: &str) -> bool {
        c.get("t", "User", id, &groups()).is_some()
    }

    #[test]
    fn a_key_evicts_its_entry_and_anything_else_clears_everything() {
        let c = ReadCache::new(
            NonZeroUsize::new(10).unwrap(),
            1 << 20,
            Duration::from_secs(60),
        );
        c.go_live();
        fill(&c, "u1");
        fill(&c, "u2");
        notified(&c, "t\u{1f}U1");
        assert!(!kept(&c, "u1"));
        assert!(kept(&c, "u2"));
        notified(&c, "*");
        assert!(!kept(&c, "u2"));
        fill(&c, "u2");
        notified(&c, "not a payload of ours");
        assert!(!kept(&c, "u2"));
    }
}
