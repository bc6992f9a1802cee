//! Attribute names in JSON documents: SCIM compares them case-insensitively (RFC 7643
//! §2.1), so a key spelled `USERNAME` holds `userName`. One lookup for every crate.

use serde_json::{Map, Value};

/// The value of attribute `name` in `object`: the key spelled exactly, else the first key
/// equal to it ignoring ASCII case (attribute names are ASCII, RFC 7643 §2.1).
///
/// ```
/// let doc = serde_json::json!({"USERNAME": "bjensen", "name": {"givenName": "Barbara"}});
/// let doc = doc.as_object().unwrap();
/// assert_eq!(scim_filter::names::get(doc, "userName"), Some(&serde_json::json!("bjensen")));
/// assert!(scim_filter::names::get(doc, "title").is_none());
/// ```
pub fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// [`get`], for changing the value.
///
/// ```
/// let mut doc = serde_json::json!({"Title": "a"});
/// let doc = doc.as_object_mut().unwrap();
/// *scim_filter::names::get_mut(doc, "title").unwrap() = serde_json::json!("b");
/// assert_eq!(doc["Title"], "b");
/// ```
pub fn get_mut<'a>(object: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = if object.contains_key(name) {
        name.to_owned()
    } else {
        object
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))?
            .clone()
    };
    object.get_mut(&key)
}

/// [`get`] on a value that may not be an object (`None` then).
///
/// ```
/// let doc = serde_json::json!({"Emails": []});
/// assert!(scim_filter::names::get_in(&doc, "emails").is_some());
/// assert!(scim_filter::names::get_in(&serde_json::json!(3), "emails").is_none());
/// ```
pub fn get_in<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    get(value.as_object()?, name)
}

/// [`get_mut`] on a value that may not be an object (`None` then).
pub fn get_in_mut<'a>(value: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    get_mut(value.as_object_mut()?, name)
}
