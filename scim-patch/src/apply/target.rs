//! Resolving a path to the attribute it names (`Target`), and the checks on what may be
//! written there: mutability, immutable sub-attributes, the schema's type of the value.

use scim_filter::{AttrPath, ScimType};
use scim_schema::{AttrType, Attribute, Location, Mutability, ResourceTypeRef};
use serde_json::Value;

use super::{present, Run};
use crate::error::{invalid_path, invalid_value, mutability, PatchError};
use crate::journal::{container, get, Object, Slot};
use crate::keys;
use crate::outcome::{Normalization, NormalizationKind};

/// An attribute resolved for patching.
pub(super) struct Target<'a> {
    pub(super) slot: Slot,
    /// The schema definition (schema-less: `None`).
    pub(super) def: Option<&'a Attribute>,
    /// The attribute path for messages and the delta.
    pub(super) display: String,
    /// The path used for value validation (without sub-attribute).
    pub(super) path: AttrPath,
}

impl Target<'_> {
    pub(super) fn multi_valued(&self, current: Option<&Value>, value: Option<&Value>) -> bool {
        match self.def {
            Some(d) => d.multi_valued,
            None => {
                matches!(current, Some(Value::Array(_)))
                    || (current.is_none() && matches!(value, Some(Value::Array(_))))
            }
        }
    }

    pub(super) fn complex(&self, current: Option<&Value>, value: &Value) -> bool {
        match self.def {
            Some(d) => d.attr_type == AttrType::Complex,
            None => matches!(current, Some(Value::Object(_))) && value.is_object(),
        }
    }
}

/// The refusal of a change to the immutable `path` (validation's wording for a PUT).
pub(super) fn immutable_changed(path: String) -> PatchError {
    mutability(
        scim_schema::Issue {
            path,
            kind: scim_schema::IssueKind::Immutable,
        }
        .to_string(),
    )
}

/// RFC 7643 §2.2, RFC 7644 §3.5.2: an immutable sub-attribute may be given a value where it
/// has none, never a different one. Refuses when `new` (a complex value or an element of
/// `def` after the operation; `None` for none) changes an immutable sub-attribute that `old`
/// has a value for.
pub(super) fn check_immutable_subs(
    def: Option<&Attribute>,
    old: &Value,
    new: Option<&Object>,
    display: &str,
) -> Result<(), PatchError> {
    let (Some(def), Value::Object(old)) = (def, old) else {
        return Ok(());
    };
    for sub in def
        .sub_attributes
        .iter()
        .filter(|s| s.mutability == Mutability::Immutable)
    {
        let was = keys::get(old, &sub.name);
        if present(was) && was != new.and_then(|n| keys::get(n, &sub.name)) {
            return Err(immutable_changed(format!("{display}.{}", sub.name)));
        }
    }
    Ok(())
}

impl<'r> Run<'_, 'r> {
    pub(super) fn rt(&self) -> Option<&ResourceTypeRef<'r>> {
        self.p.rt.as_ref()
    }

    /// Resolves the attribute of `path` (its sub-attribute is handled by the caller).
    pub(super) fn target(&self, map: &Object, path: &AttrPath) -> Result<Target<'r>, PatchError> {
        let top = AttrPath {
            urn: path.urn.clone(),
            name: path.name.clone(),
            sub_attr: None,
        };
        let (ext, name, def) = match self.p.rt {
            Some(rt) => {
                let resolved = rt.resolve(&top).ok_or_else(|| {
                    invalid_path(format!(
                        "`{top}` is not an attribute of {}",
                        rt.definition().name
                    ))
                })?;
                if let Some(sub) = &path.sub_attr {
                    if resolved.attribute.sub_attribute(sub).is_none() {
                        return Err(invalid_path(format!(
                            "`{path}` is not an attribute of {}",
                            rt.definition().name
                        )));
                    }
                }
                let ext = match resolved.location {
                    Location::Extension(s) => Some(s.id.clone()),
                    _ => None,
                };
                (
                    ext,
                    resolved.attribute.name.clone(),
                    Some(resolved.attribute),
                )
            }
            None => {
                let ext = match &path.urn {
                    Some(urn) if !urn.to_ascii_lowercase().contains(":core:") => Some(
                        map.keys()
                            .find(|k| k.eq_ignore_ascii_case(urn))
                            .cloned()
                            .unwrap_or_else(|| urn.clone()),
                    ),
                    _ => None,
                };
                (ext, path.name.clone(), None)
            }
        };
        // Keep the spelling the resource already uses, for the extension object too (a
        // second key spelt otherwise would make the resource ambiguous).
        let ext = ext.map(|e| keys::existing(map, &e).cloned().unwrap_or(e));
        let key = container(map, ext.as_deref())
            .and_then(|o| o.keys().find(|k| k.eq_ignore_ascii_case(&name)).cloned())
            .unwrap_or(name);
        let display = match &ext {
            Some(e) => format!("{e}:{key}"),
            None => key.clone(),
        };
        Ok(Target {
            slot: Slot { ext, key },
            def,
            display,
            path: top,
        })
    }

    /// Checks the value against the schema; returns it normalised.
    pub(super) fn validated(
        &mut self,
        index: usize,
        path: &AttrPath,
        value: &Value,
    ) -> Result<Value, PatchError> {
        let Some(rt) = self.p.rt else {
            return Ok(value.clone());
        };
        match rt.validate_value(path, value.clone(), &self.p.options.validation) {
            Ok(v) => {
                self.normalizations
                    .extend(v.coercions.into_iter().map(|c| Normalization {
                        operation: index,
                        kind: NormalizationKind::Value(c),
                    }));
                Ok(v.resource)
            }
            Err(e) if e.scim_type() == ScimType::Mutability => Err(mutability(e.to_string())),
            Err(e) => Err(invalid_value(e.to_string())),
        }
    }

    pub(super) fn check_writable(
        &self,
        map: &Object,
        target: &Target<'_>,
        sub: Option<&Attribute>,
        display: &str,
    ) -> Result<(), PatchError> {
        for def in [target.def, sub].into_iter().flatten() {
            match def.mutability {
                Mutability::ReadOnly => {
                    return Err(mutability(format!("`{display}` is readOnly")));
                }
                Mutability::Immutable if present(get(map, &target.slot)) && sub.is_none() => {
                    return Err(mutability(format!(
                        "`{display}` is immutable and already has a value"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }
}
