//! Object keys compared as SCIM compares attribute names: case-insensitively (RFC 7643
//! §2.1). A resource never holds two keys that differ only in case: a write to a key spelt
//! another way goes to the key already there. (A PATCH value that itself spells one name
//! twice is refused before it gets here: `scim_schema::check_distinct_names`.)

use serde_json::Value;

use crate::journal::Object;

/// The key of `o` that names `name`, as `o` spells it.
pub(crate) fn existing<'a>(o: &'a Object, name: &str) -> Option<&'a String> {
    o.keys().find(|k| k.eq_ignore_ascii_case(name))
}

/// The value of `o` under `name`, however either spells it.
pub(crate) fn get<'a>(o: &'a Object, name: &str) -> Option<&'a Value> {
    existing(o, name).and_then(|k| o.get(k))
}

/// Sets `name` to `v` in place of every key spelt like it: under `canonical` (the schema's
/// spelling) when known, else the spelling `o` already uses, else `name`.
pub(crate) fn insert(o: &mut Object, name: &str, canonical: Option<&str>, v: Value) {
    let old = remove(o, name);
    let key = canonical
        .map(str::to_owned)
        .or(old)
        .unwrap_or_else(|| name.to_owned());
    o.insert(key, v);
}

/// Removes every key spelt like `name`; returns the (first) spelling removed.
pub(crate) fn remove(o: &mut Object, name: &str) -> Option<String> {
    let spelt: Vec<String> = o
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    for k in &spelt {
        o.remove(k);
    }
    spelt.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Object {
        match v {
            Value::Object(o) => o,
            _ => Object::new(),
        }
    }

    #[test]
    fn writes_merge_into_the_key_spelt_otherwise() {
        let mut o = object(json!({"givenName": "a", "x": 1}));
        insert(&mut o, "GIVENNAME", None, json!("b"));
        assert_eq!(Value::Object(o.clone()), json!({"givenName": "b", "x": 1}));
        insert(&mut o, "GIVENNAME", Some("givenName"), json!("c"));
        insert(&mut o, "Y", Some("y"), json!(2));
        assert_eq!(
            Value::Object(o.clone()),
            json!({"givenName": "c", "x": 1, "y": 2})
        );
        assert_eq!(get(&o, "X"), Some(&json!(1)));
        assert_eq!(remove(&mut o, "gIvEnNaMe").as_deref(), Some("givenName"));
        assert_eq!(Value::Object(o), json!({"x": 1, "y": 2}));
    }
}
