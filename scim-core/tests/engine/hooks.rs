//! Host hooks: reject with their own error, amend input, narrow queries, amend output.

use std::sync::Arc;

use scim_core::{Hooks, Method, RequestContext, ScimError, ScimType};
use serde_json::{json, Value};

use super::{ctx, engine, req, send};

struct Policy;

impl Hooks for Policy {
    fn before_create(
        &self,
        _: &RequestContext,
        resource_type: &str,
        resource: &mut Value,
    ) -> Result<(), ScimError> {
        if resource_type == "User"
            && resource["userName"]
                .as_str()
                .is_some_and(|u| u.ends_with("@blocked.example"))
        {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "this domain may not be provisioned",
            ));
        }
        resource["title"] = json!("Provisioned");
        Ok(())
    }

    fn before_delete(&self, _: &RequestContext, _: &str, _: &str) -> Result<(), ScimError> {
        Err(ScimError::forbidden("deletes are disabled here"))
    }

    fn before_query(
        &self,
        _: &RequestContext,
        _: &str,
        filter: &mut Option<String>,
    ) -> Result<(), ScimError> {
        // Only active users are visible to lists.
        *filter = Some(match filter.take() {
            Some(f) => format!("({f}) and active eq true"),
            None => "active eq true".to_owned(),
        });
        Ok(())
    }

    fn after(&self, _: &RequestContext, _: &str, resource: &mut Value) {
        resource["password"] = json!("leaked-by-a-careless-hook");
        resource["nickName"] = json!("seen-by-hook");
    }
}

#[test]
fn hooks_reject_amend_and_narrow() {
    let e = engine().with_hooks(Arc::new(Policy));
    let c = ctx();
    let (s, body, _) = send(&e, &c, req(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@blocked.example"})));
    assert_eq!(
        (s, body["scimType"].as_str()),
        (400, Some("invalidValue")),
        "{body}"
    );
    let (s, body, _) = send(&e, &c, req(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ok", "active": true})));
    assert_eq!(s, 201);
    assert_eq!(body["title"], "Provisioned");
    assert_eq!(body["nickName"], "seen-by-hook");
    assert!(
        body.get("password").is_none(),
        "projection runs after the hook"
    );
    let id = body["id"].as_str().unwrap().to_owned();
    send(&e, &c, req(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "inactive", "active": false})));
    let (_, list, _) = send(&e, &c, req(Method::Get, "/Users"));
    assert_eq!(list["totalResults"], 1);
    let (s, _, _) = send(&e, &c, req(Method::Delete, &format!("/Users/{id}")));
    assert_eq!(s, 403);
}
