//! `returned: never` attributes (passwords) are no oracle: no filter and no sort may read
//! them (RFC 7643 §7: such a value is never returned, so no answer may depend on it). The
//! check lives here, in the engine, so every store gets it, a host's own included.

use scim_filter::{AttrPath, Filter};
use scim_schema::{AttrType, Resolved, ResourceTypeRef, Returned};

use super::Result;
use crate::{ScimError, ScimType};

/// Refuses (400 `invalidFilter`) a filter that reads a `returned: never` attribute anywhere:
/// a comparison, `pr`, or a value path's inner filter.
pub(super) fn check_filter(rt: &ResourceTypeRef<'_>, filter: &Filter) -> Result<()> {
    check_node(rt, filter, None)
}

/// Refuses (400 `invalidFilter`) the value filter of `attr[filter]` — in a filter or in a
/// PATCH path — when it reads a `returned: never` value.
pub(super) fn check_value_filter(
    rt: &ResourceTypeRef<'_>,
    attr: &AttrPath,
    filter: &Filter,
) -> Result<()> {
    // `apiKeys[label eq "x"]` reads the labels only: the brackets' own attribute is refused
    // only when it is never returned as a whole.
    if reads_never(rt, attr, false) {
        return Err(ScimError::bad_request(
            ScimType::InvalidFilter,
            format!("`{attr}` is never returned, so it cannot be filtered on"),
        ));
    }
    check_node(rt, filter, Some(attr))
}

/// Refuses (400 `invalidValue`) a `sortBy` on a `returned: never` attribute.
pub(super) fn check_sort(rt: &ResourceTypeRef<'_>, path: &AttrPath) -> Result<()> {
    if reads_never(rt, path, true) {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("`sortBy`: `{path}` is never returned, so it cannot be sorted on"),
        ));
    }
    Ok(())
}

fn check_node(rt: &ResourceTypeRef<'_>, filter: &Filter, parent: Option<&AttrPath>) -> Result<()> {
    match filter {
        Filter::Present(path) | Filter::Compare { path, .. } => {
            let absolute = within(path, parent);
            if reads_never(rt, &absolute, true) {
                return Err(ScimError::bad_request(
                    ScimType::InvalidFilter,
                    format!("`{absolute}` is never returned, so it cannot be filtered on"),
                ));
            }
            Ok(())
        }
        Filter::ValuePath(vp) => check_value_filter(rt, &within(&vp.attr, parent), &vp.filter),
        Filter::Not(inner) => check_node(rt, inner, parent),
        Filter::And(ops) | Filter::Or(ops) => {
            ops.iter().try_for_each(|f| check_node(rt, f, parent))
        }
        // A filter form added later is refused rather than let through unchecked.
        _ => Err(ScimError::bad_request(
            ScimType::InvalidFilter,
            "this filter form is not supported",
        )),
    }
}

/// `path` inside `parent[...]`: `type` there means `emails.type`.
fn within(path: &AttrPath, parent: Option<&AttrPath>) -> AttrPath {
    match parent {
        Some(p) if path.urn.is_none() && path.sub_attr.is_none() => AttrPath {
            urn: p.urn.clone(),
            name: p.name.clone(),
            sub_attr: Some(path.name.clone()),
        },
        _ => path.clone(),
    }
}

/// Whether evaluating `path` could read a `returned: never` value: the attribute itself, its
/// sub-attribute, the `value` a complex attribute compares by (when `by_value`), or — for a
/// URN the type does not know, which the evaluator also looks up at the top level — the same
/// path unqualified.
fn reads_never(rt: &ResourceTypeRef<'_>, path: &AttrPath, by_value: bool) -> bool {
    let never = |p: &AttrPath| {
        let top = AttrPath {
            urn: p.urn.clone(),
            name: p.name.clone(),
            sub_attr: None,
        };
        rt.resolve(&top).is_some_and(|r| hidden(&r, false))
            || rt.resolve(p).is_some_and(|r| hidden(&r, by_value))
    };
    if never(path) {
        return true;
    }
    match &path.urn {
        Some(urn) if !rt.is_core(urn) && rt.extension(urn).is_none() => never(&AttrPath {
            urn: None,
            name: path.name.clone(),
            sub_attr: path.sub_attr.clone(),
        }),
        _ => false,
    }
}

fn hidden(r: &Resolved<'_>, by_value: bool) -> bool {
    let target = r.target();
    target.returned == Returned::Never
        || r.attribute.returned == Returned::Never
        || (by_value
            && r.sub_attribute.is_none()
            && target.attr_type == AttrType::Complex
            && target
                .sub_attribute("value")
                .is_some_and(|v| v.returned == Returned::Never))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    pub(crate) const VAULT: &str = "urn:example:params:scim:schemas:extension:vault:2.0:User";

    /// User with an extension holding a `returned: never` PIN and API keys.
    pub(crate) fn users_with_secret_extension() -> scim_schema::Registry {
        use scim_schema::{Attribute, Schema};
        let ext = Schema::new(VAULT, "Vault")
            .with_attribute(Attribute::new("pin", AttrType::String).returned(Returned::Never))
            .with_attribute(
                Attribute::new("apiKeys", AttrType::Complex)
                    .multi_valued(true)
                    .sub_attributes(vec![
                        Attribute::new("value", AttrType::String).returned(Returned::Never),
                        Attribute::new("label", AttrType::String),
                    ]),
            );
        scim_schema::Registry::builder()
            .schema(scim_schema::builtin::user())
            .schema(scim_schema::builtin::enterprise_user())
            .schema(ext)
            .resource_type(scim_schema::builtin::user_resource_type().with_extension(VAULT, false))
            .build()
            .unwrap()
    }

    /// Bodies that spell any secret's name (an extension's, a sub-attribute's) may carry a
    /// secret; the others are sure not to.
    #[test]
    fn bodies_that_may_carry_a_secret() {
        let registry = users_with_secret_extension();
        let may = |body: &str| crate::secret::may_carry_secret(&registry, body.as_bytes());
        assert!(may(r#"{"PIN": "1234"}"#));
        assert!(may(r#"{"apiKeys": [{"value": "k"}]}"#));
        assert!(may(
            r#"{"Operations": [{"op": "add", "path": "password", "value": "x"}]}"#
        ));
        // `value` is a secret's name here (`apiKeys.value`): any element may carry one.
        assert!(may(r#"{"emails": [{"value": "a@example.com"}]}"#));
        assert!(!may(r#"{"userName": "bjensen", "title": "Engineer"}"#));
        assert!(!may(""));
    }

    #[test]
    fn filters_that_read_a_never_returned_attribute_are_refused() {
        let registry = users_with_secret_extension();
        let users = registry.resource_type("User").unwrap();
        for text in [
            r#"password eq "x""#,
            r#"PASSWORD sw "s""#,
            "password pr",
            r#"userName eq "a" and password co "s""#,
            r#"not (password ew "s")"#,
            r#"userName eq "a" or (title pr and password gt "m")"#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:password eq "x""#,
            r#"urn:unknown:extension:password eq "x""#,
            r#"password.value eq "x""#,
            r#"urn:example:params:scim:schemas:extension:vault:2.0:User:pin eq "1234""#,
            r#"urn:example:params:scim:schemas:extension:vault:2.0:User:apiKeys co "k""#,
            r#"urn:example:params:scim:schemas:extension:vault:2.0:User:apiKeys[value sw "k"]"#,
            r#"urn:example:params:scim:schemas:extension:vault:2.0:User:apiKeys.value pr"#,
        ] {
            let f: Filter = text.parse().unwrap();
            let e = check_filter(&users, &f).unwrap_err();
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some(ScimType::InvalidFilter)),
                "{text}"
            );
        }
        for text in [
            r#"userName eq "password""#,
            r#"emails[type eq "work" and value co "@x"]"#,
            r#"urn:example:params:scim:schemas:extension:vault:2.0:User:apiKeys[label eq "ci"]"#,
            "title pr",
        ] {
            let f: Filter = text.parse().unwrap();
            assert!(check_filter(&users, &f).is_ok(), "{text}");
        }
    }

    #[test]
    fn patch_value_filters_that_read_a_never_returned_attribute_are_refused() {
        let registry = users_with_secret_extension();
        let users = registry.resource_type("User").unwrap();
        let keys: AttrPath = format!("{VAULT}:apiKeys").parse().unwrap();
        let bad: Filter = r#"value sw "k""#.parse().unwrap();
        let e = check_value_filter(&users, &keys, &bad).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        let good: Filter = r#"label eq "ci""#.parse().unwrap();
        assert!(check_value_filter(&users, &keys, &good).is_ok());
    }

    /// Through the engine: a PATCH whose path filters on a secret is refused before it runs,
    /// and changes nothing; one filtering on a visible sub-attribute applies.
    #[test]
    fn patch_paths_cannot_probe_secrets() {
        use crate::{block_on, Config, Engine, MemoryStore, Method, Request, RequestContext};
        use serde_json::json;
        let e = Engine::new(
            users_with_secret_extension(),
            MemoryStore::new(),
            Config::new("https://example.com/scim/v2"),
        );
        let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
        let created = block_on(e.handle(
            &ctx,
            Request::new(Method::Post, "/Users").with_json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", VAULT],
                "userName": "v",
                VAULT: {"apiKeys": [{"value": "key-1", "label": "ci"}]}})),
        ));
        assert_eq!(created.status, 201, "{}", created.body_json());
        let id = created.body_json()["id"].as_str().unwrap().to_owned();
        let patch = |path: String| {
            block_on(e.handle(
                &ctx,
                Request::new(Method::Patch, format!("/Users/{id}")).with_json(&json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "remove", "path": path}]})),
            ))
        };
        let probe = patch(format!(r#"{VAULT}:apiKeys[value sw "key"]"#));
        assert_eq!(probe.status, 400, "{}", probe.body_json());
        assert_eq!(probe.body_json()["scimType"], "invalidFilter");
        let stored = block_on(crate::Store::get(e.store(), "default", "User", &id))
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, 1, "nothing changed");
        // The same through /Bulk.
        let bulk = block_on(e.handle(
            &ctx,
            Request::new(Method::Post, "/Bulk").with_json(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [{"method": "PATCH", "path": format!("/Users/{id}"),
                    "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "remove",
                            "path": format!(r#"{VAULT}:apiKeys[value sw "key"]"#)}]}}]})),
        ));
        let op = &bulk.body_json()["Operations"][0];
        assert_eq!(op["status"], "400", "{op}");
        assert_eq!(op["response"]["scimType"], "invalidFilter", "{op}");
        assert_eq!(
            patch(format!(r#"{VAULT}:apiKeys[label eq "ci"]"#)).status,
            200
        );
    }

    #[test]
    fn sorting_on_a_never_returned_attribute_is_refused() {
        let registry = users_with_secret_extension();
        let users = registry.resource_type("User").unwrap();
        for text in [
            "password",
            "Password",
            "urn:ietf:params:scim:schemas:core:2.0:User:password",
        ] {
            let e = check_sort(&users, &text.parse().unwrap()).unwrap_err();
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some(ScimType::InvalidValue)),
                "{text}"
            );
        }
        assert!(check_sort(&users, &"userName".parse().unwrap()).is_ok());
    }
}
