//! The storage trait a host implements, and the in-memory reference store.
//!
//! Methods return futures (`impl Future + Send`), so the engine runs on any executor and a
//! synchronous store simply returns `std::future::ready(..)`.

mod edit;
mod memory;
mod reference;
mod schema;

use std::future::Future;

use scim_filter::{AttrInfo, AttrPath, CompiledFilter};
use serde_json::Value;

pub use edit::ResourceEdit;
pub use memory::MemoryStore;
pub use reference::{Reference, WithReferences};
pub use schema::{StoreSchema, StoredType};

/// A stored resource: its id, its version (for ETags and optimistic concurrency) and its
/// JSON (with `id` and `meta.created`/`lastModified`/`resourceType`).
///
/// A store that holds the resource as JSON text may hand that text over in its answers to
/// the reads for responses, [`Store::get_text`] and [`Store::query_text`]
/// ([`StoredResource::with_text`], [`StoredResource::text_only`]): the engine then writes
/// the response from it, copying the attributes the response shows whole instead of
/// serialising them again. Its other answers carry no text, so that a store wrapping
/// another and changing what it answers (adding members kept elsewhere, say) can leave no
/// text that says otherwise.
///
/// ```
/// use scim_core::StoredResource;
/// use serde_json::json;
///
/// let resource = json!({"id": "u1", "userName": "bjensen"});
/// let stored = StoredResource::new("u1", 1, resource.clone()).with_text_of_resource();
/// assert_eq!(stored.text.as_deref(), Some(r#"{"id":"u1","userName":"bjensen"}"#));
/// // Equality is that of the id, version and resource: the text is only their cache.
/// assert_eq!(stored, StoredResource::new("u1", 1, resource));
/// ```
#[derive(Debug, Clone)]
pub struct StoredResource {
    /// The id.
    pub id: String,
    /// Incremented on every write.
    pub version: u64,
    /// The resource.
    pub resource: Value,
    /// `resource` as compact JSON text, exactly as `serde_json::to_string` writes it (keys
    /// in order, no white space), in an answer to [`Store::get_text`] or
    /// [`Store::query_text`] from a store that keeps it; `None` otherwise. Whoever changes
    /// `resource` must set this to `None` (or to the new text).
    pub text: Option<std::sync::Arc<str>>,
}

impl PartialEq for StoredResource {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.version == other.version && self.resource == other.resource
    }
}

impl StoredResource {
    /// A stored resource without its text.
    pub fn new(id: impl Into<String>, version: u64, resource: Value) -> Self {
        StoredResource {
            id: id.into(),
            version,
            resource,
            text: None,
        }
    }

    /// With `text`, which must be `serde_json::to_string(&self.resource)`.
    pub fn with_text(mut self, text: impl Into<std::sync::Arc<str>>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// With the text of its resource, serialised now (a store that keeps the text pays this
    /// once a write, and every read of it is spared it).
    pub fn with_text_of_resource(mut self) -> Self {
        self.text = serde_json::to_string(&self.resource).ok().map(Into::into);
        self
    }

    /// A copy with the text only, when there is a text ([`Store::get_text`]): `resource`
    /// is `Value::Null`, not built. Without a text, a copy of all of it.
    ///
    /// ```
    /// use scim_core::StoredResource;
    /// let stored = StoredResource::new("u1", 1, serde_json::json!({"id": "u1"}));
    /// assert!(!stored.text_only().is_text_only(), "no text: the resource is kept");
    /// let mut only = stored.with_text_of_resource().text_only();
    /// assert!(only.is_text_only());
    /// only.parse_text()?;
    /// assert_eq!(only.resource, serde_json::json!({"id": "u1"}));
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn text_only(&self) -> Self {
        match &self.text {
            Some(text) => StoredResource {
                id: self.id.clone(),
                version: self.version,
                resource: Value::Null,
                text: Some(text.clone()),
            },
            None => self.clone(),
        }
    }

    /// Whether only the text is here: `resource` is not built (`Value::Null`; a stored
    /// resource is an object) and `text` holds it.
    pub fn is_text_only(&self) -> bool {
        self.resource.is_null() && self.text.is_some()
    }

    /// Builds `resource` from `text` when only the text is here; the text is kept. Fails
    /// when the text is not JSON (a store's text always is).
    pub fn parse_text(&mut self) -> Result<(), StoreError> {
        if let (true, Some(text)) = (self.resource.is_null(), &self.text) {
            self.resource = serde_json::from_str(text)
                .map_err(|e| StoreError::Unavailable(format!("stored text of {}: {e}", self.id)))?;
        }
        Ok(())
    }
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such resource.
    #[error("not found")]
    NotFound,
    /// The resource's version is not the expected one.
    #[error("version mismatch")]
    VersionMismatch,
    /// A unique value is taken.
    #[error("`{attribute}` is already in use")]
    Conflict {
        /// The attribute.
        attribute: String,
    },
    /// The store failed; the text is for logs, never for clients.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The query costs more than the store allows one call (a time budget, a scan limit):
    /// the engine answers 400 `tooMany` (RFC 7644 §3.12). The text says which limit.
    #[error("too expensive: {0}")]
    TooExpensive(String),
    /// A write would add a reference to a resource that does not exist (a group member whose
    /// id names no User or Group), found inside the write ([`ReferenceCheck`]); nothing was
    /// written.
    #[error("{attribute} value {value} is not an existing {}", .targets.join(" or "))]
    MissingReference {
        /// The attribute, e.g. `members`.
        attribute: String,
        /// The value that names no resource.
        value: String,
        /// The resource types it may name, e.g. `User` and `Group`.
        targets: Vec<String>,
    },
}

/// A value that must be unique among the resources of a type in a tenant
/// (`uniqueness: server`), normalised so that look-alikes collide (see
/// [`UniqueKey::normalised`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UniqueKey {
    /// The attribute, e.g. `userName`.
    pub attribute: String,
    /// The normalised value.
    pub value: String,
}

impl UniqueKey {
    /// The key of `value`: Unicode compatibility-normalised (NFKC: fullwidth letters, no-break
    /// spaces, ligatures and composed/decomposed accents all become one spelling), then
    /// lower-cased and normalised again unless `case_exact` — the comparison of RFC 8265's
    /// UsernameCaseMapped profile, so two values a person cannot tell apart are one key.
    ///
    /// ```
    /// use scim_core::UniqueKey;
    /// let key = |v: &str| UniqueKey::normalised("userName", v, false).value;
    /// assert_eq!(key("Jos\u{e9}"), key("jose\u{301}"));          // NFC vs NFD
    /// assert_eq!(key("\u{ff2a}\u{ff4f}\u{ff45}"), key("joe"));   // fullwidth
    /// assert_eq!(key("a\u{a0}b"), key("a b"));                    // no-break space
    /// assert_ne!(UniqueKey::normalised("id", "A", true).value, UniqueKey::normalised("id", "a", true).value);
    /// ```
    pub fn normalised(attribute: impl Into<String>, value: &str, case_exact: bool) -> Self {
        use unicode_normalization::UnicodeNormalization;
        let compatible: String = value.nfkc().collect();
        let value = if case_exact {
            compatible
        } else {
            compatible.to_lowercase().nfkc().collect()
        };
        UniqueKey {
            attribute: attribute.into(),
            value,
        }
    }
}

/// Values a write adds to a multi-valued attribute that must each be the id of an existing
/// resource of one of `targets` (a group's new `members`, RFC 7643 §4.2). A store that
/// [keeps references](Store::keeps_references) checks them inside the write (the same
/// transaction, or under the same lock, as the write and as [`Store::delete_cascade`]), so
/// a member deleted concurrently is never committed: the write fails with
/// [`StoreError::MissingReference`] and changes nothing.
///
/// ```
/// let check = scim_core::ReferenceCheck::new("members", ["User", "Group"], ["2819c223"]);
/// assert_eq!(check.targets, ["User", "Group"]);
/// assert_eq!(check.values, ["2819c223"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ReferenceCheck {
    /// The attribute, e.g. `members` (for [`StoreError::MissingReference`]).
    pub attribute: String,
    /// The resource types an id may name, e.g. `User` and `Group`.
    pub targets: Vec<String>,
    /// The ids that must exist (in the write's tenant).
    pub values: Vec<String>,
}

impl ReferenceCheck {
    /// `values` of `attribute` must name resources of `targets`.
    pub fn new<T: Into<String>, V: Into<String>>(
        attribute: impl Into<String>,
        targets: impl IntoIterator<Item = T>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        ReferenceCheck {
            attribute: attribute.into(),
            targets: targets.into_iter().map(Into::into).collect(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// Where references to a resource may be held: the elements of `attribute` of every
/// resource of `resource_type` whose `value` is its id (a group's `members`).
///
/// ```
/// let by_groups = scim_core::Referrer::new("Group", "members");
/// assert_eq!(by_groups.attribute, "members");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Referrer {
    /// The resource type holding references, e.g. `Group`.
    pub resource_type: String,
    /// Its multi-valued attribute whose elements' `value`s are ids, e.g. `members`.
    pub attribute: String,
}

impl Referrer {
    /// The elements of `attribute` of `resource_type`.
    pub fn new(resource_type: impl Into<String>, attribute: impl Into<String>) -> Self {
        Referrer {
            resource_type: resource_type.into(),
            attribute: attribute.into(),
        }
    }
}

/// What [`Store::delete_cascade`] removes with the resource, in the same atomic write.
///
/// ```
/// let cascade = scim_core::Cascade::new(
///     vec![scim_core::Referrer::new("Group", "members")],
///     "2024-05-01T12:00:00.000Z",
/// );
/// assert_eq!(cascade.referrers.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Cascade {
    /// Where references to the deleted resource are removed.
    pub referrers: Vec<Referrer>,
    /// The `meta.lastModified` of each resource that loses a reference (which also gets the
    /// next version: its representation changed, RFC 7644 §3.14). The engine passes its
    /// clock's time; a store never reads a clock.
    pub last_modified: String,
}

impl Cascade {
    /// Remove references from `referrers`, stamping changed resources `last_modified`.
    pub fn new(referrers: Vec<Referrer>, last_modified: impl Into<String>) -> Self {
        Cascade {
            referrers,
            last_modified: last_modified.into(),
        }
    }
}

/// What [`Store::delete_cascade`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Cascaded {
    /// Whether the resource existed (and is now deleted).
    pub deleted: bool,
    /// How many referring resources lost a reference to it.
    pub referrers_updated: usize,
}

impl Cascaded {
    /// `deleted`, with `referrers_updated` referrers changed.
    pub fn new(deleted: bool, referrers_updated: usize) -> Self {
        Cascaded {
            deleted,
            referrers_updated,
        }
    }
}

/// Sorting (RFC 7644 §3.4.2.3), by the attribute's characteristics in the resource type's
/// schema: caseExact strings by code point, other strings by Unicode lower-casing, dateTimes
/// as instants, numbers by value, booleans false first, a multi-valued attribute by its
/// primary (else first) value; absent and null values last ascending, first descending. A
/// store that cannot sort exactly so answers `sorted: false` and the engine sorts.
///
/// ```
/// use scim_filter::{AttrInfo, AttrPath, AttrType};
/// let path = AttrPath::new("userName");
/// let info = AttrInfo::new(AttrType::String);
/// let sort = scim_core::Sort { path: &path, descending: false, attribute: Some(&info) };
/// assert!(!sort.attribute.is_some_and(|a| a.case_exact));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Sort<'a> {
    /// The attribute (`sortBy`), as the client spelled it. A URN-qualified extension
    /// attribute is read from the extension's object when the resource has one (an object),
    /// else from the top level, as the engine's own sort does.
    pub path: &'a AttrPath,
    /// `sortOrder=descending`.
    pub descending: bool,
    /// What the resource type's schema says about `path` (type, caseExact, multiValued,
    /// custom type), so that a store needs no schema of its own; `None` when the schema does
    /// not define it (a store then leaves the sort to the engine).
    pub attribute: Option<&'a AttrInfo>,
}

/// A list query: filter, sort and page (RFC 7644 §3.4.2). A store applies what it can and
/// says so in [`QueryResult`]; the engine completes the rest in memory.
///
/// ```
/// use scim_filter::{CompiledFilter, Filter};
/// let registry = scim_schema::Registry::standard();
/// let users = registry.resource_type("User").ok_or("no User")?;
/// let filter = CompiledFilter::compile(&Filter::parse(r#"userName eq "bjensen""#)?, &users)?;
/// let query = scim_core::Query {
///     filter: Some(&filter),
///     sort: None,
///     start_index: 1,
///     count: 100,
///     attributes: None,
/// };
/// // What a store translates: every path resolved against the User schema.
/// assert!(matches!(query.filter.map(|f| f.resolved()), Some(scim_filter::ResolvedNode::Leaf(..))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The filter, compiled against the resource type. A store translates
    /// [`CompiledFilter::resolved`] (every path resolved: where its values are, type,
    /// caseExact, multiValued; every literal typed), needing no schema of its own, or tests
    /// resources with [`CompiledFilter::matches`].
    pub filter: Option<&'a CompiledFilter>,
    /// The sort.
    pub sort: Option<Sort<'a>>,
    /// 1-based start index.
    pub start_index: usize,
    /// Maximum number of resources.
    pub count: usize,
    /// When set, the engine reads only these top-level attributes (and `id`) of the results:
    /// a store may return just those (e.g. the display names of 100,000 group members).
    pub attributes: Option<&'a [&'a str]>,
}

/// What a store returns for a [`Query`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryResult {
    /// The resources (the page, when `paged`).
    pub resources: Vec<StoredResource>,
    /// The number of matching resources (when `filtered`).
    pub total_results: usize,
    /// Whether the filter was applied exactly.
    pub filtered: bool,
    /// Whether the sort was applied.
    pub sorted: bool,
    /// Whether `start_index`/`count` were applied.
    pub paged: bool,
}

/// A change to the elements of a multi-valued attribute that a store keeps outside the
/// resource document ([`Store::out_of_line`]), each element identified by its `value`.
///
/// Applied in this order: `clear`, then `removed`, then `added` (an element whose `value` is
/// present already is skipped: a member is in a group once, RFC 7644 §3.5.2.1).
///
/// ```
/// let change = scim_core::ElementChange::new("members");
/// assert!(change.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ElementChange {
    /// The attribute, e.g. `members`.
    pub attribute: String,
    /// Remove every element first (a `replace` of the whole attribute).
    pub clear: bool,
    /// The `value`s of the elements to remove.
    pub removed: Vec<String>,
    /// The elements to add (validated, each with a string `value`).
    pub added: Vec<Value>,
}

impl ElementChange {
    /// No change yet to `attribute`.
    pub fn new(attribute: impl Into<String>) -> Self {
        ElementChange {
            attribute: attribute.into(),
            ..ElementChange::default()
        }
    }

    /// Whether the change does nothing.
    pub fn is_empty(&self) -> bool {
        !self.clear && self.removed.is_empty() && self.added.is_empty()
    }
}

/// What [`Store::patch_elements`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementPatch {
    /// The resource's version afterwards (unchanged when nothing changed).
    pub version: u64,
    /// Whether anything was written.
    pub changed: bool,
}

/// Where a host keeps resources. Every method is scoped to a tenant and a resource type
/// (its name, e.g. `User`).
pub trait Store: Send + Sync {
    /// The resource with `id`, if any.
    fn get(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send;

    /// Stores a new resource; the store assigns the id (and sets `id` in the JSON) and
    /// version 1. Refuses with [`StoreError::Conflict`] when a unique key is taken.
    fn create(
        &self,
        tenant: &str,
        resource_type: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send;

    /// Replaces the resource if its version is `expected_version`; the new version is
    /// `expected_version + 1`.
    fn replace(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send;

    /// Deletes the resource, if its version is `expected_version` (when given).
    fn delete(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lists resources.
    fn query(
        &self,
        tenant: &str,
        resource_type: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send;

    /// The multi-valued attribute of `resource_type` whose elements this store keeps out of
    /// line, indexed by their `value` (e.g. `members` of `Group`), if any. The engine then
    /// applies a PATCH that only adds or removes such elements by `value` with
    /// [`Store::get_head`] and [`Store::patch_elements`], without reading or writing the whole
    /// resource: adding one member to a group of 100,000 costs one member.
    ///
    /// The default: none (every PATCH reads and replaces the whole resource).
    fn out_of_line(&self, resource_type: &str) -> Option<&str> {
        let _ = resource_type;
        None
    }

    /// The resource without its [out-of-line](Store::out_of_line) attribute, with its
    /// version. The default reads the whole resource.
    fn get_head(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        self.get(tenant, resource_type, id)
    }

    /// If the resource's version is `expected_version`: applies `change` to its out-of-line
    /// elements and, when that or `head_changed` changed anything, stores `head` (the resource
    /// without the out-of-line attribute, already stamped) with the next version, all in one
    /// atomic write. When nothing changed, nothing is written and the version stays.
    ///
    /// The default refuses: only a store that names an [`out_of_line`](Store::out_of_line)
    /// attribute is asked.
    #[allow(clippy::too_many_arguments)]
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
        let _ = (
            tenant,
            resource_type,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
        );
        std::future::ready(Err(StoreError::Unavailable(
            "this store keeps no attribute out of line".into(),
        )))
    }

    /// The references to any of `targets` held by `referrer` (the groups whose `members`
    /// list a user, for the user's read-time `groups`), each with the referring resource's
    /// `displayName`; an element's `value` matches a target case-insensitively, as the
    /// filter `members.value eq "…"` would. `None` when the store has no index for it: the
    /// engine then asks [`Store::query`] with that filter.
    ///
    /// The default: `None`.
    fn references_to(
        &self,
        tenant: &str,
        referrer: &Referrer,
        targets: &[&str],
    ) -> impl Future<Output = Result<Option<Vec<Reference>>, StoreError>> + Send {
        let _ = (tenant, referrer, targets);
        std::future::ready(Ok(None))
    }

    /// [`Store::get`] and, for the resource found, [`Store::references_to`] it held by
    /// `referrer`, in one call: a store with its own threads answers a `GET /Users/{id}` in
    /// one round trip instead of two.
    ///
    /// The default calls the two one after the other.
    fn get_with_references(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: &Referrer,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        async move {
            let Some(found) = self.get(tenant, resource_type, id).await? else {
                return Ok(None);
            };
            let references = self.references_to(tenant, referrer, &[id]).await?;
            Ok(Some((found, references)))
        }
    }

    /// [`Store::get`] (with [`Store::get_with_references`] when `referrer` is given), for
    /// a response: a store that keeps each resource's JSON text may answer with the text
    /// alone ([`StoredResource::text_only`]), sparing the resource's building, and the
    /// engine writes the response from the text ([`StoredResource::parse_text`] when it
    /// needs the resource after all). The references are `None` when `referrer` is.
    ///
    /// The default answers as `get` and `get_with_references` do.
    fn get_text(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: Option<&Referrer>,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        async move {
            match referrer {
                Some(referrer) => {
                    self.get_with_references(tenant, resource_type, id, referrer)
                        .await
                }
                None => Ok(self
                    .get(tenant, resource_type, id)
                    .await?
                    .map(|found| (found, None))),
            }
        }
    }

    /// [`Store::query`] for a response: a store that keeps each resource's JSON text may
    /// answer with the texts alone ([`StoredResource::text_only`]) where it filtered and
    /// sorted the results itself (`filtered`, and `sorted` when there is a sort). The engine
    /// builds a resource from its text only where it must ([`StoredResource::parse_text`]).
    ///
    /// The default answers as `query` does.
    fn query_text(
        &self,
        tenant: &str,
        resource_type: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        self.query(tenant, resource_type, query)
    }

    /// Whether this store keeps references consistent itself: [`Store::delete_cascade`]
    /// removes a deleted resource from its referrers in the same atomic write, and
    /// [`Store::create_checked`], [`Store::replace_checked`] and
    /// [`Store::patch_elements_checked`] check a [`ReferenceCheck`] inside the write.
    ///
    /// The default: false. The engine then deletes with [`Store::delete`] and removes the
    /// references afterwards, one [`Store::replace`] per referrer (not atomic: a crash or a
    /// concurrent member add in between can leave a dangling member, which a repeated
    /// DELETE repairs).
    fn keeps_references(&self) -> bool {
        false
    }

    /// In one atomic write: deletes the resource (if its version is `expected_version`, when
    /// given; [`StoreError::VersionMismatch`] otherwise, and nothing changes) and removes
    /// every element whose `value` is `id` (compared exactly: ids are case-exact) from the
    /// [`Cascade::referrers`], giving each changed referrer the next version and
    /// `meta.lastModified` = [`Cascade::last_modified`]. An attribute left with no element
    /// is removed. When no resource `id` exists the references are removed all the same (a
    /// repair of what a crash between a delete and its cascade left behind) and
    /// [`Cascaded::deleted`] is false.
    ///
    /// The default (for a store that does not [keep references](Store::keeps_references)):
    /// [`Store::delete`] alone, with `deleted: false` on [`StoreError::NotFound`].
    fn delete_cascade(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: Option<u64>,
        cascade: Cascade,
    ) -> impl Future<Output = Result<Cascaded, StoreError>> + Send {
        let _ = cascade;
        let deleted = self.delete(tenant, resource_type, id, expected_version);
        async move {
            match deleted.await {
                Ok(()) => Ok(Cascaded::new(true, 0)),
                Err(StoreError::NotFound) => Ok(Cascaded::new(false, 0)),
                Err(e) => Err(e),
            }
        }
    }

    /// [`Store::create`], refusing with [`StoreError::MissingReference`] inside the write
    /// when a value of `check` names no existing resource. The default ignores `check`
    /// (the engine checked before the write).
    fn create_checked(
        &self,
        tenant: &str,
        resource_type: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let _ = check;
        self.create(tenant, resource_type, resource, unique)
    }

    /// [`Store::replace`], refusing with [`StoreError::MissingReference`] inside the write
    /// when a value of `check` names no existing resource. The default ignores `check`.
    #[allow(clippy::too_many_arguments)]
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
        let _ = check;
        self.replace(
            tenant,
            resource_type,
            id,
            expected_version,
            resource,
            unique,
        )
    }

    /// Whether [`Store::replace_edited`] applies a [`ResourceEdit`] without building the
    /// whole document again (the memory store edits its tree in place). The engine patches
    /// a large multi-valued attribute on the stored text only for such a store: the default
    /// `replace_edited` parses the whole new document, which costs what patching it whole
    /// does. Default `false`.
    fn applies_edits(&self) -> bool {
        false
    }

    /// [`Store::replace`] with the new document given as a [`ResourceEdit`]: what a PATCH
    /// of a few elements of a large multi-valued attribute wrote (the engine patched those
    /// elements only, on the text [`Store::get_text`] gave). A store that keeps the document
    /// as a tree applies the edit in place ([`ResourceEdit::apply_to`]) instead of building
    /// the whole document again; the answer may then carry the text only
    /// ([`StoredResource::text_only`]), which is exactly the document.
    ///
    /// The default parses [`ResourceEdit::text`] and calls [`Store::replace_checked`].
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
            let resource: Value = serde_json::from_str(&edit.text)
                .map_err(|e| StoreError::Unavailable(format!("an edited document: {e}")))?;
            drop(edit);
            self.replace_checked(
                tenant,
                resource_type,
                id,
                expected_version,
                resource,
                unique,
                None,
            )
            .await
        }
    }

    /// [`Store::patch_elements`], refusing with [`StoreError::MissingReference`] inside the
    /// write when a value of `check` names no existing resource. The default ignores `check`.
    #[allow(clippy::too_many_arguments)]
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
        let _ = check;
        self.patch_elements(
            tenant,
            resource_type,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
        )
    }
}
