//! [`Store`] for [`PostgresStore`]: each call a task on the store's runtime holding one
//! pooled connection; writes are tried again after a deadlock or serialization failure.

use std::future::Future;
use std::sync::Arc;

use scim_core::{
    Cascade, Cascaded, ElementChange, ElementPatch, Query, QueryResult, Reference, ReferenceCheck,
    Referrer, Store, StoreError, StoredResource, UniqueKey, WithReferences,
};
use serde_json::Value;

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
/// has been retried as often as the options allow.
macro_rules! write_job {
    ($store:expr, |$core:ident, $client:ident| $attempt:expr) => {{
        let $core = Arc::clone(&$store.core);
        $store.spawn(async move {
            #[allow(unused_mut)]
            let mut $client = $core.client().await.map_err(Fail::into_store)?;
            retrying!($core, $attempt)
        })
    }};
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
        write_job!(self, |core, client| core.delete(
            &mut client,
            (&tenant, &rt, &id),
            expected_version
        ))
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
        write_job!(self, |core, client| core.delete_cascade(
            &mut client,
            (&tenant, &rt, &id),
            expected_version,
            &cascade
        ))
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

    /// The resource and the references to it in one task on one connection.
    fn get_with_references(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        referrer: &Referrer,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        let (tenant, rt, id) = owned(tenant, rt, id);
        let referrer = referrer.clone();
        read_job!(self, |core, client| async move {
            // Both statements go out together on the one connection (tokio-postgres
            // pipelines them): one round trip, not two. Neither reads the other's answer.
            let ids = [id.clone()];
            let (found, references) = tokio::try_join!(
                core.get(&client, (&tenant, &rt, &id)),
                core.references_to(&client, &tenant, &referrer, &ids),
            )?;
            Ok::<_, Fail>(found.map(|found| (found, references)))
        })
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
        let (tenant, rt, _) = owned(tenant, rt, "");
        write_job!(self, |core, client| core.create(
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
        let (tenant, rt, id) = owned(tenant, rt, id);
        write_job!(self, |core, client| core.replace(
            &mut client,
            (&tenant, &rt, &id),
            expected_version,
            &resource,
            &unique,
            check.as_ref()
        ))
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
        let (tenant, rt, id) = owned(tenant, rt, id);
        write_job!(self, |core, client| core.patch_elements(
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
