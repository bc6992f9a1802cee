//! The in-memory reference store: thread-safe, tenant-aware, full filter and paging; a sort
//! it leaves to the engine, which knows the attribute's characteristics (`sorted: false`).

use std::collections::{BTreeMap, HashMap};
use std::future::{ready, Future};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::{
    Cascade, Cascaded, Query, QueryResult, Reference, ReferenceCheck, Referrer, ResourceEdit,
    Store, StoreError, StoredResource, UniqueKey, WithReferences,
};
use crate::secret::{default_entropy, random_uuid, Entropy};

type Key = (String, String);

/// A [`Key`] looked up from borrowed strings, with no copies on every read: `(String,
/// String)` hashes and compares as the two `str`s it holds.
trait TableKey {
    fn parts(&self) -> (&str, &str);
}

impl TableKey for Key {
    fn parts(&self) -> (&str, &str) {
        (&self.0, &self.1)
    }
}

impl TableKey for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

impl<'a> std::borrow::Borrow<dyn TableKey + 'a> for Key {
    fn borrow(&self) -> &(dyn TableKey + 'a) {
        self
    }
}

impl std::hash::Hash for dyn TableKey + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn TableKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn TableKey + '_ {}

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
                t.get(&(tenant, resource_type) as &dyn TableKey)
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
        self.write_all(|tables| {
            f(tables
                .entry((tenant.to_owned(), rt.to_owned()))
                .or_default())
        })
    }

    /// Every table under the one write lock: a cascade across types, or a reference check
    /// and the write it guards, is atomic.
    fn write_all<R>(
        &self,
        f: impl FnOnce(&mut HashMap<Key, Table>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut tables = self
            .tables
            .write()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))?;
        f(&mut tables)
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
        Ok(f(tables.get(&(tenant, rt) as &dyn TableKey)))
    }
}

/// A row as `get`, `query` and the writes answer it: without its text, which only the reads
/// for responses hand over ([`Store::get_text`], [`Store::query_text`]): a store wrapping
/// this one and changing what it answers cannot leave a text that says otherwise.
fn answer(row: &StoredResource) -> StoredResource {
    StoredResource::new(row.id.clone(), row.version, row.resource.clone())
}

impl Table {
    fn create(
        &mut self,
        id: String,
        mut resource: Value,
        unique: Vec<UniqueKey>,
    ) -> Result<StoredResource, StoreError> {
        self.check_unique(&id, &unique)?;
        if self.rows.contains_key(&id) {
            return Err(StoreError::Conflict {
                attribute: "id".into(),
            });
        }
        if let Value::Object(m) = &mut resource {
            m.insert("id".into(), Value::String(id.clone()));
        }
        // The text kept with the resource: reads for responses are answered from it.
        let row = StoredResource::new(id.clone(), 1, resource).with_text_of_resource();
        let stored = answer(&row);
        self.rows.insert(id.clone(), row);
        self.index(&id, unique);
        Ok(stored)
    }

    /// Whether `id` may be replaced: it exists at `expected_version`, and `unique` is free.
    fn may_replace(
        &self,
        id: &str,
        expected_version: u64,
        unique: &[UniqueKey],
    ) -> Result<(), StoreError> {
        let current = self.rows.get(id).ok_or(StoreError::NotFound)?;
        if current.version != expected_version {
            return Err(StoreError::VersionMismatch);
        }
        self.check_unique(id, unique)
    }

    fn replace(
        &mut self,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> Result<StoredResource, StoreError> {
        self.may_replace(id, expected_version, &unique)?;
        let row = StoredResource::new(id.to_owned(), expected_version + 1, resource)
            .with_text_of_resource();
        let stored = answer(&row);
        self.rows.insert(id.to_owned(), row);
        self.index(id, unique);
        Ok(stored)
    }

    /// Applies `edit` to the stored resource in place (no copy of its unchanged elements)
    /// and answers with the new text only.
    fn replace_edited(
        &mut self,
        id: &str,
        expected_version: u64,
        edit: ResourceEdit,
        unique: Vec<UniqueKey>,
    ) -> Result<StoredResource, StoreError> {
        self.may_replace(id, expected_version, &unique)?;
        let row = self.rows.get_mut(id).ok_or(StoreError::NotFound)?;
        if !edit.apply_to(&mut row.resource) {
            // Not the document the edit was made from: written whole.
            row.resource = serde_json::from_str(&edit.text)
                .map_err(|e| StoreError::Unavailable(format!("an edited document: {e}")))?;
        }
        row.version = expected_version + 1;
        row.text = Some(edit.text.into());
        let stored = row.text_only();
        self.index(id, unique);
        Ok(stored)
    }

    /// Removes the resource, if its version is `expected_version` (when given).
    fn delete(&mut self, id: &str, expected_version: Option<u64>) -> Result<(), StoreError> {
        let current = self.rows.get(id).ok_or(StoreError::NotFound)?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(StoreError::VersionMismatch);
        }
        self.rows.remove(id);
        self.index(id, Vec::new());
        self.keys_of.remove(id);
        Ok(())
    }

    /// Removes the elements of `attribute` whose `value` is `id` from every resource, giving
    /// each changed one the next version and `last_modified`; how many changed.
    fn detach(&mut self, attribute: &str, id: &str, last_modified: &str) -> usize {
        let mut changed = 0;
        for stored in self.rows.values_mut() {
            let Value::Object(m) = &mut stored.resource else {
                continue;
            };
            let Some(key) = m
                .keys()
                .find(|k| k.eq_ignore_ascii_case(attribute))
                .cloned()
            else {
                continue;
            };
            let Some(Value::Array(elements)) = m.get_mut(&key) else {
                continue;
            };
            let before = elements.len();
            elements.retain(|e| e.get("value").and_then(Value::as_str) != Some(id));
            if elements.len() == before {
                continue;
            }
            if elements.is_empty() {
                m.remove(&key);
            }
            if let Some(Value::Object(meta)) = m.get_mut("meta") {
                meta.insert(
                    "lastModified".into(),
                    Value::String(last_modified.to_owned()),
                );
            }
            stored.version += 1;
            stored.text = serde_json::to_string(&stored.resource).ok().map(Into::into);
            changed += 1;
        }
        changed
    }

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

/// [`StoreError::MissingReference`] unless every value of `check` is the id of a resource of
/// one of its targets in `tenant`.
fn check_references(
    tables: &HashMap<Key, Table>,
    tenant: &str,
    check: Option<&ReferenceCheck>,
) -> Result<(), StoreError> {
    let Some(check) = check else {
        return Ok(());
    };
    for value in &check.values {
        let exists = check.targets.iter().any(|rt| {
            tables
                .get(&(tenant.to_owned(), rt.clone()))
                .is_some_and(|t| t.rows.contains_key(value))
        });
        if !exists {
            return Err(StoreError::MissingReference {
                attribute: check.attribute.clone(),
                value: value.clone(),
                targets: check.targets.clone(),
            });
        }
    }
    Ok(())
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

/// The references to `targets` (lower-cased) that the elements of `attribute` of `row` hold.
fn references_in(
    row: &StoredResource,
    attribute: &str,
    targets: &[(String, &str)],
) -> Vec<Reference> {
    let Value::Object(o) = &row.resource else {
        return Vec::new();
    };
    let elements = o
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .filter_map(|(_, v)| v.as_array())
        .flatten();
    let mut found: Vec<Reference> = Vec::new();
    for value in elements
        .filter_map(|e| e.get("value"))
        .filter_map(Value::as_str)
    {
        // Keys are lower-cased already: an ASCII value compares without a lower-cased copy
        // (the copy was one allocation per member of every group, per user read).
        let folded = (!value.is_ascii()).then(|| value.to_lowercase());
        for (key, target) in targets {
            let same = match &folded {
                None => key.eq_ignore_ascii_case(value),
                Some(folded) => key == folded,
            };
            if same && !found.iter().any(|f| f.target == *target) {
                found.push(Reference::new(
                    row.id.clone(),
                    *target,
                    row.resource.get("displayName").cloned(),
                ));
            }
        }
    }
    found
}

impl Store for MemoryStore {
    fn references_to(
        &self,
        tenant: &str,
        referrer: &Referrer,
        targets: &[&str],
    ) -> impl Future<Output = Result<Option<Vec<Reference>>, StoreError>> + Send {
        let keys: Vec<(String, &str)> = targets.iter().map(|t| (t.to_lowercase(), *t)).collect();
        ready(self.read(tenant, &referrer.resource_type, |t| {
            Some(t.map_or_else(Vec::new, |t| {
                t.rows
                    .values()
                    .flat_map(|row| references_in(row, &referrer.attribute, &keys))
                    .collect()
            }))
        }))
    }

    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        ready(self.read(tenant, rt, |t| t.and_then(|t| t.rows.get(id).map(answer))))
    }

    /// The text kept with each resource, not a copy of the resource.
    fn get_text(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        referrer: Option<&Referrer>,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        let found = self.read(tenant, rt, |t| {
            t.and_then(|t| t.rows.get(id).map(StoredResource::text_only))
        });
        async move {
            let Some(found) = found? else {
                return Ok(None);
            };
            let references = match referrer {
                Some(referrer) => self.references_to(tenant, referrer, &[id]).await?,
                None => None,
            };
            Ok(Some((found, references)))
        }
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
        ready(self.write(tenant, rt, |t| {
            t.replace(id, expected_version, resource, unique)
        }))
    }

    /// True: an edit changes the stored tree in place.
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
        ready(self.write(tenant, rt, |t| {
            t.replace_edited(id, expected_version, edit, unique)
        }))
    }

    fn delete(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        ready(self.write(tenant, rt, |t| t.delete(id, expected_version)))
    }

    /// True: cascades and reference checks run under the store's one write lock.
    fn keeps_references(&self) -> bool {
        true
    }

    fn delete_cascade(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
        cascade: Cascade,
    ) -> impl Future<Output = Result<Cascaded, StoreError>> + Send {
        ready(self.write_all(|tables| {
            let key = (tenant.to_owned(), rt.to_owned());
            let deleted = match tables.get_mut(&key).map(|t| t.delete(id, expected_version)) {
                Some(Ok(())) => true,
                None | Some(Err(StoreError::NotFound)) => false,
                Some(Err(e)) => return Err(e),
            };
            let mut updated = 0;
            for referrer in &cascade.referrers {
                let key = (tenant.to_owned(), referrer.resource_type.clone());
                if let Some(t) = tables.get_mut(&key) {
                    updated += t.detach(&referrer.attribute, id, &cascade.last_modified);
                }
            }
            Ok(Cascaded::new(deleted, updated))
        }))
    }

    fn create_checked(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let id = self.next_id();
        ready(id.and_then(|id| {
            self.write_all(|tables| {
                check_references(tables, tenant, check.as_ref())?;
                tables
                    .entry((tenant.to_owned(), rt.to_owned()))
                    .or_default()
                    .create(id, resource, unique)
            })
        }))
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
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        ready(self.write_all(|tables| {
            let t = tables
                .get_mut(&(tenant.to_owned(), rt.to_owned()))
                .ok_or(StoreError::NotFound)?;
            // Not found and version mismatch come before a missing member.
            match t.rows.get(id) {
                None => return Err(StoreError::NotFound),
                Some(c) if c.version != expected_version => {
                    return Err(StoreError::VersionMismatch)
                }
                Some(_) => {}
            }
            check_references(tables, tenant, check.as_ref())?;
            tables
                .entry((tenant.to_owned(), rt.to_owned()))
                .or_default()
                .replace(id, expected_version, resource, unique)
        }))
    }

    fn query(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        ready(self.query_sync(tenant, rt, query, false))
    }

    /// The texts kept, where the engine needs no resource: without a sort (left to the
    /// engine, which reads the resources) and with every attribute read.
    fn query_text(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        let text_only = query.sort.is_none() && query.attributes.is_none();
        ready(self.query_sync(tenant, rt, query, text_only))
    }
}

impl MemoryStore {
    /// [`Store::query`], the resources as their texts only when `text_only`.
    fn query_sync(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
        text_only: bool,
    ) -> Result<QueryResult, StoreError> {
        self.read(tenant, rt, |t| {
            let matches: Vec<&StoredResource> = match t {
                None => Vec::new(),
                Some(t) => t
                    .rows
                    .values()
                    .filter(|r| query.filter.is_none_or(|f| f.matches(&r.resource)))
                    .collect(),
            };
            let copy = |r: &StoredResource| match query.attributes {
                // Copy only what the engine will read.
                Some(attrs) => {
                    StoredResource::new(r.id.clone(), r.version, select(&r.resource, attrs))
                }
                None if text_only => r.text_only(),
                None => answer(r),
            };
            let total = matches.len();
            // The reference store leaves sorting to the engine's one implementation of it
            // (RFC 7644 §3.4.2.3): with a sort, every match goes back unsorted and unpaged,
            // and the engine sorts and pages.
            if query.sort.is_some() {
                return QueryResult {
                    resources: matches.into_iter().map(copy).collect(),
                    total_results: total,
                    filtered: true,
                    sorted: false,
                    paged: false,
                };
            }
            // Only the page is copied, not every match.
            let start = query.start_index.max(1) - 1;
            QueryResult {
                resources: matches
                    .into_iter()
                    .skip(start)
                    .take(query.count)
                    .map(copy)
                    .collect(),
                total_results: total,
                filtered: true,
                sorted: true,
                paged: true,
            }
        })
    }
}
