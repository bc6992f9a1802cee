//! Deletes racing member adds, with writes delayed so that the races interleave every way.

use serde_json::Value;

use crate::{
    Cascade, Cascaded, ElementChange, Query, QueryResult, ReferenceCheck, Store, StoreError,
    StoredResource, UniqueKey,
};

use super::{add_member_op, engine_group_members, engine_over, group, post_user, send, user};

/// `inner` with each write started after a pause of 0 to 0.4 ms (varying from write to
/// write): the races of [`delete_add_races`] then interleave every way, as on a loaded
/// server, not only as the scheduler happens to run them.
struct Delayed<S> {
    inner: S,
    writes: std::sync::atomic::AtomicU64,
}

impl<S> Delayed<S> {
    fn pause(&self) {
        let n = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A multiplicative hash: pauses spread over the range without a pattern.
        let micros = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 400;
        std::thread::sleep(std::time::Duration::from_micros(micros));
    }
}

impl<S: Store> Store for Delayed<S> {
    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        self.inner.get(tenant, rt, id)
    }

    fn create(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl std::future::Future<Output = Result<StoredResource, StoreError>> + Send {
        self.inner.create(tenant, rt, resource, unique)
    }

    fn replace(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl std::future::Future<Output = Result<StoredResource, StoreError>> + Send {
        self.pause();
        self.inner
            .replace(tenant, rt, id, expected_version, resource, unique)
    }

    fn delete(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send {
        self.pause();
        self.inner.delete(tenant, rt, id, expected_version)
    }

    fn query(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl std::future::Future<Output = Result<QueryResult, StoreError>> + Send {
        self.inner.query(tenant, rt, query)
    }

    fn out_of_line(&self, rt: &str) -> Option<&str> {
        self.inner.out_of_line(rt)
    }

    fn get_head(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        self.inner.get_head(tenant, rt, id)
    }

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
    ) -> impl std::future::Future<Output = Result<crate::ElementPatch, StoreError>> + Send {
        self.pause();
        self.inner.patch_elements(
            tenant,
            rt,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
        )
    }

    fn keeps_references(&self) -> bool {
        self.inner.keeps_references()
    }

    fn delete_cascade(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
        cascade: Cascade,
    ) -> impl std::future::Future<Output = Result<Cascaded, StoreError>> + Send {
        self.pause();
        self.inner
            .delete_cascade(tenant, rt, id, expected_version, cascade)
    }

    fn create_checked(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl std::future::Future<Output = Result<StoredResource, StoreError>> + Send {
        self.inner
            .create_checked(tenant, rt, resource, unique, check)
    }

    fn replace_checked(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl std::future::Future<Output = Result<StoredResource, StoreError>> + Send {
        self.pause();
        self.inner
            .replace_checked(tenant, rt, id, expected_version, resource, unique, check)
    }

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
    ) -> impl std::future::Future<Output = Result<crate::ElementPatch, StoreError>> + Send {
        self.pause();
        self.inner.patch_elements_checked(
            tenant,
            rt,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
            check,
        )
    }
}

/// Through the engine, 300 races of `DELETE /Users/U` against `PATCH /Groups/G` adding U,
/// each pair started together on two threads: afterwards no group holds a member that does
/// not exist. Only for a store that [keeps references](Store::keeps_references): the engine's
/// path for other stores (check, then write; delete, then clean up) loses about a third of
/// these races.
pub(super) fn delete_add_races<S: Store>(store: S) {
    use crate::{Method, Request};
    const RACES: usize = 300;
    if !store.keeps_references() {
        return;
    }
    let e = engine_over(Delayed {
        inner: store,
        writes: std::sync::atomic::AtomicU64::new(0),
    });
    let (status, body) = send(
        &e,
        Request::new(Method::Post, "/Groups").with_json(&group("raced", &[])),
    );
    assert_eq!(status, 201, "{body}");
    let g = body["id"].as_str().expect("id").to_owned();
    let mut added = 0;
    for i in 0..RACES {
        let (status, body) = post_user(&e, user(&format!("race-{i}")));
        assert_eq!(status, 201, "{body}");
        let u = body["id"].as_str().expect("id").to_owned();
        let barrier = std::sync::Barrier::new(2);
        let (deleted, patched) = std::thread::scope(|scope| {
            let delete = scope.spawn(|| {
                barrier.wait();
                send(&e, Request::new(Method::Delete, format!("/Users/{u}")))
            });
            let patch = scope.spawn(|| {
                barrier.wait();
                send(
                    &e,
                    Request::new(Method::Patch, format!("/Groups/{g}"))
                        .with_json(&add_member_op(&u)),
                )
            });
            (
                delete.join().expect("delete thread"),
                patch.join().expect("patch thread"),
            )
        });
        assert_eq!(deleted.0, 204, "race {i}: DELETE: {}", deleted.1);
        match patched.0 {
            200 => added += 1,
            400 => assert_eq!(
                patched.1["scimType"], "invalidValue",
                "race {i}: {}",
                patched.1
            ),
            other => panic!("race {i}: PATCH answered {other}: {}", patched.1),
        }
    }
    let dangling = engine_group_members(&e, &g);
    assert!(
        dangling.is_empty(),
        "races: {} of {RACES} left a deleted user in the group ({added} adds answered 200)",
        dangling.len()
    );
}
