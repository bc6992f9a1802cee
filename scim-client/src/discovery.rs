//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` read
//! into a `scim_schema::Registry`, and what the client does with them.

use reqwest::Method;
use scim_schema::{Registry, ResourceType, Schema, ValidationOptions};
use serde_json::Value;

use crate::Error;
use crate::client::{Client, RequestOptions};

/// What `/ServiceProviderConfig` says the server supports (RFC 7643 §5), read leniently:
/// a feature the document does not mention counts as supported, since a missing or
/// malformed entry is the server's omission, not a refusal.
///
/// ```
/// let c = scim_client::ServiceProviderConfig::from_json(&serde_json::json!({
///     "patch": {"supported": true}, "filter": {"supported": false, "maxResults": 200},
///     "bulk": {"supported": true, "maxOperations": 10, "maxPayloadSize": 1048576}
/// }));
/// assert!(c.patch && !c.filter);
/// assert_eq!(c.bulk_max_operations, Some(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceProviderConfig {
    /// `patch.supported`.
    pub patch: bool,
    /// `bulk.supported`.
    pub bulk: bool,
    /// `bulk.maxOperations`.
    pub bulk_max_operations: Option<u64>,
    /// `bulk.maxPayloadSize` (bytes).
    pub bulk_max_payload: Option<u64>,
    /// `filter.supported`.
    pub filter: bool,
    /// `filter.maxResults`.
    pub filter_max_results: Option<u64>,
    /// `sort.supported`.
    pub sort: bool,
    /// `etag.supported`.
    pub etag: bool,
    /// `changePassword.supported`.
    pub change_password: bool,
    /// RFC 9865 `pagination.cursor`.
    pub pagination_cursor: bool,
    /// RFC 9865 `pagination.index` (true when not said).
    pub pagination_index: bool,
    /// RFC 9865 `pagination.defaultPaginationMethod`.
    pub default_pagination: Option<String>,
}

fn get<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn flag(v: &Value, feature: &str, key: &str, default: bool) -> bool {
    get(v, feature)
        .and_then(|f| get(f, key))
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

fn number(v: &Value, feature: &str, key: &str) -> Option<u64> {
    get(v, feature)
        .and_then(|f| get(f, key))
        .and_then(Value::as_u64)
}

impl ServiceProviderConfig {
    /// Reads the document.
    ///
    /// ```
    /// let c = scim_client::ServiceProviderConfig::from_json(&serde_json::json!({}));
    /// assert!(c.patch && c.filter && !c.etag);
    /// ```
    pub fn from_json(v: &Value) -> Self {
        ServiceProviderConfig {
            patch: flag(v, "patch", "supported", true),
            bulk: flag(v, "bulk", "supported", true),
            bulk_max_operations: number(v, "bulk", "maxOperations"),
            bulk_max_payload: number(v, "bulk", "maxPayloadSize"),
            filter: flag(v, "filter", "supported", true),
            filter_max_results: number(v, "filter", "maxResults"),
            sort: flag(v, "sort", "supported", true),
            etag: flag(v, "etag", "supported", false),
            change_password: flag(v, "changePassword", "supported", false),
            pagination_cursor: flag(v, "pagination", "cursor", false),
            pagination_index: flag(v, "pagination", "index", true),
            default_pagination: get(v, "pagination")
                .and_then(|p| get(p, "defaultPaginationMethod"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    /// Whether listing every page should use cursors: advertised, and either the default
    /// method or the only one.
    ///
    /// ```
    /// let c = scim_client::ServiceProviderConfig::from_json(&serde_json::json!({
    ///     "pagination": {"cursor": true, "index": true, "defaultPaginationMethod": "cursor"}}));
    /// assert!(c.prefers_cursor());
    /// ```
    pub fn prefers_cursor(&self) -> bool {
        self.pagination_cursor
            && (!self.pagination_index
                || self
                    .default_pagination
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case("cursor")))
    }
}

/// What [`Client::discover`] found: the server's configuration, its schemas and resource
/// types as a registry, and notes on what did not parse.
///
/// ```no_run
/// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
/// let d = client.discover().await?;
/// for note in &d.notes { eprintln!("{note}"); }
/// let users = d.registry.resource_type("User");
/// # let _ = users;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Discovery {
    /// `/ServiceProviderConfig`, read.
    pub config: ServiceProviderConfig,
    /// `/ServiceProviderConfig` as sent.
    pub raw_config: Value,
    /// The schemas and resource types the server described.
    pub registry: Registry,
    /// What could not be used (a schema that did not parse, a resource type naming a schema
    /// the server did not list), one line each.
    pub notes: Vec<String>,
}

impl Discovery {
    /// Builds a discovery from the three documents (the `Resources` of `/ResourceTypes`
    /// and `/Schemas`, or their bare arrays).
    ///
    /// ```
    /// use serde_json::json;
    /// let schemas = json!([serde_json::to_value(scim_schema::builtin::user()).unwrap()]);
    /// let types = json!([{"name": "User", "endpoint": "/Users",
    ///     "schema": "urn:ietf:params:scim:schemas:core:2.0:User"}]);
    /// let d = scim_client::Discovery::from_documents(json!({}), &types, &schemas)?;
    /// assert!(d.registry.resource_type("User").is_some());
    /// assert!(d.check_resource("/Users", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///     "id": "1", "userName": 5})).is_err());
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Protocol`] if what parsed does not make a registry.
    pub fn from_documents(
        raw_config: Value,
        resource_types: &Value,
        schemas: &Value,
    ) -> Result<Discovery, Error> {
        let mut notes = Vec::new();
        let mut builder = Registry::builder();
        let mut known: Vec<String> = Vec::new();
        for s in resources_of(schemas) {
            match serde_json::from_value::<Schema>(s.clone()) {
                Ok(schema) if known.iter().any(|k| k.eq_ignore_ascii_case(&schema.id)) => {
                    notes.push(format!("schema {} is listed twice", schema.id));
                }
                Ok(schema) => {
                    known.push(schema.id.clone());
                    builder = builder.schema(schema);
                }
                Err(e) => notes.push(format!(
                    "schema {} does not parse: {e}",
                    get(s, "id").and_then(Value::as_str).unwrap_or("?")
                )),
            }
        }
        let mut names: Vec<String> = Vec::new();
        for t in resources_of(resource_types) {
            match serde_json::from_value::<ResourceType>(t.clone()) {
                Ok(rt) => {
                    let missing: Vec<&str> = std::iter::once(rt.schema.as_str())
                        .chain(rt.schema_extensions.iter().map(|e| e.schema.as_str()))
                        .filter(|s| !known.iter().any(|k| k.eq_ignore_ascii_case(s)))
                        .collect();
                    if !missing.is_empty() {
                        notes.push(format!(
                            "resource type {} names schemas not in /Schemas: {}",
                            rt.name,
                            missing.join(", ")
                        ));
                    } else if names.iter().any(|n| {
                        n.eq_ignore_ascii_case(&rt.name) || n.eq_ignore_ascii_case(&rt.endpoint)
                    }) {
                        notes.push(format!("resource type {} is listed twice", rt.name));
                    } else {
                        names.push(rt.name.clone());
                        names.push(rt.endpoint.clone());
                        builder = builder.resource_type(rt);
                    }
                }
                Err(e) => notes.push(format!(
                    "resource type {} does not parse: {e}",
                    get(t, "name").and_then(Value::as_str).unwrap_or("?")
                )),
            }
        }
        let registry = builder
            .build()
            .map_err(|e| Error::protocol(200, format!("the discovered schemas: {e}")))?;
        Ok(Discovery {
            config: ServiceProviderConfig::from_json(&raw_config),
            raw_config,
            registry,
            notes,
        })
    }

    fn resource_type(&self, endpoint: &str) -> Option<scim_schema::ResourceTypeRef<'_>> {
        let e = format!("/{}", endpoint.trim_matches('/'));
        self.registry.resource_type_by_endpoint(&e)
    }

    /// Checks a received resource against the resource type of `endpoint` (as stored
    /// resources are checked: types, required attributes, schemas listed); `Ok` for an
    /// endpoint the server did not describe.
    ///
    /// # Errors
    /// The issues, one string.
    ///
    /// ```
    /// let d = scim_client::Discovery::from_documents(serde_json::json!({}),
    ///     &serde_json::json!([{"name": "Group", "endpoint": "/Groups", "schema": "urn:ietf:params:scim:schemas:core:2.0:Group"}]),
    ///     &serde_json::json!([serde_json::to_value(scim_schema::builtin::group()).unwrap()]))?;
    /// assert!(d.check_resource("/Groups", &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "1", "displayName": "G"})).is_ok());
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn check_resource(&self, endpoint: &str, resource: &Value) -> Result<(), String> {
        let Some(rt) = self.resource_type(endpoint) else {
            return Ok(());
        };
        rt.check_resource(resource.clone(), &ValidationOptions::default())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Validates a resource about to be created or replaced against `endpoint`'s resource
    /// type (readOnly attributes ignored, required ones needed, types checked).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] with the issues.
    ///
    /// ```
    /// let d = scim_client::Discovery::from_documents(serde_json::json!({}),
    ///     &serde_json::json!([{"name": "Group", "endpoint": "/Groups", "schema": "urn:ietf:params:scim:schemas:core:2.0:Group"}]),
    ///     &serde_json::json!([serde_json::to_value(scim_schema::builtin::group()).unwrap()]))?;
    /// assert!(d.validate_outgoing("/Groups", &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]})).is_err());
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn validate_outgoing(&self, endpoint: &str, resource: &Value) -> Result<(), Error> {
        let Some(rt) = self.resource_type(endpoint) else {
            return Ok(());
        };
        rt.validate_create(resource.clone(), &ValidationOptions::default())
            .map(|_| ())
            .map_err(|e| Error::InvalidRequest(e.to_string()))
    }

    /// Validates the values of a PATCH request against `endpoint`'s resource type: each
    /// `add`/`replace` value against the attribute its path names (or, without a path,
    /// each attribute of the value). Paths themselves are resolved by the server.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] naming the operation and the issues.
    ///
    /// ```
    /// let d = scim_client::Discovery::from_documents(serde_json::json!({}),
    ///     &serde_json::json!([{"name": "Group", "endpoint": "/Groups", "schema": "urn:ietf:params:scim:schemas:core:2.0:Group"}]),
    ///     &serde_json::json!([serde_json::to_value(scim_schema::builtin::group()).unwrap()]))?;
    /// let p = scim_patch::PatchRequest::from_json(&serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    ///     "Operations": [{"op": "replace", "path": "displayName", "value": 5}]}), &Default::default()).unwrap();
    /// assert!(d.validate_patch("/Groups", &p).is_err());
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn validate_patch(
        &self,
        endpoint: &str,
        request: &scim_patch::PatchRequest,
    ) -> Result<(), Error> {
        let Some(rt) = self.resource_type(endpoint) else {
            return Ok(());
        };
        let opts = ValidationOptions::default();
        let check = |i: usize, path: &scim_filter::AttrPath, value: &Value| {
            rt.validate_value(path, value.clone(), &opts)
                .map(|_| ())
                .map_err(|e| Error::InvalidRequest(format!("operation {i}: {e}")))
        };
        for (i, op) in request.operations.iter().enumerate() {
            if op.op == scim_patch::OpKind::Remove {
                continue;
            }
            let Some(value) = &op.value else { continue };
            match &op.path {
                Some(p) => {
                    let path = match (&p.value_filter, &p.sub_attr) {
                        (Some(_), Some(sub)) => p.attr.clone().with_sub_attr(sub.clone()),
                        _ => p.attr.clone(),
                    };
                    check(i, &path, value)?;
                }
                None => {
                    let Some(obj) = value.as_object() else {
                        return Err(Error::InvalidRequest(format!(
                            "operation {i}: a value without a path must be an object"
                        )));
                    };
                    for (name, v) in obj {
                        if let Some(ext) = rt.extension(name) {
                            let Some(inner) = v.as_object() else {
                                return Err(Error::InvalidRequest(format!(
                                    "operation {i}: `{name}` must be an object"
                                )));
                            };
                            for (sub, sv) in inner {
                                let path = scim_filter::AttrPath::new(sub.clone())
                                    .with_urn(ext.id.clone());
                                check(i, &path, sv)?;
                            }
                        } else {
                            check(i, &scim_filter::AttrPath::new(name.clone()), v)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The resources of a ListResponse, or the items of a bare array (some servers answer
/// `/Schemas` so).
fn resources_of(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => match get(v, "Resources") {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

impl Client {
    /// Reads `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` and keeps them: from
    /// then on the client refuses a filter where `filter.supported` is false, PATCH where
    /// `patch.supported` is false, splits Bulk requests by `maxOperations` and
    /// `maxPayloadSize`, checks received resources ([`crate::ResponseChecks`]) and, if
    /// asked ([`crate::ClientConfig::validate_requests`]), validates what it sends.
    ///
    /// # Errors
    /// Any request's error; [`Error::Protocol`] if the documents are not JSON objects or do
    /// not make a registry.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let d = client.discover().await?;
    /// if !d.config.filter {
    ///     println!("this server cannot filter");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn discover(&self) -> Result<std::sync::Arc<Discovery>, Error> {
        let opts = RequestOptions::new();
        let (_, config) = self
            .request(Method::GET, "/ServiceProviderConfig", None, &opts)
            .await?;
        if !config.is_object() {
            return Err(Error::protocol(
                200,
                "/ServiceProviderConfig is not an object",
            ));
        }
        let (_, types) = self
            .request(Method::GET, "/ResourceTypes", None, &opts)
            .await?;
        let (_, schemas) = self.request(Method::GET, "/Schemas", None, &opts).await?;
        let d = Discovery::from_documents(config, &types, &schemas)?;
        self.set_discovery(d);
        self.discovery()
            .ok_or_else(|| Error::protocol(0, "discovery could not be stored"))
    }
}
