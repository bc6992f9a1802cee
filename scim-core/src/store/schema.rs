//! What a store needs to know of the schemas, as plain data: filters and sorts come to it
//! resolved ([`Query`](super::Query)), and the few facts that decide how it lays out and
//! migrates rows are here, so a store holds no [`Registry`].

use scim_filter::AttrPath;
use scim_schema::{Attribute, Registry, ResourceTypeRef, Returned, Uniqueness};

use crate::secret::is_secret;

/// For each resource type a store keeps, the schema facts that are not part of any one call:
/// built from the engine's registry with [`StoreSchema::of`], or by hand.
///
/// A store needs them when it writes (what goes out of line, what never reaches a searchable
/// column) and when it migrates a file written by an earlier version; filters and sorts
/// carry their own resolved attributes.
///
/// ```
/// let schema = scim_core::StoreSchema::of(&scim_schema::Registry::standard());
/// let users = schema.get("User").ok_or("no User")?;
/// assert_eq!(users.hidden, [scim_filter::AttrPath::new("password")]);
/// assert_eq!(schema.get("Group").and_then(|g| g.members.as_deref()), Some("members"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSchema {
    types: Vec<StoredType>,
}

impl StoreSchema {
    /// The facts of every resource type of `registry`.
    pub fn of(registry: &Registry) -> Self {
        StoreSchema::new(registry.resource_types().map(|rt| StoredType::of(&rt)))
    }

    /// A description made of `types`.
    ///
    /// ```
    /// let schema = scim_core::StoreSchema::new([scim_core::StoredType::new("Device")]);
    /// assert!(schema.get("device").is_some_and(|d| d.hidden.is_empty()));
    /// ```
    pub fn new(types: impl IntoIterator<Item = StoredType>) -> Self {
        StoreSchema {
            types: types.into_iter().collect(),
        }
    }

    /// The facts of the resource type `name` (its name compared ignoring ASCII case, as the
    /// registry does), if it is described.
    pub fn get(&self, name: &str) -> Option<&StoredType> {
        self.types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// Every type described.
    pub fn types(&self) -> &[StoredType] {
        &self.types
    }
}

/// The store-facing facts of one resource type (see [`StoreSchema`]).
///
/// ```
/// use scim_filter::AttrPath;
/// let device = scim_core::StoredType::new("Device")
///     .hidden(AttrPath::new("pin"), true)
///     .case_exact_unique("serial");
/// assert_eq!(device.secrets, [AttrPath::new("pin")]);
/// assert_eq!(device.case_exact_unique, ["serial"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredType {
    /// The resource type's name, e.g. `User`.
    pub name: String,
    /// The multi-valued attribute whose elements are members identified by their `value`
    /// (`members` of a type whose core schema is the Group schema, RFC 7643 §4.2): one a
    /// store may keep out of line ([`Store::out_of_line`](super::Store::out_of_line)).
    pub members: Option<String>,
    /// The `returned: never` attributes and sub-attributes (RFC 7643 §7), an extension's
    /// with its URN: their values (hashes, from the engine) stay out of anything a store
    /// searches or indexes.
    pub hidden: Vec<AttrPath>,
    /// Those of [`StoredType::hidden`] that are strings: the secrets the engine hashes
    /// ([`crate::secret::hash_secrets_at`]), which a store migrating a file of an older
    /// layout that kept them in clear hashes too.
    pub secrets: Vec<AttrPath>,
    /// The core schema's unique (`uniqueness` server or global) attributes that are
    /// caseExact: their [`UniqueKey`](super::UniqueKey)s keep case, the others' are
    /// lower-cased.
    pub case_exact_unique: Vec<String>,
}

impl StoredType {
    /// A type named `name` with no facts yet: nothing out of line, nothing hidden.
    pub fn new(name: impl Into<String>) -> Self {
        StoredType {
            name: name.into(),
            members: None,
            hidden: Vec::new(),
            secrets: Vec::new(),
            case_exact_unique: Vec::new(),
        }
    }

    /// Sets [`StoredType::members`].
    pub fn members(mut self, attribute: impl Into<String>) -> Self {
        self.members = Some(attribute.into());
        self
    }

    /// Adds a hidden attribute; `secret` when it is a string (also in
    /// [`StoredType::secrets`]).
    pub fn hidden(mut self, path: AttrPath, secret: bool) -> Self {
        if secret {
            self.secrets.push(path.clone());
        }
        self.hidden.push(path);
        self
    }

    /// Adds a caseExact unique attribute.
    pub fn case_exact_unique(mut self, attribute: impl Into<String>) -> Self {
        self.case_exact_unique.push(attribute.into());
        self
    }

    /// The facts of `rt`: its `members` when its core schema is the Group schema; its
    /// schemas' `returned: never` attributes and sub-attributes (a sub-attribute's own
    /// sub-attributes, which RFC 7643 §2.3.8 does not allow, are not looked at); its
    /// caseExact unique strings.
    pub fn of(rt: &ResourceTypeRef<'_>) -> Self {
        let mut out = StoredType::new(rt.definition().name.clone());
        if rt
            .core_schema()
            .id
            .eq_ignore_ascii_case(scim_schema::urn::GROUP)
        {
            out = out.members("members");
        }
        let core = std::iter::once((None, rt.core_schema()));
        let extensions = rt.extensions().map(|(s, _)| (Some(s.id.as_str()), s));
        for (urn, schema) in core.chain(extensions) {
            let at = |a: &Attribute, sub: Option<&Attribute>| {
                let path = AttrPath::new(a.name.clone());
                let path = match urn {
                    Some(urn) => path.with_urn(urn),
                    None => path,
                };
                match sub {
                    Some(s) => path.with_sub_attr(s.name.clone()),
                    None => path,
                }
            };
            for a in &schema.attributes {
                if a.returned == Returned::Never {
                    out = out.hidden(at(a, None), is_secret(a));
                    continue;
                }
                for s in a
                    .sub_attributes
                    .iter()
                    .filter(|s| s.returned == Returned::Never)
                {
                    out = out.hidden(at(a, Some(s)), is_secret(s));
                }
            }
        }
        for a in &rt.core_schema().attributes {
            if a.uniqueness != Uniqueness::None && a.case_exact {
                out = out.case_exact_unique(a.name.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_types() {
        let schema = StoreSchema::of(&Registry::standard());
        let users = schema.get("user").unwrap_or_else(|| panic!("User"));
        assert_eq!(users.members, None);
        assert_eq!(users.hidden, [AttrPath::new("password")]);
        assert_eq!(users.secrets, users.hidden);
        assert_eq!(users.case_exact_unique, Vec::<String>::new());
        let groups = schema.get("Group").unwrap_or_else(|| panic!("Group"));
        assert_eq!(groups.members.as_deref(), Some("members"));
        assert!(groups.hidden.is_empty());
        assert!(schema.get("Nothing").is_none());
    }
}
