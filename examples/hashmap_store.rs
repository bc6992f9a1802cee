//! A [`Store`] over a host's own data — here a `HashMap` behind a mutex — in about a hundred
//! lines: the five required methods, with versions and unique keys. Everything else (filters,
//! sorting, paging, PATCH, `groups`, Bulk) the engine does on top. `cargo test -p
//! scim-examples --example hashmap_store` runs the store test kit against it.
use std::collections::HashMap;
use std::future::{ready, Future};
use std::sync::Mutex;

use scim_core::{Query, QueryResult, Store, StoreError, StoredResource, UniqueKey};
use serde_json::Value;

/// One tenant's resources of one type: id → resource, and unique key → id.
#[derive(Default)]
struct Table {
    rows: HashMap<String, StoredResource>,
    keys: HashMap<UniqueKey, String>,
}

impl Table {
    /// Refuses a key that another resource holds.
    fn check(&self, id: &str, unique: &[UniqueKey]) -> Result<(), StoreError> {
        match unique
            .iter()
            .find(|k| self.keys.get(*k).is_some_and(|owner| owner != id))
        {
            Some(k) => Err(StoreError::Conflict {
                attribute: k.attribute.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Stores `resource` as `id` at `version`, its keys replacing the old ones.
    fn put(
        &mut self,
        id: &str,
        version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> StoredResource {
        self.keys.retain(|_, owner| owner != id);
        self.keys
            .extend(unique.into_iter().map(|k| (k, id.to_owned())));
        let stored = StoredResource::new(id.to_owned(), version, resource);
        self.rows.insert(id.to_owned(), stored.clone());
        stored
    }
}

/// The host's store: tables by (tenant, resource type), and a counter for ids.
#[derive(Default)]
pub struct HashMapStore {
    tables: Mutex<HashMap<(String, String), Table>>,
    next_id: Mutex<u64>,
}

impl HashMapStore {
    fn with<T>(
        &self,
        tenant: &str,
        rt: &str,
        f: impl FnOnce(&mut Table) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tables = self
            .tables
            .lock()
            .map_err(|_| StoreError::Unavailable("poisoned".into()))?;
        f(tables
            .entry((tenant.to_owned(), rt.to_owned()))
            .or_default())
    }
}

impl Store for HashMapStore {
    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        ready(self.with(tenant, rt, |t| Ok(t.rows.get(id).cloned())))
    }

    fn create(
        &self,
        tenant: &str,
        rt: &str,
        mut resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let id = self.next_id.lock().map(|mut n| {
            *n += 1;
            format!("{:08x}-{n}", std::process::id())
        });
        ready(
            id.map_err(|_| StoreError::Unavailable("poisoned".into()))
                .and_then(|id| {
                    self.with(tenant, rt, |t| {
                        t.check(&id, &unique)?;
                        if let Value::Object(m) = &mut resource {
                            m.insert("id".into(), Value::String(id.clone()));
                        }
                        Ok(t.put(&id, 1, resource, unique))
                    })
                }),
        )
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
        ready(self.with(tenant, rt, |t| {
            let current = t.rows.get(id).ok_or(StoreError::NotFound)?;
            if current.version != expected_version {
                return Err(StoreError::VersionMismatch);
            }
            t.check(id, &unique)?;
            Ok(t.put(id, expected_version + 1, resource, unique))
        }))
    }

    fn delete(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        ready(self.with(tenant, rt, |t| {
            let current = t.rows.get(id).ok_or(StoreError::NotFound)?;
            if expected_version.is_some_and(|v| v != current.version) {
                return Err(StoreError::VersionMismatch);
            }
            t.rows.remove(id);
            t.keys.retain(|_, owner| owner != id);
            Ok(())
        }))
    }

    /// Every resource of the type: the engine filters, sorts and pages (`filtered: false`).
    fn query(
        &self,
        tenant: &str,
        rt: &str,
        _query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        ready(self.with(tenant, rt, |t| {
            let resources: Vec<StoredResource> = t.rows.values().cloned().collect();
            Ok(QueryResult {
                total_results: resources.len(),
                resources,
                ..QueryResult::default()
            })
        }))
    }
}

fn main() {
    let engine = scim_core::Engine::new(
        scim_schema::Registry::standard(),
        HashMapStore::default(),
        scim_core::Config::new("https://example.com/scim/v2"),
    );
    let ctx = scim_core::RequestContext::new(chrono::Utc::now());
    let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"});
    let post = scim_core::Request::new(scim_core::Method::Post, "/Users").with_json(&body);
    let created = scim_core::block_on(engine.handle(&ctx, post));
    println!(
        "{} {}",
        created.status,
        String::from_utf8_lossy(&created.body)
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hashmap_store_passes_the_store_kit() {
        scim_core::test_kit::run_store_suite(super::HashMapStore::default);
    }
}
