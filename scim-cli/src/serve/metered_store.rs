//! The store `scim serve` hands the engine: the host's store with every call timed into
//! `scim_store_call_duration_seconds{operation, outcome}`. Timing at the store (rather than
//! around the engine) shows where a slow request spends its time: a filter the store could
//! not push down, a write waiting for its group commit, a disk sync.

use std::future::Future;
use std::time::Instant;

use scim_core::{
    Cascade, Cascaded, ElementChange, ElementPatch, Query, QueryResult, Reference, ReferenceCheck,
    Referrer, ResourceEdit, Store, StoreError, StoredResource, UniqueKey, WithReferences,
};
use serde_json::Value;

use super::metrics::StoreCalls;

/// `S` with each call timed. Every method is forwarded, the provided ones too, so the inner
/// store's own versions of them run.
#[derive(Debug)]
pub(crate) struct MeteredStore<S> {
    inner: S,
    calls: StoreCalls,
}

impl<S: Store> MeteredStore<S> {
    /// Wraps `inner`, recording into `calls`.
    pub(crate) fn new(inner: S, calls: StoreCalls) -> Self {
        MeteredStore { inner, calls }
    }

    /// The store itself (the readiness probe calls it without counting the call).
    pub(crate) fn inner(&self) -> &S {
        &self.inner
    }

    /// `call`, timed as `operation`.
    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        self.calls
            .observe(operation, result.is_ok(), started.elapsed());
        result
    }
}

impl<S: Store> Store for MeteredStore<S> {
    fn get(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        self.timed("get", self.inner.get(tenant, resource_type, id))
    }

    fn create(
        &self,
        tenant: &str,
        resource_type: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let call = self.inner.create(tenant, resource_type, resource, unique);
        self.timed("create", call)
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
        let call = self.inner.replace(
            tenant,
            resource_type,
            id,
            expected_version,
            resource,
            unique,
        );
        self.timed("replace", call)
    }

    fn delete(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let call = self
            .inner
            .delete(tenant, resource_type, id, expected_version);
        self.timed("delete", call)
    }

    fn query(
        &self,
        tenant: &str,
        resource_type: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        self.timed("query", self.inner.query(tenant, resource_type, query))
    }

    fn query_text(
        &self,
        tenant: &str,
        resource_type: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        self.timed("query", self.inner.query_text(tenant, resource_type, query))
    }

    fn out_of_line(&self, resource_type: &str) -> Option<&str> {
        self.inner.out_of_line(resource_type)
    }

    fn get_head(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        self.timed("get_head", self.inner.get_head(tenant, resource_type, id))
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
        let call = self.inner.patch_elements(
            tenant,
            resource_type,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
        );
        self.timed("patch_elements", call)
    }

    fn references_to(
        &self,
        tenant: &str,
        referrer: &Referrer,
        targets: &[&str],
    ) -> impl Future<Output = Result<Option<Vec<Reference>>, StoreError>> + Send {
        let call = self.inner.references_to(tenant, referrer, targets);
        self.timed("references_to", call)
    }

    /// Counted under the operation it stands for (`get`, `get_with_references`): how the
    /// answer is carried changes no dashboard.
    fn get_text(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: Option<&Referrer>,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        let operation = if referrer.is_some() {
            "get_with_references"
        } else {
            "get"
        };
        let call = self.inner.get_text(tenant, resource_type, id, referrer);
        self.timed(operation, call)
    }

    fn get_with_references(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: &Referrer,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        let call = self
            .inner
            .get_with_references(tenant, resource_type, id, referrer);
        self.timed("get_with_references", call)
    }

    fn keeps_references(&self) -> bool {
        self.inner.keeps_references()
    }

    fn applies_edits(&self) -> bool {
        self.inner.applies_edits()
    }

    /// Counted as `replace`: the write it stands for.
    fn replace_edited(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: u64,
        edit: ResourceEdit,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let call =
            self.inner
                .replace_edited(tenant, resource_type, id, expected_version, edit, unique);
        self.timed("replace", call)
    }

    fn delete_cascade(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: Option<u64>,
        cascade: Cascade,
    ) -> impl Future<Output = Result<Cascaded, StoreError>> + Send {
        let call = self
            .inner
            .delete_cascade(tenant, resource_type, id, expected_version, cascade);
        self.timed("delete_cascade", call)
    }

    fn create_checked(
        &self,
        tenant: &str,
        resource_type: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let call = self
            .inner
            .create_checked(tenant, resource_type, resource, unique, check);
        self.timed("create", call)
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
        let call = self.inner.replace_checked(
            tenant,
            resource_type,
            id,
            expected_version,
            resource,
            unique,
            check,
        );
        self.timed("replace", call)
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
        let call = self.inner.patch_elements_checked(
            tenant,
            resource_type,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
            check,
        );
        self.timed("patch_elements", call)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::serve::metrics::Metrics;
    use scim_core::{block_on, MemoryStore};

    #[test]
    fn every_call_is_timed_and_forwarded() {
        let calls = StoreCalls::default();
        let metrics = Metrics::new("/scim/v2", ["/Users"], calls.clone(), None);
        let store = MeteredStore::new(MemoryStore::new(), calls);
        let created = block_on(store.create(
            "default",
            "User",
            serde_json::json!({"userName": "a"}),
            Vec::new(),
        ))
        .unwrap();
        assert!(block_on(store.get("default", "User", &created.id))
            .unwrap()
            .is_some());
        assert!(block_on(store.delete("default", "User", "nope", None)).is_err());
        let text = metrics.encode();
        for line in [
            r#"scim_store_call_duration_seconds_count{operation="create",outcome="ok"} 1"#,
            r#"scim_store_call_duration_seconds_count{operation="get",outcome="ok"} 1"#,
            r#"scim_store_call_duration_seconds_count{operation="delete",outcome="error"} 1"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
