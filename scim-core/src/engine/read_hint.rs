//! What a list has to read: with `attributes` or `excludedAttributes` (RFC 7644 §3.4.2.5),
//! only the top-level attributes the response can show, so that a store skips the rest
//! (`excludedAttributes=members` reads no member of a group kept out of line).

use scim_filter::AttrPath;
use scim_schema::{Projection, ResourceTypeRef};

/// The top-level attributes (names, and extension URNs) a list of `rt` must load to render
/// with `projection` and sort by `sort`: `None` (all of them) when the request restricts
/// nothing (`restricted` false).
pub(crate) fn needed_attributes(
    rt: &ResourceTypeRef<'_>,
    projection: &Projection<'_>,
    restricted: bool,
    sort: Option<&AttrPath>,
) -> Option<Vec<String>> {
    if !restricted {
        return None;
    }
    // The common attributes (RFC 7643 §3.1), which no schema lists, and `schemas`: read
    // always (the projection decides what shows).
    let mut names: Vec<String> = ["id", "externalId", "schemas", "meta"]
        .map(str::to_owned)
        .to_vec();
    for attr in &rt.core_schema().attributes {
        if projection.includes(&AttrPath::new(attr.name.clone())) {
            names.push(attr.name.clone());
        }
    }
    // An extension's object is one key: kept whole when anything of it may show.
    for (schema, _) in rt.extensions() {
        let shown = schema.attributes.iter().any(|a| {
            projection.includes(&AttrPath::new(a.name.clone()).with_urn(schema.id.clone()))
        });
        if shown {
            names.push(schema.id.clone());
        }
    }
    if let Some(path) = sort {
        match &path.urn {
            Some(urn) if !urn.eq_ignore_ascii_case(&rt.core_schema().id) => names.push(urn.clone()),
            _ => names.push(path.name.clone()),
        }
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn needed(rt: &str, attributes: Option<&str>, excluded: Option<&str>) -> Option<Vec<String>> {
        let registry = scim_schema::Registry::standard();
        let rt = registry.resource_type(rt).unwrap();
        let projection = Projection::parse(&rt, attributes, excluded).unwrap();
        needed_attributes(
            &rt,
            &projection,
            attributes.is_some() || excluded.is_some(),
            None,
        )
    }

    #[test]
    fn only_what_can_show_is_read() {
        assert_eq!(needed("Group", None, None), None);
        let without_members = needed("Group", None, Some("members")).unwrap();
        assert!(!without_members.iter().any(|n| n == "members"));
        assert!(without_members.iter().any(|n| n == "displayName"));
        let names = needed("Group", Some("displayName"), None).unwrap();
        assert!(names.iter().any(|n| n == "id") && !names.iter().any(|n| n == "members"));
        let display = needed("Group", Some("members.display"), None).unwrap();
        assert!(display.iter().any(|n| n == "members"));
        let users = needed("User", Some("userName"), None).unwrap();
        assert!(!users.iter().any(|n| n == "emails"));
    }
}
