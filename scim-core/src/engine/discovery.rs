//! Discovery: `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes` (RFC 7644 §4).

use serde_json::{json, Value};

use super::list::LIST_RESPONSE;
use super::{Engine, Result};
use crate::{Response, ScimError, Store};

impl<S: Store> Engine<S> {
    /// What this service supports, reported from its configuration.
    pub(super) fn service_provider_config(&self) -> Response {
        let c = &self.config;
        Response::json(
            200,
            &json!({
                "schemas": [scim_schema::urn::SERVICE_PROVIDER_CONFIG],
                "patch": {"supported": true},
                "bulk": {
                    "supported": c.bulk_max_operations > 0,
                    "maxOperations": c.bulk_max_operations,
                    // Every request, /Bulk included, is also held to `max_payload`.
                    "maxPayloadSize": c.bulk_max_payload.min(c.max_payload),
                },
                "filter": {"supported": true, "maxResults": c.max_results},
                "changePassword": {"supported": true},
                "sort": {"supported": true},
                "pagination": {
                    "cursor": true,
                    "index": true,
                    "defaultPaginationMethod": "index",
                    "defaultPageSize": c.max_results,
                    "maxPageSize": c.max_results,
                },
                "etag": {"supported": true},
                "authenticationSchemes": c.authentication_schemes,
                "meta": {
                    "resourceType": "ServiceProviderConfig",
                    "location": format!("{}/ServiceProviderConfig", c.base_url),
                }
            }),
        )
    }

    fn schema_doc(&self, schema: &scim_schema::Schema) -> Value {
        let mut doc = serde_json::to_value(schema).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut doc {
            m.insert("schemas".into(), json!([scim_schema::urn::SCHEMA]));
            m.insert(
                "meta".into(),
                json!({"resourceType": "Schema", "location": format!("{}/Schemas/{}", self.config.base_url, schema.id)}),
            );
        }
        doc
    }

    fn resource_type_json(&self, rt: &scim_schema::ResourceType) -> Value {
        let mut doc = serde_json::to_value(rt).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut doc {
            m.insert("schemas".into(), json!([scim_schema::urn::RESOURCE_TYPE]));
            m.insert(
                "meta".into(),
                json!({"resourceType": "ResourceType", "location": format!("{}/ResourceTypes/{}", self.config.base_url, rt.name)}),
            );
        }
        doc
    }

    /// `/Schemas`: the schemas the resource types use.
    pub(super) fn schemas(&self, _filter: Option<&str>) -> Response {
        let docs: Vec<Value> = self
            .registry
            .schemas()
            .map(|s| self.schema_doc(s))
            .collect();
        list(docs)
    }

    /// `/Schemas/{urn}`.
    pub(super) fn schema(&self, urn: &str) -> Result<Response> {
        let s = self
            .registry
            .schema(urn)
            .ok_or_else(|| ScimError::not_found(format!("no schema {urn}")))?;
        Ok(Response::json(200, &self.schema_doc(s)))
    }

    /// `/ResourceTypes`.
    pub(super) fn resource_types(&self, _filter: Option<&str>) -> Response {
        let docs: Vec<Value> = self
            .registry
            .resource_types()
            .map(|rt| self.resource_type_json(rt.definition()))
            .collect();
        list(docs)
    }

    /// `/ResourceTypes/{name}`.
    pub(super) fn resource_type_doc(&self, name: &str) -> Result<Response> {
        let rt = self
            .registry
            .resource_type(name)
            .ok_or_else(|| ScimError::not_found(format!("no resource type {name}")))?;
        Ok(Response::json(
            200,
            &self.resource_type_json(rt.definition()),
        ))
    }
}

fn list(docs: Vec<Value>) -> Response {
    Response::json(
        200,
        &json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": docs.len(),
            "itemsPerPage": docs.len(),
            "startIndex": 1,
            "Resources": docs,
        }),
    )
}
