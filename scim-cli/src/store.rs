//! The store `scim serve` runs on: SQLite (the default, data survives restarts), PostgreSQL
//! (several replicas on one database) or memory.

use std::future::Future;

use scim_core::{
    Cascade, Cascaded, ElementChange, ElementPatch, MemoryStore, Query, QueryResult, Reference,
    ReferenceCheck, Referrer, ResourceEdit, Store, StoreError, StoredResource, UniqueKey,
    WithReferences,
};
use scim_store_postgres::PostgresStore;
use scim_store_sqlite::SqliteStore;
use serde_json::Value;

/// The store, chosen at start-up (`--db FILE`, `--db postgres://…` or `--db :memory:`).
#[derive(Debug)]
pub enum HostStore {
    /// In memory: gone when the process ends.
    Memory(MemoryStore),
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

/// `$call` on whichever store `$store` is, bound to `$s`.
macro_rules! each {
    ($store:expr, $s:ident => $call:expr) => {
        match $store {
            HostStore::Memory($s) => $call,
            HostStore::Sqlite($s) => $call,
            HostStore::Postgres($s) => $call,
        }
    };
}

impl HostStore {
    /// The SQLite or PostgreSQL store's read cache, for `/metrics` (`None` in memory, or
    /// with `read_cache` 0).
    ///
    /// ```
    /// let store = scim_cli::store::HostStore::Memory(scim_core::MemoryStore::new());
    /// assert!(store.read_cache().is_none());
    /// ```
    pub fn read_cache(&self) -> Option<scim_store_postgres::ReadCacheHandle> {
        match self {
            HostStore::Postgres(s) => s.read_cache(),
            HostStore::Sqlite(s) => s.read_cache(),
            HostStore::Memory(_) => None,
        }
    }
}

// The trait's futures must be `Send`; spelling them out keeps that visible.
#[allow(clippy::manual_async_fn)]
impl Store for HostStore {
    fn get(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        async move { each!(self, s => s.get(tenant, resource_type, id).await) }
    }

    fn create(
        &self,
        tenant: &str,
        resource_type: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        self.create_checked(tenant, resource_type, resource, unique, None)
    }

    fn replace(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        self.replace_checked(
            tenant,
            resource_type,
            id,
            expected_version,
            resource,
            unique,
            None,
        )
    }

    fn delete(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move { each!(self, s => s.delete(tenant, resource_type, id, expected_version).await) }
    }

    fn query(
        &self,
        tenant: &str,
        resource_type: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        async move { each!(self, s => s.query(tenant, resource_type, query).await) }
    }

    fn query_text(
        &self,
        tenant: &str,
        resource_type: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        async move { each!(self, s => s.query_text(tenant, resource_type, query).await) }
    }

    fn out_of_line(&self, resource_type: &str) -> Option<&str> {
        each!(self, s => s.out_of_line(resource_type))
    }

    fn get_head(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        async move { each!(self, s => s.get_head(tenant, resource_type, id).await) }
    }

    fn patch_elements(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<ElementPatch, StoreError>> + Send {
        self.patch_elements_checked(
            tenant,
            resource_type,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
            None,
        )
    }

    fn references_to(
        &self,
        tenant: &str,
        referrer: &Referrer,
        targets: &[&str],
    ) -> impl Future<Output = Result<Option<Vec<Reference>>, StoreError>> + Send {
        async move { each!(self, s => s.references_to(tenant, referrer, targets).await) }
    }

    fn get_with_references(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: &Referrer,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        async move { each!(self, s => s.get_with_references(tenant, resource_type, id, referrer).await) }
    }

    fn get_text(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: Option<&Referrer>,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        async move { each!(self, s => s.get_text(tenant, resource_type, id, referrer).await) }
    }

    fn keeps_references(&self) -> bool {
        each!(self, s => s.keeps_references())
    }

    fn applies_edits(&self) -> bool {
        each!(self, s => s.applies_edits())
    }

    fn replace_edited(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: u64,
        edit: ResourceEdit,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        async move {
            each!(self, s => s.replace_edited(tenant, resource_type, id, expected_version, edit, unique).await)
        }
    }

    fn delete_cascade(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: Option<u64>,
        cascade: Cascade,
    ) -> impl Future<Output = Result<Cascaded, StoreError>> + Send {
        async move {
            each!(self, s => s.delete_cascade(tenant, resource_type, id, expected_version, cascade).await)
        }
    }

    fn create_checked(
        &self,
        tenant: &str,
        resource_type: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        async move {
            each!(self, s => s.create_checked(tenant, resource_type, resource, unique, check).await)
        }
    }

    fn replace_checked(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        async move {
            each!(self, s => s.replace_checked(tenant, resource_type, id, expected_version, resource, unique, check,).await)
        }
    }

    fn patch_elements_checked(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<ElementPatch, StoreError>> + Send {
        async move {
            each!(self, s => s.patch_elements_checked(tenant, resource_type, id, expected_version, head, head_changed, change, unique, check,).await)
        }
    }
}
