//! What a resource becomes before the store sees it: new secrets hashed, identifiers checked
//! and keyed for uniqueness. Every write path (create, replace, PATCH, out-of-line PATCH,
//! the group clean-up after a delete) goes through [`Engine::seal`].

use scim_schema::{AttrType, ResourceTypeRef, Uniqueness};
use serde_json::Value;

use super::{Engine, Result};
use crate::secret::{get_ci, get_ci_mut, hash_secrets, holds_secret, secret_strings};
use crate::store::UniqueKey;
use crate::{ScimError, ScimType, Store};

impl<S: Store> Engine<S> {
    /// Hashes every `returned: never` value that `previous` (the stored resource being
    /// replaced, if any) does not hold already, checks the `uniqueness: server` values
    /// (trimming them when [`Config::trim_identifiers`](crate::Config::trim_identifiers) is
    /// on), and returns their [`UniqueKey`]s. Runs after the `before_*` hooks, which see the
    /// cleartext.
    pub(crate) fn seal(
        &self,
        rt: &ResourceTypeRef<'_>,
        resource: &mut Value,
        previous: Option<&Value>,
    ) -> Result<Vec<UniqueKey>> {
        self.hash_secrets(rt, resource, previous)?;
        self.identifiers(rt, resource, previous)
    }

    /// Hashes the secrets `previous` does not hold already (those are its stored hashes).
    fn hash_secrets(
        &self,
        rt: &ResourceTypeRef<'_>,
        resource: &mut Value,
        previous: Option<&Value>,
    ) -> Result<()> {
        let kept: Vec<&str> = previous.map(|p| secret_strings(rt, p)).unwrap_or_default();
        hash_secrets(rt, resource, &*self.config.passwords, &|s| {
            kept.contains(&s)
        })
        .map_err(|e| ScimError::internal().with_cause(format!("storing a secret: {e}")))
    }

    /// Checks (or trims) the `uniqueness: server|global` strings of the core schema that
    /// differ from `previous` (a stored value is not refused again) and returns their keys.
    fn identifiers(
        &self,
        rt: &ResourceTypeRef<'_>,
        resource: &mut Value,
        previous: Option<&Value>,
    ) -> Result<Vec<UniqueKey>> {
        let mut keys = Vec::new();
        for a in rt
            .core_schema()
            .attributes
            .iter()
            .filter(|a| is_identifier(a))
        {
            let before = previous
                .and_then(|p| get_ci(p, &a.name))
                .and_then(Value::as_str);
            let Some(Value::String(v)) = get_ci_mut(resource, &a.name) else {
                continue;
            };
            if before == Some(v.as_str()) {
                keys.push(UniqueKey::normalised(a.name.clone(), v, a.case_exact));
                continue;
            }
            if self.config.trim_identifiers {
                let trimmed = v.trim_matches(|c: char| c.is_whitespace() || invisible(c));
                if trimmed.len() != v.len() {
                    *v = trimmed.to_owned();
                }
            }
            check_identifier(&a.name, v)?;
            keys.push(UniqueKey::normalised(a.name.clone(), v, a.case_exact));
        }
        Ok(keys)
    }
}

/// Whether `a` is one of the identifiers [`Engine::seal`] keys for uniqueness.
fn is_identifier(a: &scim_schema::Attribute) -> bool {
    a.uniqueness != Uniqueness::None && a.attr_type == AttrType::String && !a.multi_valued
}

/// What [`Engine::stamp`] and [`Engine::seal`] read of a stored resource they are given
/// as `previous`: `meta`, the extensions' objects, and the core attributes that hold a
/// secret or are unique identifiers, under every spelling of their keys. Both give the same
/// answers with this view as with the whole resource, which a PATCH then need not copy (a
/// user with 25,000 emails is megabytes of JSON).
pub(crate) fn sealed_view(rt: &ResourceTypeRef<'_>, stored: &Value) -> Value {
    let Value::Object(m) = stored else {
        return stored.clone();
    };
    let core = rt.core_schema();
    let read = |key: &str| {
        key.eq_ignore_ascii_case("meta")
            || rt.extension(key).is_some()
            || core
                .attribute(key)
                .is_some_and(|a| holds_secret(a) || is_identifier(a))
    };
    Value::Object(
        m.iter()
            .filter(|(k, _)| read(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Refuses an identifier a person could not tell from another: whitespace at either end,
/// control characters, invisible (default-ignorable) characters anywhere, or nothing at all.
fn check_identifier(name: &str, v: &str) -> Result<()> {
    let problem = if v.is_empty() {
        Some("is empty")
    } else if v.starts_with(char::is_whitespace) || v.ends_with(char::is_whitespace) {
        Some("begins or ends with whitespace")
    } else if v.chars().any(char::is_control) {
        Some("contains a control character")
    } else if v.chars().any(invisible) {
        Some("contains an invisible character")
    } else {
        None
    };
    match problem {
        Some(p) => Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("`{name}` {p}: identifiers must be visible text without padding"),
        )),
        None => Ok(()),
    }
}

/// Controls and Unicode's default-ignorable code points (zero-width spaces and joiners,
/// bidi controls, the soft hyphen, variation selectors, tags): characters that render as
/// nothing, so two identifiers differing only by them look the same.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
            | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn identifiers_with_padding_or_invisible_characters_are_refused() {
        for bad in [
            " bob",
            "bob ",
            "bob\t",
            "bob\u{0}",
            "b\u{200B}ob",
            "\u{FEFF}bob",
            "bob\u{A0}",
            "b\u{2066}ob",
            "",
            "bo\nb",
        ] {
            let e = check_identifier("userName", bad).unwrap_err();
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some(ScimType::InvalidValue)),
                "{bad:?}"
            );
        }
        for good in [
            "bob",
            "Bob Smith",
            "jos\u{e9}",
            "\u{ff42}ob",
            "b.o-b_1@example.com",
        ] {
            assert!(check_identifier("userName", good).is_ok(), "{good:?}");
        }
    }
}
