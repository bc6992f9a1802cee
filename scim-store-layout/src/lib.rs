//! The row layout the SQL stores (`scim-store-sqlite`, `scim-store-postgres`) share, with
//! no SQL in it: what a write stores — the document (without its out-of-line elements),
//! its search form (keys lower-cased, secrets left out), the values of the indexed
//! attributes, and the out-of-line elements — so that every dialect stores, indexes and
//! later reads the same things.
//!
//! ```
//! use scim_store_layout::{hidden_of, out_of_line_of, Row};
//! let schema = scim_core::StoreSchema::of(&scim_schema::Registry::standard());
//! let group = serde_json::json!({"displayName": "Admins", "members": [{"value": "U1"}]});
//! let row = Row::of(&group, "g1", out_of_line_of(&schema, "Group"), &hidden_of(&schema, "Group"))?;
//! assert_eq!(row.keys, vec![("displayname", "admins".to_owned())]);
//! let members = row.out_of_line.ok_or("members go out of line")?;
//! assert_eq!(members.elements[0].value_key.as_deref(), Some("u1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;

use serde_json::{Map, Value};

use scim_core::secret::{random_uuid, time_ordered_uuid, Entropy};
use scim_core::StoreError;
use scim_core::StoreSchema;
use scim_filter::Instant;

mod edit;
mod probe;
mod text;
use text::DocText;

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The out-of-line attribute of the resource type `rt`: its
/// [`members`](scim_core::StoredType::members) (those of a type whose core schema is the
/// Group schema).
///
/// ```
/// let schema = scim_core::StoreSchema::of(&scim_schema::Registry::standard());
/// assert_eq!(scim_store_layout::out_of_line_of(&schema, "Group"), Some("members"));
/// assert_eq!(scim_store_layout::out_of_line_of(&schema, "User"), None);
/// ```
pub fn out_of_line_of<'s>(schema: &'s StoreSchema, rt: &str) -> Option<&'s str> {
    schema.get(rt).and_then(|t| t.members.as_deref())
}

/// The out-of-line attribute of `rt` that an [`ElementChange`](scim_core::ElementChange) of
/// `attribute` changes, or [`StoreError::Unavailable`] when `rt` keeps no such attribute out
/// of line (the engine asks only for one the store named).
///
/// ```
/// let schema = scim_core::StoreSchema::of(&scim_schema::Registry::standard());
/// assert_eq!(scim_store_layout::changed_out_of_line(&schema, "Group", "Members"), Ok("members"));
/// assert!(scim_store_layout::changed_out_of_line(&schema, "User", "emails").is_err());
/// ```
pub fn changed_out_of_line<'s>(
    schema: &'s StoreSchema,
    rt: &str,
    attribute: &str,
) -> Result<&'s str, StoreError> {
    out_of_line_of(schema, rt)
        .filter(|a| attribute.eq_ignore_ascii_case(a))
        .ok_or_else(|| {
            StoreError::Unavailable(format!("`{attribute}` of {rt} is not kept out of line"))
        })
}

/// The out-of-line attribute of `referrer`'s resource type, when it is the attribute the
/// referrer names (a group's `members`): references there are rows of their own.
///
/// ```
/// let schema = scim_core::StoreSchema::of(&scim_schema::Registry::standard());
/// let members = scim_core::Referrer::new("Group", "Members");
/// assert_eq!(scim_store_layout::held_out_of_line(&schema, &members), Some("members"));
/// let other = scim_core::Referrer::new("Group", "owners");
/// assert_eq!(scim_store_layout::held_out_of_line(&schema, &other), None);
/// ```
pub fn held_out_of_line<'s>(
    schema: &'s StoreSchema,
    referrer: &scim_core::Referrer,
) -> Option<&'s str> {
    out_of_line_of(schema, &referrer.resource_type)
        .filter(|a| a.eq_ignore_ascii_case(&referrer.attribute))
}

/// `meta.lastModified` of `resource` set to `at` (when it has a `meta` object): a resource
/// that lost a reference in a cascade.
///
/// ```
/// let mut group = serde_json::json!({"meta": {"lastModified": "2020-01-01T00:00:00Z"}});
/// scim_store_layout::touch(&mut group, "2030-01-01T00:00:00Z");
/// assert_eq!(group["meta"]["lastModified"], "2030-01-01T00:00:00Z");
/// ```
pub fn touch(resource: &mut Value, at: &str) {
    if let Some(Value::Object(meta)) = resource.get_mut("meta") {
        meta.insert("lastModified".into(), Value::String(at.to_owned()));
    }
}

/// Removes the elements whose `value` is exactly `id` from every spelling of `attribute` in
/// `resource` (an attribute left empty is removed): whether any was — a cascade on an
/// attribute kept in the document.
///
/// ```
/// let mut group = serde_json::json!({"Members": [{"value": "u1"}, {"value": "U1"}]});
/// assert!(scim_store_layout::remove_references(&mut group, "members", "u1"));
/// assert_eq!(group, serde_json::json!({"Members": [{"value": "U1"}]}));
/// assert!(!scim_store_layout::remove_references(&mut group, "members", "u1"));
/// ```
pub fn remove_references(resource: &mut Value, attribute: &str, id: &str) -> bool {
    let Value::Object(m) = resource else {
        return false;
    };
    let mut removed = false;
    for name in keys_named(m, attribute) {
        if let Some(Value::Array(elements)) = m.get_mut(&name) {
            let before = elements.len();
            elements.retain(|e| e.get("value").and_then(Value::as_str) != Some(id));
            removed |= elements.len() != before;
            if elements.is_empty() {
                m.remove(&name);
            }
        }
    }
    removed
}

/// Whether an entry of `Query::attributes` names `attr` (`members`, `members.display`,
/// `urn:…:Group:members`).
///
/// ```
/// assert!(scim_store_layout::names_attribute("members.display", "members"));
/// assert!(!scim_store_layout::names_attribute("displayName", "members"));
/// ```
pub fn names_attribute(entry: &str, attr: &str) -> bool {
    let entry = entry.rsplit(':').next().unwrap_or(entry);
    let entry = entry.split('.').next().unwrap_or(entry);
    entry.eq_ignore_ascii_case(attr)
}

/// The attributes kept in the `attr_index` side table, for every resource type: each as
/// (name, sub-attribute), lower-cased, with the label stored in `attr_index.attr`.
///
/// `id` is not here: the primary key answers `id eq`, and only a document whose `id` is not
/// its row id (never, through the engine) has its `id` values in the side table.
pub const INDEXED: &[(&str, Option<&str>, &str)] = &[
    ("username", None, "username"),
    ("externalid", None, "externalid"),
    ("displayname", None, "displayname"),
    ("emails", Some("value"), "emails.value"),
];

/// The side-table label of `id` (exceptions only, see [`INDEXED`]).
pub const ID_LABEL: &str = "id";

/// The `attr_index` label for an attribute, if it is indexed.
pub fn indexed_label(name: &str, sub: Option<&str>) -> Option<&'static str> {
    INDEXED.iter().find_map(|(n, s, label)| {
        let same_sub = match (s, sub) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        (n.eq_ignore_ascii_case(name) && same_sub).then_some(*label)
    })
}

/// The strings a comparison on `name[.sub]` looks at in a search document (keys already
/// lower-cased): the evaluator's candidates for an attribute that is not complex. Must agree
/// with `Translator::candidates` (the property test checks it).
pub fn text_values<'a>(search: &'a Value, name: &str, sub: Option<&str>) -> Vec<&'a str> {
    let mut out = Vec::new();
    let Some(v) = search.get(name) else {
        return out;
    };
    match sub {
        None => match v {
            Value::String(s) => out.push(s.as_str()),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.as_str()),
                        Value::Object(o) => {
                            if let Some(Value::String(s)) = o.get("value") {
                                out.push(s.as_str());
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        },
        Some(sub) => {
            let objects: Vec<&Map<String, Value>> = match v {
                Value::Object(o) => vec![o],
                Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
                _ => Vec::new(),
            };
            for o in objects {
                match o.get(sub) {
                    Some(Value::String(s)) => out.push(s.as_str()),
                    Some(Value::Array(items)) => {
                        out.extend(items.iter().filter_map(Value::as_str));
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The `attr_index` rows of a resource: (label, key = the value Unicode-lower-cased), without
/// repeats, in the order of their first occurrence. Linear in the number of values (a user
/// may have tens of thousands of emails).
pub fn index_keys(search: &Value, id: &str) -> Vec<(&'static str, String)> {
    capped_keys(
        |name, sub| text_values(search, name, sub),
        search.get("id"),
        id,
        usize::MAX,
    )
    .0
}

/// A label over the cap of [`Row::of_capped`], with every key its values fold to (in
/// document order, repeats kept): what a store keeps instead of index rows (the SQLite
/// store, a Bloom filter of them) is made from these, not from the search text read again.
pub type Capped = (&'static str, Vec<String>);

/// [`index_keys`] read through `values` (the strings at `name[.sub]`, [`text_values`] or
/// its case-insensitive twin), with `id_value` the document's `id`: a label with more than
/// `cap` distinct keys has none (and is listed second, with its keys).
fn capped_keys<'a>(
    values: impl Fn(&str, Option<&str>) -> Vec<&'a str>,
    id_value: Option<&Value>,
    id: &str,
    cap: usize,
) -> (Vec<(&'static str, String)>, Vec<Capped>) {
    let mut keys: Vec<(&'static str, String)> = Vec::new();
    let mut over: Vec<Capped> = Vec::new();
    // Each label is added by one call only, so repeats are looked for within a call.
    let mut add = |label: &'static str, values: Vec<&str>| {
        // Each value folded once, whichever way the label goes.
        let lowered: Vec<String> = values.into_iter().map(str::to_lowercase).collect();
        let mut seen: HashSet<&str> = HashSet::with_capacity(lowered.len().min(cap) + 1);
        let mut first = Vec::with_capacity(lowered.len());
        for k in &lowered {
            first.push(seen.insert(k.as_str()));
            // Over the cap as soon as `cap + 1` distinct keys are seen.
            if seen.len() > cap {
                drop(seen);
                over.push((label, lowered));
                return;
            }
        }
        drop(seen);
        keys.extend(
            lowered
                .into_iter()
                .zip(first)
                .filter_map(|(key, first)| first.then_some((label, key))),
        );
    };
    for (name, sub, label) in INDEXED {
        add(label, values(name, *sub));
    }
    if id_value.and_then(Value::as_str) != Some(id) {
        add(ID_LABEL, values("id", None));
    }
    (keys, over)
}

/// The value of the key of `m` equal to `name` ASCII-case-insensitively (the first in key
/// order): in a document without keys duplicated by case, what the search document holds
/// under `name` lower-cased.
fn get_ci<'v>(m: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// [`text_values`] read from the document as given (keys in any case) rather than from its
/// search form: the same strings when no object of the document has two keys differing
/// only in case. `name` and `sub` are lower-cased.
fn text_values_ci<'a>(resource: &'a Value, name: &str, sub: Option<&str>) -> Vec<&'a str> {
    let mut out = Vec::new();
    let Some(v) = resource.as_object().and_then(|m| get_ci(m, name)) else {
        return out;
    };
    match sub {
        None => match v {
            Value::String(s) => out.push(s.as_str()),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.as_str()),
                        Value::Object(o) => {
                            if let Some(Value::String(s)) = get_ci(o, "value") {
                                out.push(s.as_str());
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        },
        Some(sub) => {
            let mut read = |o: &'a Map<String, Value>| match get_ci(o, sub) {
                Some(Value::String(s)) => out.push(s.as_str()),
                Some(Value::Array(items)) => {
                    out.extend(items.iter().filter_map(Value::as_str));
                }
                _ => {}
            };
            match v {
                Value::Object(o) => read(o),
                Value::Array(items) => items.iter().filter_map(Value::as_object).for_each(read),
                _ => {}
            }
        }
    }
    out
}

/// The search document: object keys ASCII-lower-cased, recursively; and whether two keys of
/// one object collided.
pub fn search_doc(v: &Value) -> (Value, bool) {
    let mut ambiguous = false;
    let doc = lower_keys(v, &mut ambiguous);
    (doc, ambiguous)
}

fn lower_keys(v: &Value, ambiguous: &mut bool) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if out
                    .insert(k.to_ascii_lowercase(), lower_keys(v, ambiguous))
                    .is_some()
                {
                    *ambiguous = true;
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| lower_keys(i, ambiguous)).collect())
        }
        other => other.clone(),
    }
}

/// A text key that sorts as the instant does: seconds shifted to be positive (years 0 to
/// 9999, any offset) in 13 digits, then 9 digits of nanoseconds.
///
/// ```
/// use scim_filter::Instant;
/// let key = |t| scim_store_layout::instant_key(Instant::parse(t).unwrap());
/// assert_eq!(key("2024-01-15T12:00:00Z"), key("2024-01-15T06:00:00-06:00"));
/// assert!(key("2024-01-15T12:00:00.5Z") > key("2024-01-15T12:00:00Z"));
/// ```
pub fn instant_key(instant: Instant) -> String {
    format!(
        "{:013}{:09}",
        instant.unix_seconds().saturating_add(1_000_000_000_000),
        instant.subsec_nanos()
    )
}

/// What filters compare of `meta.<sub>` (`sub`: `created` or `lastmodified`) in a search
/// document, as one [`instant_key`]: `Some(None)` when it holds no string, `Some(key)` when
/// its one string is a dateTime; `None` otherwise (several strings, or one that is no
/// dateTime and compares as text): such a resource is left to the engine.
///
/// ```
/// use serde_json::json;
/// use scim_store_layout::time_key;
/// let doc = json!({"meta": {"lastmodified": "2024-01-15T12:00:00Z"}});
/// assert!(matches!(time_key(&doc, "lastmodified"), Some(Some(_))));
/// assert_eq!(time_key(&doc, "created"), Some(None));
/// assert_eq!(time_key(&json!({"meta": {"created": "yesterday"}}), "created"), None);
/// ```
pub fn time_key(search: &Value, sub: &str) -> Option<Option<String>> {
    match text_values(search, "meta", Some(sub)).as_slice() {
        [] => Some(None),
        [one] => Instant::parse(one).map(|i| Some(instant_key(i))),
        _ => None,
    }
}

/// A search document (as text) with every string Unicode-lower-cased as the evaluator folds
/// (`str::to_lowercase`), keys kept: what case-insensitive comparisons read in a store
/// whose SQL cannot fold as Rust does.
///
/// ```
/// let f = scim_store_layout::folded(r#"{"n":[1,"ΑΣ"],"username":"ÉCOLE"}"#).unwrap();
/// assert_eq!(f, r#"{"n":[1,"ας"],"username":"école"}"#);
/// ```
pub fn folded(search: &str) -> Result<String, StoreError> {
    fn fold(v: &mut Value) {
        match v {
            Value::String(s) => *s = s.to_lowercase(),
            Value::Array(items) => items.iter_mut().for_each(fold),
            Value::Object(m) => m.values_mut().for_each(fold),
            _ => {}
        }
    }
    let mut doc: Value = serde_json::from_str(search).map_err(unavailable)?;
    fold(&mut doc);
    serde_json::to_string(&doc).map_err(unavailable)
}

fn meta_time(resource: &Value, key: &str) -> Option<String> {
    resource
        .get("meta")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// One out-of-line element as stored.
pub struct Element {
    /// The JSON as given.
    pub element: String,
    /// The JSON with its keys lower-cased (what filters read).
    pub search: String,
    /// The `value` Unicode-lower-cased, when the element is an object with a string `value`.
    pub value_key: Option<String>,
}

impl Element {
    /// `element` as given and as its search form.
    pub fn of(element: &Value, search: &Value) -> Result<Element, StoreError> {
        Ok(Element {
            element: serde_json::to_string(element).map_err(unavailable)?,
            search: serde_json::to_string(search).map_err(unavailable)?,
            value_key: search
                .get("value")
                .and_then(Value::as_str)
                .map(str::to_lowercase),
        })
    }
}

/// The out-of-line attribute of one resource: its key as spelled and its elements in order.
pub struct OutOfLine {
    /// The attribute's key as the resource spells it (`members`, `Members`).
    pub key: String,
    /// The elements, in order.
    pub elements: Vec<Element>,
}

/// What a write stores besides the id and version.
pub struct Row {
    /// The document without its out-of-line attribute.
    pub resource: String,
    /// Its search form.
    pub search: String,
    /// The `attr_index` keys.
    pub keys: Vec<(&'static str, String)>,
    /// Two keys of one object differ only in case (the engine filters such a resource).
    pub ambiguous: bool,
    /// Some element is not an object with a string `value`, or the attribute is kept inline
    /// because it is not an array: the `value_key` shortcut is not exact for this resource.
    pub irregular: bool,
    /// `meta.created`, when given.
    pub created: Option<String>,
    /// `meta.lastModified`, when given.
    pub last_modified: Option<String>,
    /// [`time_key`] of `meta.created` and of `meta.lastModified`.
    pub time_keys: [Option<Option<String>>; 2],
    /// The elements kept out of line, when the attribute is an array.
    pub out_of_line: Option<OutOfLine>,
}

/// The keys of `m` that name `attr` (ASCII case-insensitively).
fn keys_named(m: &Map<String, Value>, attr: &str) -> Vec<String> {
    m.keys()
        .filter(|k| k.eq_ignore_ascii_case(attr))
        .cloned()
        .collect()
}

impl Row {
    /// The row for `resource` with id `id`; `ool` names the attribute kept out of line (an
    /// array under exactly one spelling of the key goes out of line; anything else stays in
    /// the document and marks the row irregular).
    ///
    /// The search form leaves out the `hidden` attributes (secrets): nothing derived from a
    /// password reaches a searchable column or an index.
    pub fn of(
        resource: &Value,
        id: &str,
        ool: Option<&str>,
        hidden: &[Hidden],
    ) -> Result<Row, StoreError> {
        Ok(Row::of_capped(resource, id, ool, hidden, usize::MAX)?.0)
    }

    /// [`Row::of`], with the [`keys`](Row::keys) of a label that has more than `cap`
    /// distinct keys left out; those labels come second, each with its keys ([`Capped`]).
    /// Linear in the size of the resource.
    ///
    /// ```
    /// use scim_store_layout::Row;
    /// let user = serde_json::json!({"userName": "u",
    ///     "emails": [{"value": "a@x"}, {"value": "b@x"}, {"value": "c@x"}]});
    /// let (row, over) = Row::of_capped(&user, "1", None, &[], 2)?;
    /// assert_eq!(row.keys, vec![("username", "u".to_owned())]);
    /// let keys = vec!["a@x".to_owned(), "b@x".to_owned(), "c@x".to_owned()];
    /// assert_eq!(over, vec![("emails.value", keys)]);
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn of_capped(
        resource: &Value,
        id: &str,
        ool: Option<&str>,
        hidden: &[Hidden],
        cap: usize,
    ) -> Result<(Row, Vec<Capped>), StoreError> {
        // A hidden attribute that index keys or times are read from is stripped before
        // they are: left to the general path.
        let reads_hidden = hidden.iter().any(|h| {
            h.urn.is_none()
                && (h.name == "id"
                    || h.name == "meta"
                    || INDEXED.iter().any(|(name, _, _)| *name == h.name))
        });
        let text = if ool.is_none() && !reads_hidden {
            DocText::of(resource)?
        } else {
            None
        };
        if let Some(text) = text {
            // The search form is never built: its text is written from the document's, and
            // what is read of it is read from the document, keys compared without case.
            let (keys, over) = capped_keys(
                |name, sub| text_values_ci(resource, name, sub),
                resource.as_object().and_then(|m| get_ci(m, "id")),
                id,
                cap,
            );
            let time = |sub: &str| match text_values_ci(resource, "meta", Some(sub)).as_slice() {
                [] => Some(None),
                [one] => Instant::parse(one).map(|i| Some(instant_key(i))),
                _ => None,
            };
            return Ok((
                Row {
                    search: text.search(hidden)?,
                    resource: text.text,
                    keys,
                    ambiguous: false,
                    irregular: false,
                    created: meta_time(resource, "created"),
                    last_modified: meta_time(resource, "lastModified"),
                    time_keys: [time("created"), time("lastmodified")],
                    out_of_line: None,
                },
                over,
            ));
        }
        let (mut search, ambiguous) = search_doc(resource);
        strip_hidden(&mut search, hidden);
        let mut doc = None;
        let mut out_of_line = None;
        let mut irregular = false;
        if let (Some(attr), Value::Object(m)) = (ool, resource) {
            let names = keys_named(m, attr);
            match names.as_slice() {
                [key] if m.get(key).is_some_and(Value::is_array) => {
                    let lower = attr.to_ascii_lowercase();
                    let found = search.as_object_mut().and_then(|s| s.remove(&lower));
                    let (Some(Value::Array(given)), Some(Value::Array(lowered))) =
                        (m.get(key), found)
                    else {
                        return Err(StoreError::Unavailable("search document mismatch".into()));
                    };
                    let mut elements = Vec::with_capacity(given.len());
                    for (e, s) in given.iter().zip(&lowered) {
                        let element = Element::of(e, s)?;
                        irregular |= element.value_key.is_none();
                        elements.push(element);
                    }
                    let mut head = m.clone();
                    head.remove(key);
                    doc = Some(Value::Object(head));
                    out_of_line = Some(OutOfLine {
                        key: key.clone(),
                        elements,
                    });
                }
                [] => {}
                _ => irregular = true,
            }
        }
        let (keys, over) = capped_keys(
            |name, sub| text_values(&search, name, sub),
            search.get("id"),
            id,
            cap,
        );
        Ok((
            Row {
                resource: serde_json::to_string(doc.as_ref().unwrap_or(resource))
                    .map_err(unavailable)?,
                search: serde_json::to_string(&search).map_err(unavailable)?,
                keys,
                ambiguous,
                irregular,
                created: meta_time(resource, "created"),
                last_modified: meta_time(resource, "lastModified"),
                time_keys: [
                    time_key(&search, "created"),
                    time_key(&search, "lastmodified"),
                ],
                out_of_line,
            },
            over,
        ))
    }
}

/// An attribute whose values never reach the search form: a `returned: never` attribute
/// (or sub-attribute), as lower-cased keys of the search document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    /// The extension's URN, for an extension attribute.
    urn: Option<String>,
    name: String,
    sub: Option<String>,
}

/// The [`Hidden`] attributes of the resource type `rt`: its
/// [`hidden`](scim_core::StoredType::hidden) ones, as keys of the search document.
///
/// ```
/// let schema = scim_core::StoreSchema::of(&scim_schema::Registry::standard());
/// assert_eq!(scim_store_layout::hidden_of(&schema, "User").len(), 1);
/// assert!(scim_store_layout::hidden_of(&schema, "Group").is_empty());
/// ```
pub fn hidden_of(schema: &StoreSchema, rt: &str) -> Vec<Hidden> {
    let lower = |s: &str| s.to_ascii_lowercase();
    schema.get(rt).map_or_else(Vec::new, |t| {
        t.hidden
            .iter()
            .map(|p| Hidden {
                urn: p.urn.as_deref().map(lower),
                name: lower(&p.name),
                sub: p.sub_attr.as_deref().map(lower),
            })
            .collect()
    })
}

/// Removes the `hidden` attributes from a search document (keys already lower-cased).
fn strip_hidden(search: &mut Value, hidden: &[Hidden]) {
    for h in hidden {
        let base = match &h.urn {
            None => Some(&mut *search),
            Some(urn) => search.get_mut(urn.as_str()),
        };
        let Some(Value::Object(base)) = base else {
            continue;
        };
        match &h.sub {
            None => {
                base.remove(&h.name);
            }
            Some(sub) => match base.get_mut(&h.name) {
                Some(Value::Object(o)) => {
                    o.remove(sub);
                }
                Some(Value::Array(items)) => {
                    for item in items {
                        if let Value::Object(o) = item {
                            o.remove(sub);
                        }
                    }
                }
                _ => {}
            },
        }
    }
}

/// `resource` without any spelling of `attr` (a head, [`scim_core::Store::get_head`]).
pub fn without(mut resource: Value, attr: &str) -> Value {
    if let Value::Object(m) = &mut resource {
        for k in keys_named(m, attr) {
            m.remove(&k);
        }
    }
    resource
}

/// A new resource id nobody can guess from another: with `time_ordered`, a version-7 UUID
/// (the creation millisecond, read from the system clock, then 74 random bits; see
/// [`scim_core::secret::time_ordered_uuid`]), which lands at the end of every index keyed
/// by id instead of on a random page; else a random version-4 one.
///
/// ```
/// let entropy = scim_core::secret::default_entropy();
/// let id = scim_store_layout::new_id(&*entropy, true)?;
/// assert_eq!(&id[14..15], "7");
/// assert_eq!(&scim_store_layout::new_id(&*entropy, false)?[14..15], "4");
/// # Ok::<(), scim_core::StoreError>(())
/// ```
pub fn new_id(entropy: &dyn Entropy, time_ordered: bool) -> Result<String, StoreError> {
    let id = if time_ordered {
        // A clock before 1970 gives 0: the id is still unique, only not in order.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        time_ordered_uuid(entropy, now)
    } else {
        random_uuid(entropy)
    };
    id.map_err(|e| StoreError::Unavailable(format!("no id: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_values_follow_the_evaluator_shapes() {
        let (doc, _) = search_doc(&json!({
            "userName": ["a", {"value": "b"}, ["c"], 3],
            "displayName": {"value": "not complex: ignored"},
            "emails": [{"value": "x@y"}, {"VALUE": ["p", 1, "q"]}, "scalar"],
        }));
        assert_eq!(text_values(&doc, "username", None), vec!["a", "b"]);
        assert!(text_values(&doc, "displayname", None).is_empty());
        assert_eq!(
            text_values(&doc, "emails", Some("value")),
            vec!["x@y", "p", "q"]
        );
        assert!(text_values(&doc, "externalid", None).is_empty());
    }

    #[test]
    fn index_keys_fold_case_and_skip_a_regular_id() {
        let (doc, _) = search_doc(&json!({"id": "I", "userName": "ÉCOLE",
            "emails": [{"value": "A@x"}, {"value": "a@X"}]}));
        assert_eq!(
            index_keys(&doc, "I"),
            vec![("username", "école".into()), ("emails.value", "a@x".into())]
        );
        // An `id` that is not the row id is indexed as an exception.
        assert_eq!(index_keys(&doc, "other"), {
            let mut k = index_keys(&doc, "I");
            k.push(("id", "i".into()));
            k
        });
    }

    /// 25,000 emails, each also given in upper case and once more: one key per email, in
    /// order of first occurrence (the quadratic dedup this replaced took seconds here).
    #[test]
    fn index_keys_of_many_emails_keep_first_occurrences() {
        const N: usize = 25_000;
        let emails: Vec<Value> = (0..N)
            .flat_map(|i| {
                let v = format!("User.{i}@Example.com");
                [
                    json!({"value": v.clone()}),
                    json!({"value": v.to_uppercase()}),
                ]
            })
            .chain(
                (0..N)
                    .rev()
                    .map(|i| json!({"value": format!("user.{i}@example.com")})),
            )
            .collect();
        let (doc, _) = search_doc(&json!({"id": "I", "userName": "U",
            "displayName": "u", "emails": emails}));
        let keys = index_keys(&doc, "I");
        let mut expected = vec![
            ("username", "u".to_owned()),
            ("displayname", "u".to_owned()),
        ];
        expected.extend((0..N).map(|i| ("emails.value", format!("user.{i}@example.com"))));
        assert_eq!(keys, expected);
    }

    #[test]
    fn members_go_out_of_line_only_as_one_array() {
        let group = json!({"displayName": "g", "Members": [{"value": "U1"}, {"display": "x"}]});
        let row = Row::of(&group, "g1", Some("members"), &[]).expect("row");
        let ool = row.out_of_line.expect("out of line");
        assert_eq!(ool.key, "Members");
        assert_eq!(ool.elements[0].value_key.as_deref(), Some("u1"));
        assert!(ool.elements[1].value_key.is_none());
        assert!(row.irregular);
        assert!(!row.resource.contains("Members") && !row.search.contains("members"));

        let inline = Row::of(
            &json!({"members": {"value": "x"}}),
            "g",
            Some("members"),
            &[],
        )
        .expect("row");
        assert!(inline.out_of_line.is_none() && inline.irregular);
        assert!(inline.resource.contains("members"));

        let user = Row::of(&json!({"members": []}), "u", None, &[]).expect("row");
        assert!(user.out_of_line.is_none() && !user.irregular);
    }

    /// [`Row::of`] as it was written before its fast path: the search document built, then
    /// read.
    fn reference_row(resource: &Value, id: &str, hidden: &[Hidden]) -> Row {
        let (mut search, ambiguous) = search_doc(resource);
        strip_hidden(&mut search, hidden);
        Row {
            resource: serde_json::to_string(resource).expect("text"),
            search: serde_json::to_string(&search).expect("text"),
            keys: index_keys(&search, id),
            ambiguous,
            irregular: false,
            created: meta_time(resource, "created"),
            last_modified: meta_time(resource, "lastModified"),
            time_keys: [
                time_key(&search, "created"),
                time_key(&search, "lastmodified"),
            ],
            out_of_line: None,
        }
    }

    fn same(a: &Row, b: &Row) {
        assert_eq!(a.resource, b.resource);
        assert_eq!(a.search, b.search);
        assert_eq!(a.keys, b.keys);
        assert_eq!(a.ambiguous, b.ambiguous);
        assert_eq!(a.irregular, b.irregular);
        assert_eq!(
            (&a.created, &a.last_modified),
            (&b.created, &b.last_modified)
        );
        assert_eq!(a.time_keys, b.time_keys);
    }

    fn hidden(urn: Option<&str>, name: &str, sub: Option<&str>) -> Hidden {
        Hidden {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        }
    }

    mod fast_path {
        use super::*;
        use proptest::prelude::*;

        fn key() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "userName",
                "USERNAME",
                "username",
                "emails",
                "Emails",
                "value",
                "VALUE",
                "type",
                "Type",
                "id",
                "ID",
                "meta",
                "Meta",
                "created",
                "lastModified",
                "LASTMODIFIED",
                "displayName",
                "externalId",
                "password",
                "Password",
                "x",
                "Zeta",
                "alpha",
                "_",
                "urn:x:Ext",
                "urn:X:ext",
                "secret",
                "Secret",
            ])
            .prop_map(str::to_owned)
        }

        fn leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                prop::sample::select(vec![
                    "a",
                    "A",
                    "ÉCOLE",
                    "école",
                    "b@X",
                    "2024-01-15T12:00:00Z",
                    "2024-01-15T06:00:00-06:00",
                    "yesterday",
                    "",
                    "ΑΣ",
                ])
                .prop_map(Value::from),
                any::<i32>().prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
                Just(Value::Null),
            ]
        }

        fn doc() -> impl Strategy<Value = Value> {
            let tree = leaf().prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec((key(), inner), 0..6)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            });
            prop::collection::vec((key(), tree), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect()))
        }

        fn hiddens() -> impl Strategy<Value = Vec<Hidden>> {
            prop::sample::subsequence(
                vec![
                    hidden(None, "password", None),
                    hidden(Some("urn:x:ext"), "secret", None),
                    hidden(None, "x", Some("secret")),
                    hidden(Some("urn:x:ext"), "x", Some("value")),
                    hidden(None, "emails", Some("type")),
                    hidden(None, "emails", Some("value")),
                    hidden(None, "username", None),
                ],
                0..4,
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// The fast path writes exactly what building the search document wrote.
            #[test]
            fn rows_equal_the_reference(
                resource in doc(),
                id in prop::sample::select(vec!["a", "A", "1"]),
                hidden in hiddens(),
            ) {
                let fast = Row::of(&resource, id, None, &hidden).expect("row");
                same(&fast, &reference_row(&resource, id, &hidden));
            }
        }
    }

    #[test]
    fn capped_rows_leave_out_the_labels_over_the_cap() {
        let user = json!({"userName": "U", "id": "1", "password": "secret",
            "emails": [{"value": "A@x"}, {"value": "a@X"}, {"value": "b@x"}]});
        let hide = [hidden(None, "password", None)];
        // Two distinct keys (three values): at the cap, indexed.
        let (row, over) = Row::of_capped(&user, "1", None, &hide, 2).expect("row");
        assert!(over.is_empty());
        same(&row, &reference_row(&user, "1", &hide));
        let (row, over) = Row::of_capped(&user, "1", None, &hide, 1).expect("row");
        // With every key folded, repeats kept: what the Bloom filter is made of.
        let folded = vec!["a@x".to_owned(), "a@x".to_owned(), "b@x".to_owned()];
        assert_eq!(over, vec![("emails.value", folded.clone())]);
        assert_eq!(row.keys, vec![("username", "u".to_owned())]);
        assert!(!row.search.contains("secret"));
        // The general path (a key duplicated by case) caps the same way.
        let mut odd = user.clone();
        odd["USERNAME"] = json!("v");
        let (row, over) = Row::of_capped(&odd, "1", None, &hide, 1).expect("row");
        assert!(row.ambiguous);
        assert_eq!(over, vec![("emails.value", folded)]);
        assert_eq!(row.keys.len(), 1);
    }

    #[test]
    fn indexed_labels_are_case_insensitive() {
        assert_eq!(indexed_label("USERNAME", None), Some("username"));
        assert_eq!(indexed_label("Emails", Some("VALUE")), Some("emails.value"));
        assert_eq!(indexed_label("emails", None), None);
        assert_eq!(indexed_label("title", None), None);
    }
}
