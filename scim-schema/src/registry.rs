//! The registry: every schema and resource type a service knows, built once and shared.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use scim_filter::{AttrInfo, AttrPath, AttrSchema, CustomType, UrnLocation};

use crate::attribute::find;
use crate::{builtin, Attribute, ResourceType, Schema};

/// Why a [`RegistryBuilder`] could not build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Two schemas share an id.
    #[error("schema `{0}` is registered twice")]
    DuplicateSchema(String),
    /// Two resource types share a name or an endpoint.
    #[error("resource type name or endpoint `{0}` is registered twice")]
    DuplicateResourceType(String),
    /// A resource type names a schema that was not registered.
    #[error("resource type `{resource_type}` uses schema `{schema}`, which is not registered")]
    UnknownSchema {
        /// The resource type.
        resource_type: String,
        /// The missing schema.
        schema: String,
    },
    /// A custom type binding names an unknown schema, attribute or type.
    #[error("custom type binding `{0}` does not resolve")]
    BadCustomType(String),
}

/// Builds a [`Registry`].
///
/// ```
/// use scim_schema::{builtin, Registry};
/// let registry = Registry::builder()
///     .schema(builtin::user())
///     .schema(builtin::enterprise_user())
///     .resource_type(builtin::user_resource_type())
///     .build()?;
/// assert!(registry.resource_type("User").is_some());
/// # Ok::<(), scim_schema::BuildError>(())
/// ```
#[derive(Default)]
pub struct RegistryBuilder {
    schemas: Vec<Schema>,
    resource_types: Vec<ResourceType>,
    custom_types: HashMap<String, Arc<dyn CustomType>>,
    bindings: Vec<(String, String, String)>,
}

impl fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field("schemas", &self.schemas.len())
            .field("resource_types", &self.resource_types.len())
            .finish()
    }
}

impl RegistryBuilder {
    /// Adds a schema.
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schemas.push(schema);
        self
    }

    /// Adds a resource type.
    pub fn resource_type(mut self, resource_type: ResourceType) -> Self {
        self.resource_types.push(resource_type);
        self
    }

    /// Registers a host-defined value type under `name` (e.g. an E.164 phone number):
    /// validation refuses values it cannot normalise and filters compare normalised values.
    pub fn custom_type(mut self, name: impl Into<String>, custom: Arc<dyn CustomType>) -> Self {
        self.custom_types.insert(name.into(), custom);
        self
    }

    /// Binds attribute `path` (`name` or `name.sub`) of schema `schema_urn` to the custom
    /// type `type_name`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # #[derive(Debug)] struct Digits;
    /// # impl scim_filter::CustomType for Digits {
    /// #     fn name(&self) -> &str { "digits" }
    /// #     fn normalize(&self, v: &str) -> Option<String> { Some(v.chars().filter(char::is_ascii_digit).collect()) }
    /// # }
    /// use scim_schema::{builtin, urn, Registry};
    /// let registry = Registry::builder()
    ///     .schema(builtin::user())
    ///     .resource_type(scim_schema::ResourceType::new("User", "/Users", urn::USER))
    ///     .custom_type("digits", Arc::new(Digits))
    ///     .bind_custom_type(urn::USER, "phoneNumbers.value", "digits")
    ///     .build()?;
    /// # Ok::<(), scim_schema::BuildError>(())
    /// ```
    pub fn bind_custom_type(
        mut self,
        schema_urn: impl Into<String>,
        path: impl Into<String>,
        type_name: impl Into<String>,
    ) -> Self {
        self.bindings
            .push((schema_urn.into(), path.into(), type_name.into()));
        self
    }

    /// Checks the definitions and freezes them.
    pub fn build(mut self) -> Result<Registry, BuildError> {
        for (i, s) in self.schemas.iter().enumerate() {
            if self.schemas[..i]
                .iter()
                .any(|o| o.id.eq_ignore_ascii_case(&s.id))
            {
                return Err(BuildError::DuplicateSchema(s.id.clone()));
            }
        }
        for (schema_urn, path, type_name) in std::mem::take(&mut self.bindings) {
            let describe = || format!("{schema_urn}:{path} -> {type_name}");
            if !self.custom_types.contains_key(&type_name) {
                return Err(BuildError::BadCustomType(describe()));
            }
            let schema = self
                .schemas
                .iter_mut()
                .find(|s| s.id.eq_ignore_ascii_case(&schema_urn))
                .ok_or_else(|| BuildError::BadCustomType(describe()))?;
            let (name, sub) = match path.split_once('.') {
                Some((n, s)) => (n, Some(s)),
                None => (path.as_str(), None),
            };
            let attr = schema
                .attributes
                .iter_mut()
                .find(|a| a.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| BuildError::BadCustomType(describe()))?;
            let target = match sub {
                None => attr,
                Some(sub) => attr
                    .sub_attributes
                    .iter_mut()
                    .find(|a| a.name.eq_ignore_ascii_case(sub))
                    .ok_or_else(|| BuildError::BadCustomType(describe()))?,
            };
            target.custom_type = Some(type_name);
        }
        let mut entries = Vec::with_capacity(self.resource_types.len());
        for (i, rt) in self.resource_types.iter().enumerate() {
            for other in &self.resource_types[..i] {
                if other.name.eq_ignore_ascii_case(&rt.name) {
                    return Err(BuildError::DuplicateResourceType(rt.name.clone()));
                }
                if other.endpoint.eq_ignore_ascii_case(&rt.endpoint) {
                    return Err(BuildError::DuplicateResourceType(rt.endpoint.clone()));
                }
            }
            let index_of = |urn: &str| {
                self.schemas
                    .iter()
                    .position(|s| s.id.eq_ignore_ascii_case(urn))
                    .ok_or_else(|| BuildError::UnknownSchema {
                        resource_type: rt.name.clone(),
                        schema: urn.to_owned(),
                    })
            };
            let core = index_of(&rt.schema)?;
            let extensions = rt
                .schema_extensions
                .iter()
                .map(|e| Ok((index_of(&e.schema)?, e.required)))
                .collect::<Result<Vec<_>, BuildError>>()?;
            entries.push(Entry {
                resource_type: rt.clone(),
                core,
                extensions,
            });
        }
        Ok(Registry {
            inner: Arc::new(Inner {
                schemas: self.schemas,
                entries,
                common: builtin::common_attributes(),
                custom_types: self.custom_types,
            }),
        })
    }
}

/// Every schema and resource type a service knows. Built once with [`Registry::builder`];
/// cloning is cheap (a reference count).
///
/// ```
/// use scim_filter::{CompiledFilter, Filter};
/// let registry = scim_schema::Registry::standard();
/// let users = registry.resource_type("User").unwrap();
/// // `id` is caseExact in the schema, so this filter is case-sensitive.
/// let f = CompiledFilter::compile(&Filter::parse(r#"id eq "ABC""#)?, &users)?;
/// assert!(!f.matches(&serde_json::json!({"id": "abc"})));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    schemas: Vec<Schema>,
    entries: Vec<Entry>,
    common: Vec<Attribute>,
    custom_types: HashMap<String, Arc<dyn CustomType>>,
}

struct Entry {
    resource_type: ResourceType,
    core: usize,
    extensions: Vec<(usize, bool)>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field(
                "schemas",
                &self.inner.schemas.iter().map(|s| &s.id).collect::<Vec<_>>(),
            )
            .field(
                "resource_types",
                &self
                    .inner
                    .entries
                    .iter()
                    .map(|e| &e.resource_type.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Registry {
    /// A builder.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// User (with the Enterprise User extension) and Group, as RFC 7643 defines them.
    ///
    /// ```
    /// let r = scim_schema::Registry::standard();
    /// assert_eq!(r.resource_types().count(), 2);
    /// ```
    #[allow(clippy::expect_used)] // the built-in definitions are consistent (tested)
    pub fn standard() -> Registry {
        Self::standard_builder()
            .build()
            .expect("built-in definitions are consistent")
    }

    /// A builder preloaded with [`Registry::standard`]'s definitions, to add to.
    pub fn standard_builder() -> RegistryBuilder {
        Registry::builder()
            .schema(builtin::user())
            .schema(builtin::group())
            .schema(builtin::enterprise_user())
            .resource_type(builtin::user_resource_type())
            .resource_type(builtin::group_resource_type())
    }

    /// The schema with id `urn` (case-insensitive).
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.inner
            .schemas
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// All schemas.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.inner.schemas.iter()
    }

    /// The resource type called `name` (case-insensitive).
    pub fn resource_type(&self, name: &str) -> Option<ResourceTypeRef<'_>> {
        self.find_entry(|rt| rt.name.eq_ignore_ascii_case(name))
    }

    /// The resource type served at `endpoint` (e.g. `/Users` or `Users`).
    pub fn resource_type_by_endpoint(&self, endpoint: &str) -> Option<ResourceTypeRef<'_>> {
        let trimmed = endpoint.trim_start_matches('/');
        self.find_entry(|rt| {
            rt.endpoint
                .trim_start_matches('/')
                .eq_ignore_ascii_case(trimmed)
        })
    }

    /// All resource types.
    pub fn resource_types(&self) -> impl Iterator<Item = ResourceTypeRef<'_>> {
        self.inner.entries.iter().map(|entry| ResourceTypeRef {
            registry: self,
            entry,
        })
    }

    /// A host-registered custom type.
    pub fn custom_type(&self, name: &str) -> Option<&Arc<dyn CustomType>> {
        self.inner.custom_types.get(name)
    }

    fn find_entry(&self, pred: impl Fn(&ResourceType) -> bool) -> Option<ResourceTypeRef<'_>> {
        self.inner
            .entries
            .iter()
            .find(|e| pred(&e.resource_type))
            .map(|entry| ResourceTypeRef {
                registry: self,
                entry,
            })
    }
}

/// One resource type with its schemas, borrowed from a [`Registry`]. Implements
/// [`AttrSchema`] so filters compile against the real attribute characteristics.
#[derive(Clone, Copy)]
pub struct ResourceTypeRef<'r> {
    registry: &'r Registry,
    entry: &'r Entry,
}

impl fmt::Debug for ResourceTypeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResourceTypeRef")
            .field(&self.entry.resource_type.name)
            .finish()
    }
}

/// Where a resolved attribute lives.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Location<'r> {
    /// A common attribute (`id`, `externalId`, `meta`; RFC 7643 §3.1).
    Common,
    /// The core schema: top level of the resource.
    Core,
    /// An extension: inside the object keyed by this schema's id.
    Extension(&'r Schema),
}

/// An attribute path resolved against a resource type.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Resolved<'r> {
    /// Where the attribute lives.
    pub location: Location<'r>,
    /// The top-level attribute.
    pub attribute: &'r Attribute,
    /// The sub-attribute, for `name.sub` paths.
    pub sub_attribute: Option<&'r Attribute>,
}

impl<'r> Resolved<'r> {
    /// The attribute the path ends at (the sub-attribute when there is one).
    pub fn target(&self) -> &'r Attribute {
        self.sub_attribute.unwrap_or(self.attribute)
    }
}

impl<'r> ResourceTypeRef<'r> {
    /// The resource type definition.
    pub fn definition(&self) -> &'r ResourceType {
        &self.entry.resource_type
    }

    /// The registry this view comes from.
    pub fn registry(&self) -> &'r Registry {
        self.registry
    }

    /// The core schema.
    pub fn core_schema(&self) -> &'r Schema {
        &self.registry.inner.schemas[self.entry.core]
    }

    /// The extension schemas, each with whether it is required.
    pub fn extensions(&self) -> impl Iterator<Item = (&'r Schema, bool)> + 'r {
        let schemas = &self.registry.inner.schemas;
        self.entry
            .extensions
            .iter()
            .map(move |&(i, required)| (&schemas[i], required))
    }

    /// The extension schema with id `urn` (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&'r Schema> {
        self.extensions()
            .map(|(s, _)| s)
            .find(|s| s.id.len() == urn.len() && s.id.eq_ignore_ascii_case(urn))
    }

    /// Whether `urn` is the core schema's id.
    pub fn is_core(&self, urn: &str) -> bool {
        self.core_schema().id.eq_ignore_ascii_case(urn)
    }

    /// The common attributes (`id`, `externalId`, `meta`).
    pub fn common_attributes(&self) -> &'r [Attribute] {
        &self.registry.inner.common
    }

    /// Resolves `path` to its attribute definition: URN-qualified paths in the core schema
    /// or an extension, unqualified paths in the common attributes and the core schema.
    /// `None` for unknown attributes, and for a path naming a whole extension
    /// (see [`ResourceTypeRef::extension_of`]).
    ///
    /// ```
    /// let registry = scim_schema::Registry::standard();
    /// let users = registry.resource_type("User").unwrap();
    /// let p = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName".parse().unwrap();
    /// let r = users.resolve(&p).unwrap();
    /// assert_eq!(r.target().name, "displayName");
    /// assert!(users.resolve(&"name.nope".parse().unwrap()).is_none());
    /// ```
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved<'r>> {
        let (location, attributes): (Location<'r>, &'r [Attribute]) = match &path.urn {
            Some(urn) if self.is_core(urn) => {
                let core = &self.core_schema().attributes;
                if find(core, &path.name).is_some() {
                    (Location::Core, core.as_slice())
                } else {
                    (Location::Common, self.common_attributes())
                }
            }
            Some(urn) => {
                let ext = self.extension(urn)?;
                (Location::Extension(ext), ext.attributes.as_slice())
            }
            None => {
                if find(self.common_attributes(), &path.name).is_some() {
                    (Location::Common, self.common_attributes())
                } else {
                    (Location::Core, self.core_schema().attributes.as_slice())
                }
            }
        };
        let attribute = find(attributes, &path.name)?;
        let sub_attribute = match &path.sub_attr {
            Some(sub) => Some(attribute.sub_attribute(sub)?),
            None => None,
        };
        Some(Resolved {
            location,
            attribute,
            sub_attribute,
        })
    }

    /// When `path` names a whole extension (`urn:…:enterprise:2.0:User`), that extension.
    pub fn extension_of(&self, path: &AttrPath) -> Option<&'r Schema> {
        let urn = path.as_schema_urn()?;
        self.extension(&urn)
    }

    fn attr_info(&self, attr: &Attribute, multi_valued: bool) -> AttrInfo {
        let mut info = AttrInfo::new(attr.attr_type)
            .case_exact(attr.case_exact)
            .multi_valued(multi_valued);
        if let Some(custom) = attr
            .custom_type
            .as_deref()
            .and_then(|n| self.registry.custom_type(n))
        {
            info = info.custom(Arc::clone(custom));
        }
        info
    }
}

impl AttrSchema for ResourceTypeRef<'_> {
    fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
        let resolved = self.resolve(path)?;
        let target = resolved.target();
        let multi = resolved.attribute.multi_valued || target.multi_valued;
        Some(self.attr_info(target, multi))
    }

    fn urn_location(&self, urn: &str) -> Option<UrnLocation> {
        if self.is_core(urn) {
            Some(UrnLocation::Core)
        } else if self.extension(urn).is_some() {
            Some(UrnLocation::Extension)
        } else {
            Some(UrnLocation::Foreign)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttrType;

    #[test]
    fn registry_is_shareable() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Registry>();
    }

    #[test]
    fn build_errors() {
        let e = Registry::builder()
            .schema(builtin::user())
            .schema(builtin::user())
            .build()
            .err();
        assert!(matches!(e, Some(BuildError::DuplicateSchema(_))));
        let e = Registry::builder()
            .schema(builtin::user())
            .resource_type(builtin::user_resource_type())
            .build()
            .err();
        assert!(matches!(e, Some(BuildError::UnknownSchema { .. })), "{e:?}");
        let e = Registry::standard_builder()
            .resource_type(ResourceType::new("Other", "/users", crate::urn::USER))
            .build()
            .err();
        assert!(
            matches!(e, Some(BuildError::DuplicateResourceType(_))),
            "{e:?}"
        );
        let e = Registry::standard_builder()
            .bind_custom_type(crate::urn::USER, "phoneNumbers.value", "nope")
            .build()
            .err();
        assert!(matches!(e, Some(BuildError::BadCustomType(_))), "{e:?}");
    }

    #[test]
    fn resolution() {
        let r = Registry::standard();
        let users = r
            .resource_type_by_endpoint("/Users")
            .unwrap_or_else(|| panic!("Users"));
        let path = |s: &str| s.parse::<AttrPath>().unwrap_or_else(|e| panic!("{e}"));
        let res = users.resolve(&path("ID")).unwrap_or_else(|| panic!("id"));
        assert_eq!(res.location, Location::Common);
        let res = users.resolve(&path(
            "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
        ));
        assert!(res.is_some_and(|r| r.location == Location::Core && r.target().name == "givenName"));
        let res = users.resolve(&path(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ));
        assert!(matches!(
            res.map(|r| r.location),
            Some(Location::Extension(_))
        ));
        assert!(users
            .resolve(&path(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName"
            ))
            .is_none());
        assert!(users
            .resolve(&path(
                "urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber"
            ))
            .is_none());
        assert!(users
            .resolve(&path("urn:ietf:params:scim:schemas:core:2.0:Invalid:name"))
            .is_none());
        assert!(users
            .extension_of(&path(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ))
            .is_some());
        let info = users
            .attribute(&path("emails.value"))
            .unwrap_or_else(|| panic!("emails.value"));
        assert!(info.multi_valued);
        assert_eq!(info.attr_type, AttrType::String);
        assert_eq!(
            users.urn_location(crate::urn::ENTERPRISE_USER),
            Some(UrnLocation::Extension)
        );
        assert_eq!(
            users.urn_location(crate::urn::USER),
            Some(UrnLocation::Core)
        );
        // Another type's schema names nothing here (RFC 7644 §3.10).
        assert_eq!(
            users.urn_location(crate::urn::GROUP),
            Some(UrnLocation::Foreign)
        );
    }

    /// The resolved form of a filter compiled against the standard User type: what a store
    /// translates, with every schema fact it needs.
    #[test]
    fn filters_resolve_against_the_registry() {
        use scim_filter::{
            CompareOp, CompiledFilter, Condition, Filter, Location as At, ResolvedAttr,
            ResolvedNode,
        };
        let r = Registry::standard();
        let users = r.resource_type("User").unwrap_or_else(|| panic!("User"));
        let leaf = |text: &str| -> (ResolvedAttr, Condition) {
            let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let c = CompiledFilter::compile(&f, &users).unwrap_or_else(|e| panic!("{text}: {e}"));
            match c.resolved() {
                ResolvedNode::Leaf(a, cond) => (a.clone(), cond.clone()),
                other => panic!("{text}: {other:?}"),
            }
        };
        let enterprise = crate::urn::ENTERPRISE_USER;
        let (attr, cond) = leaf(&format!(r#"{enterprise}:manager.value eq "X""#));
        assert_eq!(
            attr.location(),
            &At::Extension(enterprise.to_ascii_lowercase().into())
        );
        assert_eq!((attr.name(), attr.sub_attr()), ("manager", Some("value")));
        assert_eq!(attr.attr_type(), Some(AttrType::String));
        assert_eq!(
            (attr.case_exact(), attr.multi_valued()),
            (true, Some(false))
        );
        assert!(
            matches!(&cond, Condition::Text(t) if t.op() == CompareOp::Eq && t.literal() == "X" && t.case_exact()),
            "{cond:?}"
        );
        // A complex attribute compared directly compares its `value`.
        let (attr, cond) = leaf(r#"emails co "Example.COM""#);
        assert_eq!(attr.location(), &At::Core);
        assert_eq!((attr.name(), attr.sub_attr()), ("emails", Some("value")));
        assert_eq!(
            (attr.case_exact(), attr.multi_valued()),
            (false, Some(true))
        );
        assert!(matches!(&cond, Condition::Text(t) if t.literal() == "example.com"));
        // Another resource type's schema: no value anywhere.
        let (attr, _) = leaf(&format!(r#"{}:displayName eq "x""#, crate::urn::GROUP));
        assert_eq!(attr.location(), &At::Foreign);
        // A dateTime's literal is an instant.
        let (attr, cond) = leaf(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#);
        assert_eq!(attr.attr_type(), Some(AttrType::DateTime));
        assert!(matches!(&cond, Condition::Text(t) if t.instant().is_some()));
    }
}
