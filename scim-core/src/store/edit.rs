//! [`ResourceEdit`]: a write that changed a few elements of one large multi-valued
//! attribute, described so that a store can apply it in place
//! ([`Store::replace_edited`](super::Store::replace_edited)).

use std::ops::Range;

use serde_json::{Map, Value};

/// A PATCH's result for a resource with a large multi-valued attribute, when the engine
/// patched only some of its elements (a user's 25,000 emails, one of which changed): the
/// whole new document as text, and what changed in it.
///
/// The text is the new document exactly (compact JSON, keys in order). `head` and
/// `elements` say the same thing in parts: the new top-level members other than
/// `attribute`, and the new values of the elements at the given positions of `attribute`
/// (every other element is as stored, at its position; the array's length is unchanged).
/// A store that keeps the document as a tree applies the parts; one that keeps text stores
/// `text`.
///
/// ```
/// use scim_core::ResourceEdit;
/// use serde_json::json;
/// let mut head = serde_json::Map::new();
/// head.insert("userName".into(), json!("bjensen"));
/// let edit = ResourceEdit {
///     text: r#"{"emails":[{"value":"a@x"},{"value":"c@x"}],"userName":"bjensen"}"#.into(),
///     attribute: "emails".into(),
///     elements: vec![(1, json!({"value": "c@x"}))],
///     head,
///     range: 10..43,
/// };
/// assert_eq!(&edit.text[edit.range.clone()], r#"[{"value":"a@x"},{"value":"c@x"}]"#);
/// let mut stored = json!({"emails": [{"value": "a@x"}, {"value": "b@x"}], "userName": "b"});
/// assert!(edit.apply_to(&mut stored));
/// assert_eq!(stored.to_string(), edit.text);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceEdit {
    /// The new document's JSON text.
    pub text: String,
    /// The multi-valued attribute's key, as the document spells it.
    pub attribute: String,
    /// The new values of elements of `attribute`, by position.
    pub elements: Vec<(usize, Value)>,
    /// The new top-level members other than `attribute` (those not here are gone).
    pub head: Map<String, Value>,
    /// Where in `text` the array of `attribute` is (from its `[` to its `]`).
    pub range: Range<usize>,
}

impl ResourceEdit {
    /// Applies the edit to `resource`, the document it was made from (the version the
    /// write expects); `false`, with `resource` unchanged, when `resource` has no array
    /// under [`attribute`](ResourceEdit::attribute) long enough for the positions.
    pub fn apply_to(&self, resource: &mut Value) -> bool {
        let Value::Object(m) = resource else {
            return false;
        };
        let len = match m.get(&self.attribute) {
            Some(Value::Array(items)) => items.len(),
            _ => return false,
        };
        if self.elements.iter().any(|(i, _)| *i >= len) {
            return false;
        }
        let Some(Value::Array(mut items)) = m.remove(&self.attribute) else {
            return false;
        };
        for (i, element) in &self.elements {
            items[*i] = element.clone();
        }
        m.clear();
        m.extend(self.head.iter().map(|(k, v)| (k.clone(), v.clone())));
        m.insert(self.attribute.clone(), Value::Array(items));
        true
    }
}
