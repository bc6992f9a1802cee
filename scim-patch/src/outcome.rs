//! What a successful PATCH reports: whether anything changed, a structured delta, and the
//! normalisations a profile made.

use serde_json::Value;

use scim_schema::Coercion;

/// The result of [`Patcher::apply`](crate::Patcher::apply). The patched resource is the one
/// passed in, changed in place.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct PatchOutcome {
    /// Whether the resource differs from before (when not, a host can skip the write and
    /// keep the version).
    pub changed: bool,
    /// What changed.
    pub delta: Delta,
    /// What the profile and schema leniency normalised.
    pub normalizations: Vec<Normalization>,
}

/// The changes of one PATCH, per attribute: enough for a host to apply a membership change
/// without rewriting a whole group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    /// One entry per attribute touched, in the order first touched.
    pub changes: Vec<AttributeChange>,
}

impl Delta {
    /// The change recorded for `path` (as the delta spells it, e.g. `members`).
    ///
    /// ```
    /// let delta = scim_patch::Delta::default();
    /// assert!(delta.get("members").is_none());
    /// ```
    pub fn get(&self, path: &str) -> Option<&AttributeChange> {
        self.changes
            .iter()
            .find(|c| c.path.eq_ignore_ascii_case(path))
    }

    pub(crate) fn entry(&mut self, path: &str) -> &mut AttributeChange {
        let i = match self.changes.iter().position(|c| c.path == path) {
            Some(i) => i,
            None => {
                self.changes.push(AttributeChange {
                    path: path.to_owned(),
                    kind: ChangeKind::Modified,
                    added: Vec::new(),
                    removed: Vec::new(),
                });
                self.changes.len() - 1
            }
        };
        &mut self.changes[i]
    }
}

/// How an attribute changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// It had no value and now has one.
    Added,
    /// Its value was replaced or modified in place.
    Modified,
    /// It has no value any more.
    Removed,
}

/// The change to one attribute. For multi-valued attributes `added` and `removed` list the
/// values that came and went (e.g. members).
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeChange {
    /// The attribute, e.g. `members`, `name`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`.
    pub path: String,
    /// How it changed overall.
    pub kind: ChangeKind,
    /// Values added to a multi-valued attribute.
    pub added: Vec<Value>,
    /// Values removed from a multi-valued attribute.
    pub removed: Vec<Value>,
}

/// A deviation from the RFC the applier accepted because a profile or leniency allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalization {
    /// The operation index.
    pub operation: usize,
    /// What was normalised.
    pub kind: NormalizationKind,
}

/// The kinds of [`Normalization`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NormalizationKind {
    /// `op` in another case (`"Replace"`).
    OpCase,
    /// `remove` with a value list removed just those values.
    RemoveWithValue,
    /// `add` through an unmatched value filter created the value from the filter.
    CreatedFromFilter,
    /// A dotted or URN-qualified key in a no-path value was read as a path.
    PathKey(String),
    /// `id` in a no-path value was ignored.
    IgnoredId,
    /// An unqualified or dot-separated extension path was read as this qualified path.
    QualifiedPath(String),
    /// A value was coerced by schema leniency.
    Value(Coercion),
}
