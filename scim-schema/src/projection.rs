//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) with the `returned`
//! characteristic (RFC 7643 §7): which attributes a response shows.

use serde_json::Value;

use scim_filter::{AttrPath, ParseError};

use crate::attribute::find;
use crate::{Attribute, ResourceTypeRef, Returned};

type Object = serde_json::Map<String, Value>;

/// A malformed `attributes` / `excludedAttributes` entry (scimType `invalidPath`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid attribute list entry `{entry}`: {source}")]
pub struct ProjectionError {
    /// The entry.
    pub entry: String,
    /// The parse error.
    #[source]
    pub source: ParseError,
}

impl ProjectionError {
    /// Always `invalidPath`.
    pub fn scim_type(&self) -> scim_filter::ScimType {
        scim_filter::ScimType::InvalidPath
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Top level (core schema or common attributes).
    Root,
    /// Inside the extension object with this id.
    Extension(String),
    /// The whole extension object with this id.
    WholeExtension(String),
}

#[derive(Debug, Clone)]
struct Selector {
    scope: Scope,
    name: String,
    sub: Option<String>,
}

impl Selector {
    fn is(&self, scope: &Scope, name: &str) -> bool {
        self.scope == *scope && self.name.eq_ignore_ascii_case(name)
    }
}

/// Which attributes a response shows: the `attributes` or `excludedAttributes` of a
/// request resolved against a resource type. Parse once per request, apply per resource.
///
/// - `returned: never` attributes (`password`) are never shown;
/// - `returned: always` attributes (`id`) are always shown, and `schemas` too;
/// - `returned: request` attributes only when listed in `attributes`;
/// - sub-attributes (`name.givenName`, `members.display`) and URN-qualified names
///   (`urn:…:enterprise:2.0:User:department`, or a whole extension by its URN) are honoured.
///
/// ```
/// use scim_schema::{Projection, Registry};
/// use scim_filter::AttrPath;
/// let registry = Registry::standard();
/// let groups = registry.resource_type("Group").unwrap();
/// let p = Projection::parse(&groups, None, Some("members.display"))?;
/// let group = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
///     "id": "g", "displayName": "Admins",
///     "members": [{"value": "u1", "display": "Babs"}]});
/// assert_eq!(p.apply(&group)["members"], serde_json::json!([{"value": "u1"}]));
/// // The engine can skip looking up member names:
/// assert!(!p.includes(&"members.display".parse::<AttrPath>().unwrap()));
/// assert!(p.includes(&"members.value".parse::<AttrPath>().unwrap()));
/// # Ok::<(), scim_schema::ProjectionError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Projection<'r> {
    rt: ResourceTypeRef<'r>,
    include: Option<Vec<Selector>>,
    exclude: Vec<Selector>,
}

impl<'r> Projection<'r> {
    /// The default projection: everything but `returned: never` and `returned: request`.
    pub fn default_for(rt: &ResourceTypeRef<'r>) -> Self {
        Projection {
            rt: *rt,
            include: None,
            exclude: Vec::new(),
        }
    }

    /// Parses comma-separated `attributes` and `excludedAttributes` lists. When both are
    /// given, `attributes` selects and `excludedAttributes` then removes from the selection.
    pub fn parse(
        rt: &ResourceTypeRef<'r>,
        attributes: Option<&str>,
        excluded_attributes: Option<&str>,
    ) -> Result<Self, ProjectionError> {
        let list = |text: Option<&str>| -> Result<Vec<Selector>, ProjectionError> {
            let Some(text) = text else {
                return Ok(Vec::new());
            };
            text.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(|entry| {
                    let path = AttrPath::parse(entry).map_err(|source| ProjectionError {
                        entry: entry.to_owned(),
                        source,
                    })?;
                    Ok(selector(rt, path))
                })
                .collect()
        };
        let include = match attributes {
            Some(a) if !a.trim().is_empty() => Some(list(Some(a))?),
            _ => None,
        };
        Ok(Projection {
            rt: *rt,
            include,
            exclude: list(excluded_attributes)?,
        })
    }

    /// The resource as the response should show it.
    pub fn apply(&self, resource: &Value) -> Value {
        self.apply_owned(resource.clone())
    }

    /// [`Projection::apply`] to a resource the caller gives away: what is not shown is
    /// removed in place, nothing is copied (a user with 25,000 emails is not rebuilt).
    ///
    /// ```
    /// use scim_schema::{Projection, Registry};
    /// let registry = Registry::standard();
    /// let users = registry.resource_type("User").unwrap();
    /// let p = Projection::parse(&users, Some("userName"), None)?;
    /// let shown = p.apply_owned(serde_json::json!({
    ///     "id": "1", "userName": "bjensen", "password": "t1meMa$heen", "title": "Tour Guide"}));
    /// assert_eq!(shown, serde_json::json!({"id": "1", "userName": "bjensen"}));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_owned(&self, mut resource: Value) -> Value {
        let Value::Object(obj) = &mut resource else {
            return resource;
        };
        let rt = self.rt;
        obj.retain(|key, value| {
            if key.eq_ignore_ascii_case("schemas") {
                return true;
            }
            if let Some(ext) = rt.extension(key) {
                let Value::Object(inner) = value else {
                    return false;
                };
                let whole = Scope::WholeExtension(ext.id.clone());
                if self.exclude.iter().any(|s| s.scope == whole) {
                    return false;
                }
                let whole_included = self
                    .include
                    .as_ref()
                    .is_some_and(|inc| inc.iter().any(|s| s.scope == whole));
                let scope = Scope::Extension(ext.id.clone());
                inner.retain(|k, v| {
                    let def = find(&ext.attributes, k);
                    self.attribute(&scope, k, def, v, whole_included)
                });
                return !inner.is_empty();
            }
            let def = find(rt.common_attributes(), key).or_else(|| rt.core_schema().attribute(key));
            self.attribute(&Scope::Root, key, def, value, false)
        });
        resource
    }

    /// Whether responses will show the attribute at `path` (for `a.b`, the sub-attribute):
    /// lets the engine skip work for attributes nobody will see.
    pub fn includes(&self, path: &AttrPath) -> bool {
        let sel = selector(&self.rt, path.clone());
        let (scope, whole_included) = match &sel.scope {
            Scope::WholeExtension(id) => {
                return !self.exclude.iter().any(|s| s.scope == sel.scope)
                    && self.include.as_ref().is_none_or(|inc| {
                        inc.iter().any(|s| {
                            s.scope == sel.scope || s.scope == Scope::Extension(id.clone())
                        })
                    });
            }
            Scope::Extension(id) => (
                sel.scope.clone(),
                self.include.as_ref().is_some_and(|inc| {
                    inc.iter()
                        .any(|s| s.scope == Scope::WholeExtension(id.clone()))
                }),
            ),
            Scope::Root => (Scope::Root, false),
        };
        let resolved = self.rt.resolve(path);
        let def = resolved.map(|r| r.attribute);
        let top = self.decide_top(&scope, &sel.name, def, whole_included);
        match (top, &sel.sub) {
            (Decision::Drop, _) => false,
            (_, None) => true,
            (decision, Some(sub)) => {
                let sub_def = def.and_then(|d| d.sub_attribute(sub));
                self.keep_sub(&scope, &sel.name, &decision, sub, sub_def)
            }
        }
    }

    /// How the top-level member `key` of a resource shows: `Some(true)` as it is,
    /// `Some(false)` not at all, `None` when that depends on its value (some of its
    /// sub-attributes are hidden, or it is an extension, decided attribute by attribute):
    /// then [`Projection::apply_owned`] to an object holding only that member says. Each
    /// member is projected on its own, so a resource can be shown member by member.
    ///
    /// ```
    /// use scim_schema::{Projection, Registry};
    /// let registry = Registry::standard();
    /// let users = registry.resource_type("User").unwrap();
    /// let p = Projection::default_for(&users);
    /// assert_eq!(p.shows_whole("emails"), Some(true));
    /// assert_eq!(p.shows_whole("password"), Some(false)); // returned: never
    /// let p = Projection::parse(&users, Some("emails.value"), None)?;
    /// assert_eq!(p.shows_whole("emails"), None); // only the `value` of each
    /// assert_eq!(p.shows_whole("id"), Some(true)); // returned: always
    /// # Ok::<(), scim_schema::ProjectionError>(())
    /// ```
    pub fn shows_whole(&self, key: &str) -> Option<bool> {
        if key.eq_ignore_ascii_case("schemas") {
            return Some(true);
        }
        if self.rt.extension(key).is_some() {
            return None;
        }
        let def =
            find(self.rt.common_attributes(), key).or_else(|| self.rt.core_schema().attribute(key));
        match self.decide_top(&Scope::Root, key, def, false) {
            Decision::Drop => Some(false),
            decision if self.shown_as_is(&Scope::Root, key, def, &decision) => Some(true),
            _ => None,
        }
    }

    /// Shown whole, with no sub-attribute hidden by its `returned` or excluded by name:
    /// every element is kept as it is.
    fn shown_as_is(
        &self,
        scope: &Scope,
        name: &str,
        def: Option<&Attribute>,
        decision: &Decision,
    ) -> bool {
        *decision == Decision::Whole
            && def.is_none_or(|d| {
                d.sub_attributes
                    .iter()
                    .all(|s| matches!(s.returned, Returned::Default | Returned::Always))
            })
            && !self
                .exclude
                .iter()
                .any(|s| s.sub.is_some() && s.is(scope, name))
    }

    /// Projects `value` in place; whether anything of it is shown.
    fn attribute(
        &self,
        scope: &Scope,
        name: &str,
        def: Option<&Attribute>,
        value: &mut Value,
        whole_included: bool,
    ) -> bool {
        match self.decide_top(scope, name, def, whole_included) {
            Decision::Drop => false,
            decision => self.filter_subs(scope, name, def, &decision, value),
        }
    }

    fn decide_top(
        &self,
        scope: &Scope,
        name: &str,
        def: Option<&Attribute>,
        whole_included: bool,
    ) -> Decision {
        let returned = def.map_or(Returned::Default, |d| d.returned);
        match returned {
            Returned::Never => return Decision::Drop,
            Returned::Always => return Decision::Whole,
            _ => {}
        }
        if self
            .exclude
            .iter()
            .any(|s| s.sub.is_none() && s.is(scope, name))
        {
            return Decision::Drop;
        }
        match &self.include {
            None if returned == Returned::Request => Decision::Drop,
            None => Decision::Whole,
            Some(_) if whole_included => Decision::Whole,
            Some(inc) => {
                if inc.iter().any(|s| s.sub.is_none() && s.is(scope, name)) {
                    Decision::Whole
                } else if inc.iter().any(|s| s.sub.is_some() && s.is(scope, name)) {
                    Decision::OnlySubs
                } else {
                    Decision::Drop
                }
            }
        }
    }

    fn keep_sub(
        &self,
        scope: &Scope,
        name: &str,
        decision: &Decision,
        sub: &str,
        sub_def: Option<&Attribute>,
    ) -> bool {
        let returned = sub_def.map_or(Returned::Default, |d| d.returned);
        let named = |list: &[Selector]| {
            list.iter().any(|s| {
                s.is(scope, name)
                    && s.sub
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(sub))
            })
        };
        match returned {
            Returned::Never => return false,
            Returned::Always => return true,
            _ => {}
        }
        if named(&self.exclude) {
            return false;
        }
        let requested = self.include.as_deref().is_some_and(named);
        match decision {
            Decision::OnlySubs => requested,
            _ => returned != Returned::Request || requested,
        }
    }

    /// Filters the value's sub-attributes in place; `false` when that leaves nothing of a
    /// value that had something: an element whose sub-attributes are all filtered out is
    /// left out, and so is the attribute when no element remains (`attributes=emails.display`
    /// shows no `{}` for an email without a display, and no `emails` when none has one).
    fn filter_subs(
        &self,
        scope: &Scope,
        name: &str,
        def: Option<&Attribute>,
        decision: &Decision,
        value: &mut Value,
    ) -> bool {
        // 25,000 emails shown as they are are not walked to find that out.
        if self.shown_as_is(scope, name, def, decision) {
            return true;
        }
        let project = |obj: &mut Object| -> bool {
            let had = !obj.is_empty();
            obj.retain(|k, _| {
                let sub_def = def.and_then(|d| d.sub_attribute(k));
                self.keep_sub(scope, name, decision, k, sub_def)
            });
            obj.is_empty() != had
        };
        match value {
            Value::Object(obj) => project(obj),
            Value::Array(items) => {
                let had = !items.is_empty();
                items.retain_mut(|item| match item {
                    Value::Object(obj) => project(obj),
                    _ => true,
                });
                items.is_empty() != had
            }
            _ => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Drop,
    /// Show it, filtering sub-attributes by their own `returned` and exclusions.
    Whole,
    /// Show only the requested sub-attributes (and `returned: always` ones).
    OnlySubs,
}

fn selector(rt: &ResourceTypeRef<'_>, path: AttrPath) -> Selector {
    let scope = match &path.urn {
        None => Scope::Root,
        Some(urn) if rt.is_core(urn) => Scope::Root,
        Some(urn) => match rt.extension_of(&path) {
            Some(ext) => Scope::WholeExtension(ext.id.clone()),
            None => Scope::Extension(
                rt.extension(urn)
                    .map_or_else(|| urn.clone(), |e| e.id.clone()),
            ),
        },
    };
    Selector {
        scope,
        name: path.name,
        sub: path.sub_attr,
    }
}
