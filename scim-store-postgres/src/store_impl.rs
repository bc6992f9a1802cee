//! [`Store`] for [`PostgresStore`]: each call a task on the store's runtime holding one
//! pooled connection; writes are tried again after a deadlock or serialization failure.

use std::future::Future;
use std::sync::Arc;

use scim_core::{
    Cascade, Cascaded, ElementChange, ElementPatch, Query, QueryResult, Reference, ReferenceCheck,
    Referrer, ResourceEdit, Store, StoreError, StoredResource, UniqueKey, WithReferences,
};
use serde_json::Value;

use scim_store_cache::{Lookup, ReadCache};

use crate::query::Plan;
use crate::{retrying, text, Fail, PostgresStore};

/// A read: `$body` runs once with `$core` (the store's core) and `$client` (a pooled
/// connection), on the store's runtime.
macro_rules! read_job {
    ($store:expr, |$core:ident, $client:ident| $body:expr) => {{
        let $core = Arc::clone(&$store.core);
        $store.spawn(async move {
            let $client = $core.client().await.map_err(Fail::into_store)?;
            $body.await.map_err(Fail::into_store)
        })
    }};
}

/// A write: `$attempt` (one transaction) is tried until it commits, fails for good, or
/// has been retried as often as the options allow. Then, whatever the outcome (a commit
/// whose answer was lost may have happened), the read cache forgets `$evict` (a tenant and
/// the ids written) in the same task, before the caller hears of the write; and counts the
/// ids toward the next `ANALYZE` (`crate::statistics`).
macro_rules! write_job {
    ($store:expr, evict $evict:expr, |$core:ident, $client:ident| $attempt:expr) => {{
        let $core = Arc::clone(&$store.core);
        let (tenant, ids): (String, Vec<String>) = $evict;
        $store.spawn(async move {
            let done = async {
                #[allow(unused_mut)]
                let mut $client = $core.client().await.map_err(Fail::into_store)?;
                retrying!($core, $attempt)
            }
            .await;
            if let Some(cache) = &$core.cache {
                cache.invalidate(&tenant, ids.iter().map(String::as_str));
            }
            // One resource at least (a create names no id to evict), and its members.
            let rows = u64::try_from(ids.len().max(1)).unwrap_or(u64::MAX);
            if $core.statistics.as_ref().is_some_and(|s| s.wrote(rows)) {
                tokio::spawn(crate::statistics::analyze(Arc::clone(&$core)));
            }
            done
        })
    }};
}

/// The ids a write to `rt`'s `resource` (or its elements `added`) makes stale in the read
/// cache besides its own: the members it names (their `groups` change).
fn members_named<'v>(
    store: &PostgresStore,
    rt: &str,
    elements: impl IntoIterator<Item = &'v Value>,
) -> Vec<String> {
    if store.core.cache.is_none() || store.core.ool(rt).is_none() {
        return Vec::new();
    }
    elements
        .into_iter()
        .filter_map(|e| e.get("value").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The elements of `resource`'s out-of-line attribute (`members`), matched without regard
/// to case as the store matches it.
fn elements_of<'v>(store: &PostgresStore, rt: &str, resource: &'v Value) -> &'v [Value] {
    let (Some(attr), Value::Object(m)) = (store.core.ool(rt), resource) else {
        return &[];
    };
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.as_array())
        .map_or(&[], Vec::as_slice)
}

/// The owned copies a task needs of a call's borrowed arguments, as `text` holds them.
fn owned(tenant: &str, rt: &str, id: &str) -> (String, String, String) {
    (
        text(tenant).into_owned(),
        text(rt).into_owned(),
        text(id).into_owned(),
    )
}

impl Store for PostgresStore {
    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        let (tenant, rt, id) = owned(tenant, rt, id);
        read_job!(self, |core, client| core.get(&client, (&tenant, &rt, &id)))
    }

    fn create(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        self.create_checked(tenant, rt, resource, unique, None)
    }

    fn replace(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        self.replace_checked(tenant, rt, id, expected_version, resource, unique, None)
    }

    fn delete(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let (tenant, rt, id) = owned(tenant, rt, id);
        write_job!(
            self,
            evict(tenant.clone(), vec![id.clone()]),
            |core, client| core.delete(&mut client, (&tenant, &rt, &id), expected_version)
        )
    }

    /// The filter, the sort and the page in SQL where they are exact (see the crate docs
    /// and the module `query`); the rest is left to the engine.
    fn query(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        // The plan owns what it needs: the task borrows nothing from the call.
        let plan = Plan::of(&self.core, tenant, rt, &query);
        let (tenant, rt, _) = owned(tenant, rt, "");
        read_job!(self, |core, client| core.query(
            &client,
            (&tenant, &rt),
            plan
        ))
    }

    /// `members` for a resource type whose core schema is the Group schema.
    fn out_of_line(&self, resource_type: &str) -> Option<&str> {
        self.core.ool(resource_type)
    }

    fn get_head(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        let (tenant, rt, id) = owned(tenant, rt, id);
        read_job!(self, |core, client| core
            .get_head(&client, (&tenant, &rt, &id)))
    }

    /// One transaction: the version check, `clear`, `removed` (by `value`,
    /// case-insensitively), `added` (skipping values present), and the head with the next
    /// version when anything changed; otherwise nothing is written.
    fn patch_elements(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<ElementPatch, StoreError>> + Send {
        self.patch_elements_checked(
            tenant,
            rt,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
            None,
        )
    }

    /// True: one transaction deletes and detaches, and member checks lock the members in
    /// the transaction that writes them.
    fn keeps_references(&self) -> bool {
        true
    }

    /// One transaction: the resource row (locked, so member adds in flight finish first)
    /// and its side-table rows, then, for each referrer, its elements naming `id` (each
    /// changed group locked in id order and given the next version and
    /// `meta.lastModified`). A failure anywhere rolls all of it back.
    fn delete_cascade(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
        cascade: Cascade,
    ) -> impl Future<Output = Result<Cascaded, StoreError>> + Send {
        let (tenant, rt, id) = owned(tenant, rt, id);
        write_job!(
            self,
            evict(tenant.clone(), vec![id.clone()]),
            |core, client| core.delete_cascade(
                &mut client,
                (&tenant, &rt, &id),
                expected_version,
                &cascade
            )
        )
    }

    fn references_to(
        &self,
        tenant: &str,
        referrer: &Referrer,
        targets: &[&str],
    ) -> impl Future<Output = Result<Option<Vec<Reference>>, StoreError>> + Send {
        let tenant = text(tenant).into_owned();
        let referrer = referrer.clone();
        let targets: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
        read_job!(self, |core, client| core
            .references_to(&client, &tenant, &referrer, &targets))
    }

    /// The resource and the references to it in one task on one connection, or from the
    /// read cache ([`PostgresOptions::read_cache`](crate::PostgresOptions::read_cache)),
    /// on the caller's thread, when nothing it depends on changed since it was read.
    fn get_with_references(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        referrer: &Referrer,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        self.get_referred(tenant, rt, id, referrer, false)
    }

    /// The document's text as written (a `json` column keeps it), when it is the whole
    /// resource, and from the read cache without a copy of the resource.
    fn get_text(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        referrer: Option<&Referrer>,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        let job = match referrer {
            Some(referrer) => Ok(self.get_referred(tenant, rt, id, referrer, true)),
            None => Err({
                let (tenant, rt, id) = owned(tenant, rt, id);
                read_job!(self, |core, client| core.get_text(
                    &client,
                    (&tenant, &rt, &id),
                    |_| false
                ))
            }),
        };
        async move {
            match job {
                Ok(referred) => referred.await,
                Err(get) => Ok(get.await?.map(|found| (found, None))),
            }
        }
    }

    /// [`Store::create`] with the members locked in its transaction.
    fn create_checked(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let evict = members_named(self, rt, elements_of(self, rt, &resource));
        let (tenant, rt, _) = owned(tenant, rt, "");
        write_job!(self, evict(tenant.clone(), evict), |core, client| core
            .create(
                &mut client,
                (&tenant, &rt),
                &resource,
                &unique,
                check.as_ref()
            ))
    }

    /// [`Store::replace`] with the members locked in its transaction, after the version
    /// check.
    fn replace_checked(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let mut evict = members_named(self, rt, elements_of(self, rt, &resource));
        evict.push(id.to_owned());
        let (tenant, rt, id) = owned(tenant, rt, id);
        write_job!(self, evict(tenant.clone(), evict), |core, client| core
            .replace(
                &mut client,
                (&tenant, &rt, &id),
                expected_version,
                &resource,
                &unique,
                check.as_ref()
            ))
    }

    /// True: an edit's row is read from its text
    /// ([`Row::of_edit`](scim_store_layout::Row::of_edit)), its elements not built.
    fn applies_edits(&self) -> bool {
        true
    }

    fn replace_edited(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        edit: ResourceEdit,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let (tenant, rt, id) = owned(tenant, rt, id);
        write_job!(
            self,
            evict(tenant.clone(), vec![id.clone()]),
            |core, client| core.replace_edited(
                &mut client,
                (&tenant, &rt, &id),
                expected_version,
                &edit,
                &unique
            )
        )
    }

    /// [`Store::patch_elements`] with the members locked in its transaction, after the
    /// version check.
    fn patch_elements_checked(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<ElementPatch, StoreError>> + Send {
        let mut evict = members_named(self, rt, &change.added);
        evict.push(id.to_owned());
        let (tenant, rt, id) = owned(tenant, rt, id);
        write_job!(self, evict(tenant.clone(), evict), |core, client| core
            .patch_elements(
                &mut client,
                (&tenant, &rt, &id),
                expected_version,
                &head,
                head_changed,
                &change,
                &unique,
                check.as_ref()
            ))
    }
}

impl PostgresStore {
    /// [`Store::get_with_references`], the resource as its text only when `text_only`.
    fn get_referred(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        referrer: &Referrer,
        text_only: bool,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        let cache = self.core.cache.as_deref();
        let job = match ReadCache::lookup_as_asked(cache, (tenant, rt, id), referrer, text_only) {
            Lookup::Hit(answer) => Err(answer),
            Lookup::Miss(ticket) => Ok({
                let asked = (tenant.to_owned(), rt.to_owned(), id.to_owned());
                let (tenant, rt, id) = owned(tenant, rt, id);
                let referrer = referrer.clone();
                read_job!(self, |core, client| async move {
                    // For a response, the resource is built only to be kept in the cache.
                    let keep = |len: usize| {
                        ReadCache::worth_building(
                            core.cache.as_deref(),
                            ticket.as_ref(),
                            text_only,
                            len,
                        )
                    };
                    // Both statements go out together on the one connection (tokio-postgres
                    // pipelines them): one round trip, not two. Neither reads the other's
                    // answer.
                    let ids = [id.clone()];
                    let (found, references) = tokio::try_join!(
                        core.get_text(&client, (&tenant, &rt, &id), keep),
                        core.references_to(&client, &tenant, &referrer, &ids),
                    )?;
                    let Some(found) = found else {
                        return Ok::<_, Fail>(None);
                    };
                    if found.is_text_only() {
                        return Ok(Some((found, references)));
                    }
                    let answer = (found, references);
                    if let Some(ticket) = ticket {
                        if let Some(cache) = &core.cache {
                            let (tenant, rt, id) = &asked;
                            cache.fill(ticket, (tenant, rt, id), &referrer, &answer);
                        }
                    }
                    let (found, references) = answer;
                    Ok(Some((ReadCache::as_asked(found, text_only), references)))
                })
            }),
        };
        async move {
            match job {
                Ok(read) => read.await,
                Err(hit) => Ok(Some(hit)),
            }
        }
    }
}
