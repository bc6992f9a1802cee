//! From a filter and a sort to SQLite SQL over the search document (the resource with its
//! object keys ASCII-lower-cased), with the exact semantics of `scim_filter::CompiledFilter`.
//!
//! The walk over the filter's resolved form ([`scim_filter::ResolvedNode`]), the algebra of
//! exact and superset fragments and the choice of index lookups are
//! [`scim_store_sql`]'s, shared with the PostgreSQL store; this module is the SQLite
//! [`Dialect`]: JSON read with `json_each`/`json_extract`/`json_tree`, strings folded by
//! `scim_lower` (Rust's `to_lowercase`), dateTimes compared through `scim_instant`, and
//! the lookups' SQL.
//!
//! Every literal and every JSON path is a bound parameter (`?N`); the SQL text holds only
//! what this module writes. A filter node that cannot be translated exactly becomes
//! [`scim_store_sql::Frag::All`] (or makes its parent a superset), and the engine finishes
//! in memory.
//!
//! Shortcuts read indexes instead of documents, with the same answers: `eq` (and `sw`
//! when case-insensitive) on an attribute of the `attr_index` side table
//! ([`crate::layout::INDEXED`]) or on `members.value` (column `value_key`), and `id eq` on
//! the primary key; `co` and `ew` on a case-insensitive attribute of that side table read
//! the trigram index ([`crate::trigrams`]) and confirm on the keys. The out-of-line
//! attribute (`members` of a group) is read from the `members` table wherever the document
//! would have been read.

use rusqlite::types::Value as SqlValue;

use scim_filter::{Condition, Location};
use scim_store_sql::{Attr, Dialect, Frag, KeyTest, Lookup, Scope};

mod lookups;
mod nodes;
mod order;
mod predicates;

pub(crate) use order::order_by;

/// Leaves SQLite's default limit on bound parameters (32,766) well out of reach.
pub(crate) const MAX_PARAMS: usize = 30_000;

/// The parameters holding the tenant and the resource type: a statement's first two.
const TENANT: &str = "?1";
const RESOURCE_TYPE: &str = "?2";
/// Parameters numbered from 1, shared by the whole statement; a statement that uses the
/// translation binds the tenant as `?1` and the resource type as `?2`.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub(crate) values: Vec<SqlValue>,
}

impl Params {
    pub(crate) fn push(&mut self, v: impl Into<SqlValue>) -> String {
        self.values.push(v.into());
        format!("?{}", self.values.len())
    }
}

/// The SQLite dialect of the translation, writing its parameters to a [`Params`].
pub(crate) struct Sqlite<'a> {
    pub(crate) params: &'a mut Params,
    /// The `attr_index` labels some resource of the type is `capped` for
    /// ([`crate::write_keys`]): such a resource has no rows there, and the lookups of these
    /// labels also read its document.
    pub(crate) capped: &'a [String],
}

impl Dialect for Sqlite<'_> {
    const TRUE: &'static str = "1";
    const FALSE: &'static str = "0";
    const MAX_PARAMS: usize = MAX_PARAMS;

    fn mark(&self) -> usize {
        self.params.values.len()
    }

    fn rollback(&mut self, mark: usize) {
        self.params.values.truncate(mark);
    }

    fn present(&mut self, scope: &mut Scope<'_>, r: &Attr<'_>) -> Option<String> {
        self.present_sql(scope, r)
    }

    fn compare<'r>(
        &mut self,
        scope: &mut Scope<'_>,
        r: Attr<'r>,
        condition: &'r Condition,
    ) -> Frag<'r> {
        self.value_condition(scope, r, condition)
    }

    fn elements(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        out_of_line: bool,
        frame: &str,
        inner: &str,
    ) -> Option<String> {
        self.value_path(scope, r, out_of_line, frame, inner)
    }

    fn lookup_rows(&mut self, scope: &mut Scope<'_>, lookup: &Lookup<'_>) -> (String, String) {
        self.rows(scope, lookup)
    }

    fn key_test(&mut self, column: &str, keys: KeyTest) -> String {
        self.keys(column, keys)
    }

    fn listed_ids(&mut self, ids: Vec<String>) -> String {
        let list = self.params.push(serde_json::Value::from(ids).to_string());
        format!("SELECT value FROM json_each({list})")
    }

    fn holds_text(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        values: Vec<String>,
    ) -> Option<String> {
        self.holds(scope, r, values)
    }
}

/// A JSON path label: `$."name"`. Names that SQLite's path syntax cannot quote are refused.
fn label(name: &str) -> Option<String> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        return None;
    }
    Some(format!("\"{}\"", name.to_ascii_lowercase()))
}

impl Sqlite<'_> {
    /// SQL for the JSON path of the attribute (without its sub-attribute) in `doc`.
    fn attr_path(&mut self, r: &Attr<'_>, doc: &str) -> Option<String> {
        let name = label(r.name)?;
        Some(match r.location {
            Location::Core | Location::Element => self.params.push(format!("$.{name}")),
            Location::Extension(urn) => self.params.push(format!("$.{}.{name}", label(urn)?)),
            Location::ExtensionOrCore(urn) => {
                let urn = label(urn)?;
                let u = self.params.push(format!("$.{urn}"));
                let root = self.params.push(format!("$.{name}"));
                let ext = self.params.push(format!("$.{urn}.{name}"));
                // No such key: the core attributes; any other value: the extension (which
                // finds nothing unless it is an object).
                format!("CASE WHEN json_type({doc}, {u}) IS NULL THEN {root} ELSE {ext} END")
            }
            // `Foreign` names nothing (the callers answer it first); a location this
            // translation does not know is left to the engine.
            _ => return None,
        })
    }
}
