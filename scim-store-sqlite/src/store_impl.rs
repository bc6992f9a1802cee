//! [`Store`] for [`SqliteStore`]: each call a job for the pool (reads on a reader, writes
//! in the writer's next batch), over the read and write paths.

use std::future::Future;
use std::sync::Arc;

use scim_core::{
    Cascade, Cascaded, ElementChange, ElementPatch, Query, QueryResult, Reference, ReferenceCheck,
    Referrer, ResourceEdit, Store, StoreError, StoredResource, UniqueKey, WithReferences,
};
use serde_json::Value;

use scim_store_cache::{Lookup, ReadCache};

use crate::read::OwnedQuery;
use crate::{references, SqliteStore};

impl Store for SqliteStore {
    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool
            .read(move |conn| core.get_in(conn, &tenant, &rt, &id))
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
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool
            .write(move |tx| core.delete_in(tx, &tenant, &rt, &id, expected_version))
    }

    fn query(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        self.query_as(tenant, rt, query, false)
    }

    /// The documents' texts, where SQL filtered and sorted: the engine reads no resource.
    fn query_text(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        self.query_as(tenant, rt, query, true)
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
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool
            .read(move |conn| core.get_head_in(conn, &tenant, &rt, &id))
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

    /// True: one transaction deletes and detaches ([`Store::delete_cascade`]), and member
    /// checks run in the transaction that writes the members.
    fn keeps_references(&self) -> bool {
        true
    }

    /// One transaction: the resource row and its side-table rows, then, for each referrer,
    /// its elements naming `id` (out-of-line members through the `members_value` index,
    /// then each group's head with the next version and `meta.lastModified`; an attribute
    /// kept in the document by rewriting the resource). A failure anywhere rolls all of it
    /// back.
    fn delete_cascade(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
        cascade: Cascade,
    ) -> impl Future<Output = Result<Cascaded, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool.write(move |tx| {
            let deleted = references::delete_row(tx, &tenant, &rt, &id, expected_version)?;
            let mut updated = 0;
            for referrer in &cascade.referrers {
                updated += core.detach(tx, &tenant, referrer, &id, &cascade.last_modified)?;
            }
            Ok(Cascaded::new(deleted, updated))
        })
    }

    fn references_to(
        &self,
        tenant: &str,
        referrer: &Referrer,
        targets: &[&str],
    ) -> impl Future<Output = Result<Option<Vec<Reference>>, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let tenant = tenant.to_owned();
        let referrer = referrer.clone();
        let targets: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
        self.pool
            .read(move |conn| core.references_in(conn, &tenant, &referrer, &targets))
    }

    /// The resource and the references to it in one job on one reader.
    fn get_with_references(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        referrer: &Referrer,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        self.get_referred(tenant, rt, id, referrer, false)
    }

    /// The document's text as stored, when it is the whole resource (no elements out of
    /// line), and from the read cache without a copy of the resource.
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
                let core = Arc::clone(&self.core);
                let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
                self.pool
                    .read(move |conn| core.get_text_in(conn, (&tenant, &rt, &id), |_| false))
            }),
        };
        async move {
            match job {
                Ok(referred) => referred.await,
                Err(get) => Ok(get.await?.map(|found| (found, None))),
            }
        }
    }

    /// [`Store::create`] with the check in its transaction.
    fn create_checked(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt) = (tenant.to_owned(), rt.to_owned());
        // The id and the rows are made here, on the caller's thread; the writer runs SQL.
        let prepared = core.prepare_create(&rt, resource);
        // Every refusal (a reference gone, a unique value taken) comes before the first
        // row is written: no savepoint is needed (see `Pool::write_unjournaled`).
        self.pool.write_unjournaled(move |tx| {
            let prepared = prepared?;
            references::check(tx, &tenant, check.as_ref())?;
            core.create_prepared_in(tx, &tenant, &rt, prepared, &unique)
        })
    }

    /// [`Store::replace`] with the check in its transaction, after the version check.
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
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool.write(move |tx| {
            core.replace_in(
                tx,
                &tenant,
                &rt,
                &id,
                expected_version,
                resource,
                &unique,
                check.as_ref(),
            )
        })
    }

    /// True: an edit's row is read from its text ([`Row::of_edit`]), its elements not built.
    ///
    /// [`Row::of_edit`]: scim_store_layout::Row::of_edit
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
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool.write(move |tx| {
            core.replace_edited_in(tx, (&tenant, &rt, &id), expected_version, edit, &unique)
        })
    }

    /// [`Store::patch_elements`] with the check in its transaction, after the version check.
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
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool.write(move |tx| {
            core.patch_elements_in(
                tx,
                &tenant,
                &rt,
                &id,
                expected_version,
                head,
                head_changed,
                change,
                unique,
                check.as_ref(),
            )
        })
    }
}

impl SqliteStore {
    /// [`Store::query`], the documents as their texts only when `text` allows it.
    fn query_as(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
        text: bool,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt) = (tenant.to_owned(), rt.to_owned());
        let query = OwnedQuery::of(&query);
        self.pool
            .read(move |conn| query.with(|q| core.query_rows(conn, &tenant, &rt, q, text)))
    }

    /// [`Store::get_with_references`], the resource as its text only when `text_only`.
    fn get_referred(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        referrer: &Referrer,
        text_only: bool,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        // From the read cache, on the caller's thread, when nothing it depends on changed
        // since it was read (see `crate::cache`); else read, and kept unless a write to it
        // (or to a group it names) ended meanwhile.
        let cache = self.core.cache.as_deref();
        let job = match ReadCache::lookup_as_asked(cache, (tenant, rt, id), referrer, text_only) {
            Lookup::Hit(answer) => Err(answer),
            Lookup::Miss(ticket) => Ok({
                let core = Arc::clone(&self.core);
                let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
                let referrer = referrer.clone();
                self.pool.read(move |conn| {
                    // For a response, the resource is built only to be kept in the cache.
                    let keep = |len: usize| {
                        ReadCache::worth_building(
                            core.cache.as_deref(),
                            ticket.as_ref(),
                            text_only,
                            len,
                        )
                    };
                    let Some(found) = core.get_text_in(conn, (&tenant, &rt, &id), keep)? else {
                        return Ok(None);
                    };
                    let references =
                        core.references_in(conn, &tenant, &referrer, std::slice::from_ref(&id))?;
                    if found.is_text_only() {
                        return Ok(Some((found, references)));
                    }
                    let answer = (found, references);
                    if let (Some(ticket), Some(cache)) = (ticket, &core.cache) {
                        cache.fill(ticket, (&tenant, &rt, &id), &referrer, &answer);
                    }
                    // The resource built for the cache alone is dropped here, on the reader.
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
