//! Where a resource holds secrets: the `returned: never` strings of its schemas (RFC 7643
//! §7), at the top level, in an extension's object, or as sub-attributes.

use scim_filter::AttrPath;
use scim_schema::{AttrType, Attribute, ResourceTypeRef, Returned};
use serde_json::Value;

use super::{Cleartext, PasswordScheme, SecretError};

/// Hashes with `scheme` every `returned: never` string of `resource` for which `keep` says
/// no (the engine keeps the values the stored resource had: they are hashes already; a
/// store's migration keeps what [`PasswordScheme::is_hash`] recognises).
///
/// ```
/// use scim_core::secret::{hash_secrets, secret_strings, Argon2Params, Argon2id, PasswordScheme};
/// # #[cfg(feature = "os-rng")] {
/// let scheme = Argon2id::new(Argon2Params::fast_for_tests(), scim_core::secret::default_entropy());
/// let registry = scim_schema::Registry::standard();
/// let users = registry.resource_type("User").unwrap();
/// let mut user = serde_json::json!({"userName": "bjensen", "password": "t1meMa$heen"});
/// hash_secrets(&users, &mut user, &scheme, &|_| false)?;
/// let stored = secret_strings(&users, &user);
/// assert!(stored.len() == 1 && scheme.is_hash(stored[0]));
/// # }
/// # Ok::<(), scim_core::secret::SecretError>(())
/// ```
pub fn hash_secrets(
    rt: &ResourceTypeRef<'_>,
    resource: &mut Value,
    scheme: &dyn PasswordScheme,
    keep: &dyn Fn(&str) -> bool,
) -> Result<(), SecretError> {
    for (urn, attrs) in scopes(rt) {
        let here = match urn {
            None => Some(&mut *resource),
            Some(urn) => get_ci_mut(resource, urn),
        };
        let Some(here) = here else { continue };
        for attr in attrs {
            if let Some(value) = get_ci_mut(here, &attr.name) {
                hash_value(attr, value, scheme, keep)?;
            }
        }
    }
    Ok(())
}

/// Every `returned: never` string `resource` holds (the stored hashes, for a stored one).
///
/// ```
/// let registry = scim_schema::Registry::standard();
/// let users = registry.resource_type("User").unwrap();
/// let user = serde_json::json!({"userName": "bjensen", "PASSWORD": "$argon2id$…"});
/// assert_eq!(scim_core::secret::secret_strings(&users, &user), ["$argon2id$…"]);
/// ```
pub fn secret_strings<'v>(rt: &ResourceTypeRef<'_>, resource: &'v Value) -> Vec<&'v str> {
    let mut out = Vec::new();
    for (urn, attrs) in scopes(rt) {
        let here = match urn {
            None => Some(resource),
            Some(urn) => get_ci(resource, urn),
        };
        let Some(here) = here else { continue };
        for attr in attrs {
            if let Some(value) = get_ci(here, &attr.name) {
                collect(attr, value, &mut out);
            }
        }
    }
    out
}

/// Whether `body` may carry a secret of any schema of `registry`: it spells (in any case)
/// the name of a `returned: never` string attribute. A cheap, conservative test: a body that
/// does not is sure to hold nothing to hash (RFC 7643 §2.1: names are case-insensitive, and
/// JSON cannot spell a key without its characters); one that does may.
///
/// ```
/// let registry = scim_schema::Registry::standard();
/// assert!(scim_core::secret::may_carry_secret(&registry, br#"{"PassWord": "x"}"#));
/// assert!(!scim_core::secret::may_carry_secret(&registry, br#"{"userName": "bjensen"}"#));
/// assert!(scim_core::secret::may_carry_secret(&registry, br#"{"pass\u0077ord": "x"}"#));
/// ```
pub fn may_carry_secret(registry: &scim_schema::Registry, body: &[u8]) -> bool {
    fn names<'a>(attrs: &'a [Attribute], out: &mut Vec<&'a str>) {
        for a in attrs {
            if is_secret(a) {
                out.push(&a.name);
            }
            names(&a.sub_attributes, out);
        }
    }
    if body.is_empty() {
        return false;
    }
    // A key may also be spelled with `\u` escapes: such a body may carry anything.
    if body.windows(2).any(|w| w == b"\\u") {
        return true;
    }
    let mut secret = Vec::new();
    for schema in registry.schemas() {
        names(&schema.attributes, &mut secret);
    }
    secret.iter().any(|name| {
        let name = name.as_bytes();
        !name.is_empty()
            && body
                .windows(name.len())
                .any(|w| w.eq_ignore_ascii_case(name))
    })
}

/// Whether `attr` is, or has below it, a `returned: never` string.
pub(crate) fn holds_secret(attr: &Attribute) -> bool {
    is_secret(attr) || attr.sub_attributes.iter().any(holds_secret)
}

/// Whether `attr` is a secret: a `returned: never` string.
pub(crate) fn is_secret(attr: &Attribute) -> bool {
    attr.attr_type == AttrType::String && attr.returned == Returned::Never
}

/// Per schema of `rt` (core: `None`, extension: its URN), its attributes that hold secrets.
fn scopes<'r>(rt: &ResourceTypeRef<'r>) -> Vec<(Option<&'r str>, Vec<&'r Attribute>)> {
    let core = std::iter::once((None, rt.core_schema()));
    let extensions = rt.extensions().map(|(s, _)| (Some(s.id.as_str()), s));
    core.chain(extensions)
        .map(|(urn, s)| {
            (
                urn,
                s.attributes
                    .iter()
                    .filter(|a| holds_secret(a))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, attrs)| !attrs.is_empty())
        .collect()
}

/// Hashes with `scheme` every string at `paths` (attributes or sub-attributes, an
/// extension's with its URN: [`StoredType::secrets`](crate::StoredType::secrets)) of
/// `resource` for which `keep` says no: [`hash_secrets`] for a store that knows where the
/// secrets are but holds no schema (a migration hashing what an older layout kept in clear).
///
/// ```
/// use scim_core::secret::{hash_secrets_at, PasswordScheme};
/// # #[cfg(feature = "os-rng")] {
/// let scheme = scim_core::secret::Argon2id::new(
///     scim_core::secret::Argon2Params::fast_for_tests(),
///     scim_core::secret::default_entropy(),
/// );
/// let mut user = serde_json::json!({"userName": "bjensen", "PassWord": "t1meMa$heen"});
/// hash_secrets_at(&[scim_filter::AttrPath::new("password")], &mut user, &scheme, &|_| false)?;
/// assert!(user["PassWord"].as_str().is_some_and(|h| scheme.is_hash(h)));
/// # }
/// # Ok::<(), scim_core::secret::SecretError>(())
/// ```
pub fn hash_secrets_at(
    paths: &[AttrPath],
    resource: &mut Value,
    scheme: &dyn PasswordScheme,
    keep: &dyn Fn(&str) -> bool,
) -> Result<(), SecretError> {
    for path in paths {
        let here = match &path.urn {
            None => Some(&mut *resource),
            Some(urn) => get_ci_mut(resource, urn),
        };
        let Some(value) = here.and_then(|h| get_ci_mut(h, &path.name)) else {
            continue;
        };
        match &path.sub_attr {
            None => hash_strings(value, scheme, keep)?,
            Some(sub) => {
                for object in objects_mut(value) {
                    if let Some(v) = get_ci_mut(object, sub) {
                        hash_strings(v, scheme, keep)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The objects a sub-attribute is looked for in: the elements of an array, or the value.
fn objects_mut(value: &mut Value) -> Vec<&mut Value> {
    match value {
        Value::Array(items) => items.iter_mut().collect(),
        other => vec![other],
    }
}

/// Hashes `value` (a string, or each string of an array) unless `keep` says no.
fn hash_strings(
    value: &mut Value,
    scheme: &dyn PasswordScheme,
    keep: &dyn Fn(&str) -> bool,
) -> Result<(), SecretError> {
    let hash = |s: &mut String| -> Result<(), SecretError> {
        if !keep(s) {
            *s = scheme.hash(&Cleartext::new(s))?;
        }
        Ok(())
    };
    match value {
        Value::String(s) => hash(s)?,
        Value::Array(items) => {
            for item in items {
                if let Value::String(s) = item {
                    hash(s)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn hash_value(
    attr: &Attribute,
    value: &mut Value,
    scheme: &dyn PasswordScheme,
    keep: &dyn Fn(&str) -> bool,
) -> Result<(), SecretError> {
    if is_secret(attr) {
        return hash_strings(value, scheme, keep);
    }
    for object in objects_mut(value) {
        for sub in attr.sub_attributes.iter().filter(|a| holds_secret(a)) {
            if let Some(v) = get_ci_mut(object, &sub.name) {
                hash_value(sub, v, scheme, keep)?;
            }
        }
    }
    Ok(())
}

fn collect<'v>(attr: &Attribute, value: &'v Value, out: &mut Vec<&'v str>) {
    if is_secret(attr) {
        match value {
            Value::String(s) => out.push(s),
            Value::Array(items) => out.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
        return;
    }
    let objects: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for object in objects {
        for sub in attr.sub_attributes.iter().filter(|a| holds_secret(a)) {
            if let Some(v) = get_ci(object, &sub.name) {
                collect(sub, v, out);
            }
        }
    }
}

pub(crate) use scim_filter::names::{get_in as get_ci, get_in_mut as get_ci_mut};
