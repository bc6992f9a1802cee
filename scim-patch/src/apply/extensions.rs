//! Extension URNs: paths qualified with the extension that defines them (IdP profiles)
//! before the operations run, and `schemas` aligned with the extensions' data after.

use scim_filter::AttrPath;
use serde_json::Value;

use super::{has_data, has_urn_prefix, Patcher, Run};
use crate::error::{invalid_value, PatchError};
use crate::journal::{Object, Slot};
use crate::keys;
use crate::message::PatchOperation;
use crate::outcome::{Normalization, NormalizationKind};

impl Patcher<'_> {
    /// The extensions `map` could hold: each URN (the schema's spelling; schema-less, the
    /// `urn:` keys outside `:core:` holding objects) and whether the resource must have it.
    fn extensions(&self, map: &Object) -> Vec<(String, bool)> {
        match self.rt {
            Some(rt) => rt
                .extensions()
                .map(|(s, required)| (s.id.clone(), required))
                .collect(),
            None => map
                .iter()
                .filter(|(k, v)| {
                    v.is_object()
                        && k.len() > 4
                        && has_urn_prefix(k)
                        && !k.to_ascii_lowercase().contains(":core:")
                })
                .map(|(k, _)| (k.clone(), false))
                .collect(),
        }
    }

    /// The URNs of the extensions `map` has data for.
    pub(super) fn extensions_with_data(&self, map: &Object) -> Vec<String> {
        self.extensions(map)
            .into_iter()
            .filter(|(urn, _)| keys::get(map, urn).is_some_and(has_data))
            .map(|(urn, _)| urn)
            .collect()
    }

    /// With [`Profile::loose_extension_paths`](crate::Profile::loose_extension_paths): the
    /// operations with their extension paths qualified, or `None` when none needed it.
    pub(super) fn qualify_extension_paths(
        &self,
        ops: &[PatchOperation],
        normalizations: &mut Vec<Normalization>,
    ) -> Option<Vec<PatchOperation>> {
        let rt = self.rt.as_ref()?;
        if !self.options.profile.loose_extension_paths {
            return None;
        }
        let mut out: Option<Vec<PatchOperation>> = None;
        for (i, op) in ops.iter().enumerate() {
            let Some(path) = &op.path else { continue };
            let resolves = match path.attr.sub_attr {
                None => rt.resolve(&path.attr).is_some(),
                Some(_) => rt
                    .resolve(&AttrPath {
                        urn: path.attr.urn.clone(),
                        name: path.attr.name.clone(),
                        sub_attr: None,
                    })
                    .is_some(),
            };
            if resolves {
                continue;
            }
            let qualified = match &path.attr.urn {
                // `manager`: the one extension that defines it.
                None => {
                    let mut owners = rt.extensions().map(|(s, _)| s).filter(|s| {
                        s.attributes
                            .iter()
                            .any(|a| a.name.eq_ignore_ascii_case(&path.attr.name))
                    });
                    match (owners.next(), owners.next()) {
                        (Some(ext), None) => AttrPath {
                            urn: Some(ext.id.clone()),
                            name: path.attr.name.clone(),
                            sub_attr: path.attr.sub_attr.clone(),
                        },
                        _ => continue,
                    }
                }
                // `urn:…:2.0:User.manager` parses as urn `urn:…:2.0`, name `User`, sub `manager`.
                Some(urn) => match (
                    &path.attr.sub_attr,
                    rt.extension(&format!("{urn}:{}", path.attr.name)),
                ) {
                    (Some(sub), Some(ext)) => AttrPath {
                        urn: Some(ext.id.clone()),
                        name: sub.clone(),
                        sub_attr: None,
                    },
                    _ => continue,
                },
            };
            if rt
                .resolve(&AttrPath {
                    sub_attr: None,
                    ..qualified.clone()
                })
                .is_none()
            {
                continue;
            }
            normalizations.push(Normalization {
                operation: i,
                kind: NormalizationKind::QualifiedPath(qualified.to_string()),
            });
            let ops = out.get_or_insert_with(|| ops.to_vec());
            if let Some(p) = ops[i].path.as_mut() {
                p.attr = qualified;
            }
        }
        out
    }
}

impl Run<'_, '_> {
    /// After all operations, `schemas` follows the extensions' data (RFC 7643 §3: it lists
    /// the schemas the resource's attributes come from, so that the resource is a valid PUT
    /// body): an extension that gained data is listed; one that had data before the request
    /// and has none now loses its listing (refused for a required extension, as removing a
    /// required attribute is); an empty extension object goes. Nothing is done for a request
    /// that changed nothing; `schemas` is changed only where it is an array.
    pub(super) fn align_extension_urns(
        &mut self,
        map: &mut Object,
        had_data: &[String],
    ) -> Result<(), PatchError> {
        if self.journal.is_empty() {
            return Ok(());
        }
        let mut extensions = self.p.extensions(map);
        for urn in had_data {
            if !extensions.iter().any(|(e, _)| e.eq_ignore_ascii_case(urn)) {
                extensions.push((urn.clone(), false));
            }
        }
        for (urn, required) in extensions {
            let key = keys::existing(map, &urn).cloned();
            let had = had_data.iter().any(|h| h.eq_ignore_ascii_case(&urn));
            let has = key.as_ref().and_then(|k| map.get(k)).is_some_and(has_data);
            if has {
                if !had {
                    self.list_schema(map, &urn, true);
                }
                continue;
            }
            if had && required {
                return Err(invalid_value(format!(
                    "`{urn}` is required: its last attribute cannot be removed"
                )));
            }
            // An empty extension object goes, whoever left it.
            if let Some(key) = key {
                self.journal.set(map, &Slot { ext: None, key }, None);
            }
            if had {
                self.list_schema(map, &urn, false);
            }
        }
        Ok(())
    }

    /// Adds `urn` to `schemas` (`listed`) or takes it out, when not so already.
    pub(super) fn list_schema(&mut self, map: &mut Object, urn: &str, listed: bool) {
        let Some(key) = keys::existing(map, "schemas").cloned() else {
            return;
        };
        let Some(Value::Array(items)) = map.get(&key) else {
            return;
        };
        let names = |v: &Value| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn));
        if items.iter().any(names) == listed {
            return;
        }
        let mut new = items.clone();
        if listed {
            new.push(Value::String(urn.to_owned()));
        } else {
            new.retain(|v| !names(v));
        }
        self.journal
            .set(map, &Slot { ext: None, key }, Some(Value::Array(new)));
    }
}
