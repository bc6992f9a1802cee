//! The in-memory reference store: thread-safe, tenant-aware, full filter/sort/paging.

use std::collections::{BTreeMap, HashMap};
use std::future::{ready, Future};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::{Query, QueryResult, Store, StoreError, StoredResource, UniqueKey};
use crate::secret::{default_entropy, random_uuid, Entropy};
use crate::sort::sort_resources;

type Key = (String, String);

#[derive(Default)]
struct Table {
    rows: BTreeMap<String, StoredResource>,
    unique: HashMap<UniqueKey, String>,
    keys_of: HashMap<String, Vec<UniqueKey>>,
}

/// An in-memory [`Store`]. Ids are random version-4 UUIDs from the [`Entropy`] the store is
/// given (the operating system's by default, see [`default_entropy`]), so nobody can guess
/// one from another; a host may pass its own entropy or id generator.
///
/// ```
/// use scim_core::{block_on, MemoryStore, Store};
/// let store = MemoryStore::new();
/// assert_eq!(store.len("default", "User"), 0);
/// # #[cfg(feature = "os-rng")] {
/// let a = block_on(store.create("default", "User", serde_json::json!({}), vec![]))?;
/// let b = block_on(store.create("default", "User", serde_json::json!({}), vec![]))?;
/// assert_eq!(a.id.len(), 36);
/// assert_eq!(&a.id[14..15], "4"); // version 4: random
/// assert_ne!(a.id[..8], b.id[..8]);
/// # }
/// # Ok::<(), scim_core::StoreError>(())
/// ```
pub struct MemoryStore {
    tables: RwLock<HashMap<Key, Table>>,
    entropy: Arc<dyn Entropy>,
    id_generator: Option<Box<dyn Fn() -> String + Send + Sync>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store with ids from [`default_entropy`].
    pub fn new() -> Self {
        Self::with_entropy(default_entropy())
    }

    /// An empty store with ids from `entropy` (e.g. the host's random numbers on
    /// `wasm32-unknown-unknown`).
    pub fn with_entropy(entropy: Arc<dyn Entropy>) -> Self {
        MemoryStore {
            tables: RwLock::new(HashMap::new()),
            entropy,
            id_generator: None,
        }
    }

    /// An empty store that takes ids from `generator`.
    pub fn with_id_generator(generator: impl Fn() -> String + Send + Sync + 'static) -> Self {
        MemoryStore {
            id_generator: Some(Box::new(generator)),
            ..Self::new()
        }
    }

    /// The number of resources of a type in a tenant.
    pub fn len(&self, tenant: &str, resource_type: &str) -> usize {
        self.tables
            .read()
            .map(|t| {
                t.get(&(tenant.to_owned(), resource_type.to_owned()))
                    .map_or(0, |t| t.rows.len())
            })
            .unwrap_or(0)
    }

    fn next_id(&self) -> Result<String, StoreError> {
        if let Some(g) = &self.id_generator {
            return Ok(g());
        }
        random_uuid(&*self.entropy).map_err(|e| StoreError::Unavailable(format!("no id: {e}")))
    }

    fn write<R>(
        &self,
        tenant: &str,
        rt: &str,
        f: impl FnOnce(&mut Table) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut tables = self
            .tables
            .write()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))?;
        f(tables
            .entry((tenant.to_owned(), rt.to_owned()))
            .or_default())
    }

    fn read<R>(
        &self,
        tenant: &str,
        rt: &str,
        f: impl FnOnce(Option<&Table>) -> R,
    ) -> Result<R, StoreError> {
        let tables = self
            .tables
            .read()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))?;
        Ok(f(tables.get(&(tenant.to_owned(), rt.to_owned()))))
    }
}

impl Table {
    fn check_unique(&self, id: &str, unique: &[UniqueKey]) -> Result<(), StoreError> {
        for key in unique {
            if self.unique.get(key).is_some_and(|owner| owner != id) {
                return Err(StoreError::Conflict {
                    attribute: key.attribute.clone(),
                });
            }
        }
        Ok(())
    }

    fn index(&mut self, id: &str, unique: Vec<UniqueKey>) {
        if let Some(old) = self.keys_of.remove(id) {
            for k in old {
                self.unique.remove(&k);
            }
        }
        for k in &unique {
            self.unique.insert(k.clone(), id.to_owned());
        }
        self.keys_of.insert(id.to_owned(), unique);
    }
}

/// The top-level attributes `attrs` (and `id`) of `resource`.
fn select(resource: &Value, attrs: &[&str]) -> Value {
    let Value::Object(m) = resource else {
        return resource.clone();
    };
    Value::Object(
        m.iter()
            .filter(|(k, _)| k.as_str() == "id" || attrs.iter().any(|a| a.eq_ignore_ascii_case(k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

impl Store for MemoryStore {
    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        ready(self.read(tenant, rt, |t| t.and_then(|t| t.rows.get(id).cloned())))
    }

    fn create(
        &self,
        tenant: &str,
        rt: &str,
        mut resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let id = self.next_id();
        ready(id.and_then(|id| {
            self.write(tenant, rt, |t| {
                t.check_unique(&id, &unique)?;
                if t.rows.contains_key(&id) {
                    return Err(StoreError::Conflict {
                        attribute: "id".into(),
                    });
                }
                if let Value::Object(m) = &mut resource {
                    m.insert("id".into(), Value::String(id.clone()));
                }
                let stored = StoredResource {
                    id: id.clone(),
                    version: 1,
                    resource,
                };
                t.rows.insert(id.clone(), stored.clone());
                t.index(&id, unique);
                Ok(stored)
            })
        }))
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
        ready(self.write(tenant, rt, |t| {
            let current = t.rows.get(id).ok_or(StoreError::NotFound)?;
            if current.version != expected_version {
                return Err(StoreError::VersionMismatch);
            }
            t.check_unique(id, &unique)?;
            let stored = StoredResource {
                id: id.to_owned(),
                version: expected_version + 1,
                resource,
            };
            t.rows.insert(id.to_owned(), stored.clone());
            t.index(id, unique);
            Ok(stored)
        }))
    }

    fn delete(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        ready(self.write(tenant, rt, |t| {
            let current = t.rows.get(id).ok_or(StoreError::NotFound)?;
            if expected_version.is_some_and(|v| v != current.version) {
                return Err(StoreError::VersionMismatch);
            }
            t.rows.remove(id);
            t.index(id, Vec::new());
            t.keys_of.remove(id);
            Ok(())
        }))
    }

    fn query(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        let result = self.read(tenant, rt, |t| {
            let mut matching: Vec<StoredResource> = match t {
                None => Vec::new(),
                Some(t) => t
                    .rows
                    .values()
                    .filter(|r| query.compiled.is_none_or(|f| f.matches(&r.resource)))
                    .map(|r| match query.attributes {
                        // Copy only what the engine will read.
                        Some(attrs) => StoredResource {
                            id: r.id.clone(),
                            version: r.version,
                            resource: select(&r.resource, attrs),
                        },
                        None => r.clone(),
                    })
                    .collect(),
            };
            if let Some(sort) = query.sort {
                sort_resources(&mut matching, sort.path, sort.descending);
            }
            let total = matching.len();
            let start = query.start_index.max(1) - 1;
            let page: Vec<StoredResource> =
                matching.into_iter().skip(start).take(query.count).collect();
            QueryResult {
                resources: page,
                total_results: total,
                filtered: true,
                sorted: true,
                paged: true,
            }
        });
        ready(result)
    }
}
