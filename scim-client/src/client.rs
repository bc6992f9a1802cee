//! The client: requests out, with auth, limits and retries; responses in, checked.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_core::Stream;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use scim_patch::PatchRequest;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use url::Url;

use crate::auth::{AuthHook, Bearer};
use crate::discovery::Discovery;
use crate::query::{ListQuery, ListResponse, Paging};
use crate::{ClientConfig, Error, ResponseChecks, ScimErrorBody};

/// The media type of SCIM messages (RFC 7644 §8.1).
///
/// ```
/// assert_eq!(scim_client::SCIM_JSON, "application/scim+json");
/// ```
pub const SCIM_JSON: &str = "application/scim+json";

/// Options of one request: extra headers, `If-Match`, projection, retry opt-in.
///
/// ```
/// let opts = scim_client::RequestOptions::new()
///     .header("Group-Overhead-Bypass", "true")
///     .if_match("W/\"3\"")
///     .excluded_attributes(["members"]);
/// assert_eq!(opts.if_match.as_deref(), Some("W/\"3\""));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Headers added to this request (after the client's own).
    pub headers: Vec<(String, String)>,
    /// `If-Match`: the version read; a changed resource answers 412
    /// ([`Error::PreconditionFailed`]).
    pub if_match: Option<String>,
    /// `attributes` of the returned resource.
    pub attributes: Vec<String>,
    /// `excludedAttributes` of the returned resource.
    pub excluded_attributes: Vec<String>,
    /// Retry this request on 429/503 even if it is a POST or PATCH.
    pub retry_non_idempotent: bool,
}

impl RequestOptions {
    /// No options.
    ///
    /// ```
    /// assert!(scim_client::RequestOptions::new().headers.is_empty());
    /// ```
    pub fn new() -> Self {
        RequestOptions::default()
    }

    /// Adds a header.
    ///
    /// ```
    /// let o = scim_client::RequestOptions::new().header("Group-Overhead-Bypass", "true");
    /// assert_eq!(o.headers.len(), 1);
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets `If-Match`.
    ///
    /// ```
    /// let o = scim_client::RequestOptions::new().if_match("W/\"2\"");
    /// assert!(o.if_match.is_some());
    /// ```
    pub fn if_match(mut self, version: impl Into<String>) -> Self {
        self.if_match = Some(version.into());
        self
    }

    /// Sets `attributes`.
    ///
    /// ```
    /// let o = scim_client::RequestOptions::new().attributes(["userName", "emails"]);
    /// assert_eq!(o.attributes, vec!["userName", "emails"]);
    /// ```
    pub fn attributes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.attributes = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `excludedAttributes`.
    ///
    /// ```
    /// let o = scim_client::RequestOptions::new().excluded_attributes(["members"]);
    /// assert_eq!(o.excluded_attributes, vec!["members"]);
    /// ```
    pub fn excluded_attributes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.excluded_attributes = names.into_iter().map(Into::into).collect();
        self
    }

    /// Retries this request on 429/503 even if not idempotent.
    ///
    /// ```
    /// assert!(scim_client::RequestOptions::new().retry_non_idempotent().retry_non_idempotent);
    /// ```
    pub fn retry_non_idempotent(mut self) -> Self {
        self.retry_non_idempotent = true;
        self
    }
}

/// A resource with the version it was read at (the `ETag` header, else `meta.version`).
///
/// ```
/// let v = scim_client::Versioned { resource: 1, version: Some("W/\"1\"".to_owned()) };
/// assert_eq!(v.version.as_deref(), Some("W/\"1\""));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The resource.
    pub resource: T,
    /// Its version, for `If-Match`.
    pub version: Option<String>,
}

/// What a received resource did not match in the discovered schema
/// ([`ResponseChecks::Report`]).
///
/// ```
/// let r = scim_client::Report { endpoint: "/Users".into(), id: None, message: "x".into() };
/// assert_eq!(r.endpoint, "/Users");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The endpoint it came from.
    pub endpoint: String,
    /// The resource's id, if it had one.
    pub id: Option<String>,
    /// What was wrong.
    pub message: String,
}

/// Builds a [`Client`].
///
/// ```
/// let client = scim_client::Client::builder("https://scim.example.com/scim/v2")?
///     .bearer("s3cret")
///     .header("X-Tenant", "acme")?
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "https://scim.example.com/scim/v2");
/// # Ok::<(), scim_client::Error>(())
/// ```
pub struct ClientBuilder {
    base: Url,
    config: ClientConfig,
    headers: HeaderMap,
    auth: Option<Arc<dyn AuthHook>>,
    root_certificates: Vec<reqwest::Certificate>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Sets the configuration.
    ///
    /// ```
    /// let mut config = scim_client::ClientConfig::default();
    /// config.max_concurrency = 4;
    /// let _c = scim_client::Client::builder("http://127.0.0.1:1/scim/v2")?.config(config).build()?;
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Authenticates with a static bearer token.
    ///
    /// ```
    /// let _c = scim_client::Client::builder("http://127.0.0.1:1/scim/v2")?.bearer("s3cret").build()?;
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn bearer(self, token: impl Into<String>) -> Self {
        self.auth(Bearer::new(token))
    }

    /// Authenticates with a hook ([`ClientCredentials`](crate::ClientCredentials), or any
    /// [`AuthHook`]).
    ///
    /// ```
    /// let creds = scim_client::ClientCredentials::new("http://127.0.0.1:1/token", "id", "secret");
    /// let _c = scim_client::Client::builder("http://127.0.0.1:1/scim/v2")?.auth(creds).build()?;
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn auth(mut self, hook: impl AuthHook) -> Self {
        self.auth = Some(Arc::new(hook));
        self
    }

    /// A header sent with every request (e.g. `Group-Overhead-Bypass: true`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a name or value HTTP does not allow.
    ///
    /// ```
    /// let b = scim_client::Client::builder("http://127.0.0.1:1/scim/v2")?;
    /// assert!(b.header("bad name", "x").is_err());
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        let (n, v) = header_pair(name, value)?;
        self.headers.append(n, v);
        Ok(self)
    }

    /// Trusts this PEM certificate (a private CA) besides the webpki roots.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] if it is not a PEM certificate.
    ///
    /// ```
    /// let b = scim_client::Client::builder("https://127.0.0.1:1/scim/v2")?;
    /// assert!(b.root_certificate_pem(b"not a certificate").is_err());
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn root_certificate_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(Error::InvalidRequest(
                "certificate: no PEM certificate block".into(),
            ));
        }
        let cert = reqwest::Certificate::from_pem(pem)
            .map_err(|e| Error::InvalidRequest(format!("certificate: {e}")))?;
        self.root_certificates.push(cert);
        Ok(self)
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Transport`] if the HTTP client cannot be set up.
    ///
    /// ```
    /// let client = scim_client::Client::builder("http://127.0.0.1:1/scim/v2")?.build()?;
    /// assert!(client.discovery().is_none());
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        let c = &self.config;
        let mut http = reqwest::Client::builder()
            .timeout(c.timeout)
            .connect_timeout(c.connect_timeout)
            .pool_idle_timeout(c.pool_idle_timeout)
            .pool_max_idle_per_host(c.pool_max_idle_per_host)
            .user_agent(c.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none());
        for cert in self.root_certificates {
            http = http.add_root_certificate(cert);
        }
        let http = http.build().map_err(Error::transport)?;
        Ok(Client {
            inner: Arc::new(Inner {
                semaphore: tokio::sync::Semaphore::new(self.config.max_concurrency.max(1)),
                http,
                base: self.base,
                headers: self.headers,
                auth: self.auth,
                config: self.config,
                discovery: RwLock::new(None),
                reports: Mutex::new(VecDeque::new()),
            }),
        })
    }
}

pub(crate) fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let n = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::InvalidRequest(format!("`{name}` is not a header name")))?;
    let v = HeaderValue::from_str(value).map_err(|_| {
        Error::InvalidRequest(format!("the value of `{name}` is not a header value"))
    })?;
    Ok((n, v))
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    headers: HeaderMap,
    auth: Option<Arc<dyn AuthHook>>,
    config: ClientConfig,
    semaphore: tokio::sync::Semaphore,
    discovery: RwLock<Option<Arc<Discovery>>>,
    reports: Mutex<VecDeque<Report>>,
}

/// An async SCIM 2.0 client. Cheap to clone (clones share connections, the token, the
/// concurrency limit and what [`discover`](Client::discover) found).
///
/// ```no_run
/// use scim_client::{Client, ListQuery, User};
/// # async fn run() -> Result<(), scim_client::Error> {
/// let client = Client::builder("http://127.0.0.1:8080/scim/v2")?.bearer("s3cret").build()?;
/// client.discover().await?;
/// let created: User = client.create("/Users", &User::new("bjensen")).await?;
/// let page = client.list::<User>("/Users", &ListQuery::new().filter_str(r#"userName eq "bjensen""#)?).await?;
/// assert_eq!(page.resources[0].id, created.id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// A raw response: status, headers, body.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
    status: u16,
) -> Result<Vec<u8>, Error> {
    if let Some(len) = response.content_length() {
        if len > limit as u64 {
            return Err(Error::protocol(
                status,
                format!("the body ({len} bytes) is over the limit of {limit} bytes"),
            ));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Error::transport)? {
        if body.len() + chunk.len() > limit {
            return Err(Error::protocol(
                status,
                format!("the body is over the limit of {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn random_u64() -> u64 {
    getrandom::u64().unwrap_or(0x9e37_79b9_7f4a_7c15)
}

impl Client {
    /// A builder for the service at `base_url` (e.g. `https://host/scim/v2`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] if `base_url` is not an http(s) URL.
    ///
    /// ```
    /// assert!(scim_client::Client::builder("https://scim.example.com/scim/v2").is_ok());
    /// assert!(scim_client::Client::builder("ftp://example.com").is_err());
    /// ```
    pub fn builder(base_url: &str) -> Result<ClientBuilder, Error> {
        let base = Url::parse(base_url)
            .map_err(|e| Error::InvalidRequest(format!("base URL `{base_url}`: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::InvalidRequest(format!(
                "base URL `{base_url}` is not an http(s) URL"
            )));
        }
        Ok(ClientBuilder {
            base,
            config: ClientConfig::default(),
            headers: HeaderMap::new(),
            auth: None,
            root_certificates: Vec::new(),
        })
    }

    /// The service's base URL.
    ///
    /// ```
    /// let c = scim_client::Client::builder("http://127.0.0.1:1/scim/v2")?.build()?;
    /// assert_eq!(c.base_url().path(), "/scim/v2");
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The configuration.
    ///
    /// ```
    /// let c = scim_client::Client::builder("http://127.0.0.1:1/scim/v2")?.build()?;
    /// assert_eq!(c.config().page_size, 100);
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// What [`discover`](Client::discover) found, if it ran.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// client.discover().await?;
    /// let found = client.discovery().expect("discovered");
    /// println!("bulk: at most {:?} operations", found.config.bulk_max_operations);
    /// # Ok(()) }
    /// ```
    pub fn discovery(&self) -> Option<Arc<Discovery>> {
        self.inner
            .discovery
            .read()
            .ok()
            .and_then(|d| d.as_ref().cloned())
    }

    pub(crate) fn set_discovery(&self, d: Discovery) {
        if let Ok(mut slot) = self.inner.discovery.write() {
            *slot = Some(Arc::new(d));
        }
    }

    /// The reports kept so far (received resources that did not match the discovered
    /// schema), oldest first.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// client.discover().await?;
    /// let _: scim_client::ListResponse<serde_json::Value> = client.list("/Users", &scim_client::ListQuery::new()).await?;
    /// for r in client.reports() {
    ///     eprintln!("{} {:?}: {}", r.endpoint, r.id, r.message);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn reports(&self) -> Vec<Report> {
        self.inner
            .reports
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn report(&self, report: Report) {
        if let Ok(mut r) = self.inner.reports.lock() {
            if self.inner.config.max_reports == 0 {
                return;
            }
            while r.len() >= self.inner.config.max_reports {
                r.pop_front();
            }
            r.push_back(report);
        }
    }

    /// `base` + `/`-separated `endpoint` segments + each of `more` (percent-encoded).
    pub(crate) fn url(&self, endpoint: &str, more: &[&str]) -> Result<Url, Error> {
        let mut url = self.inner.base.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| Error::InvalidRequest("the base URL cannot take a path".into()))?;
            segs.pop_if_empty();
            for s in endpoint.split('/').filter(|s| !s.is_empty()) {
                if s == "." || s == ".." {
                    return Err(Error::InvalidRequest(format!("endpoint `{endpoint}`")));
                }
                segs.push(s);
            }
            for s in more {
                if s.is_empty() || *s == "." || *s == ".." {
                    return Err(Error::InvalidRequest(format!("`{s}` is not an id")));
                }
                segs.push(s);
            }
        }
        Ok(url)
    }

    /// Sends one request: auth (one refresh and retry after a 401), concurrency limit,
    /// retries on 429/503, size limit. Returns 2xx responses; errors otherwise.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        opts: &RequestOptions,
    ) -> Result<Raw, Error> {
        let cfg = &self.inner.config;
        let idempotent = matches!(
            method,
            Method::GET | Method::PUT | Method::DELETE | Method::HEAD
        );
        let may_retry = idempotent || cfg.retry.non_idempotent || opts.retry_non_idempotent;
        let mut extra = HeaderMap::new();
        for (n, v) in &opts.headers {
            let (n, v) = header_pair(n, v)?;
            extra.append(n, v);
        }
        if let Some(v) = &opts.if_match {
            let (n, v) = header_pair("If-Match", v)?;
            extra.insert(n, v);
        }
        let mut authorization = match &self.inner.auth {
            Some(a) => a.authorization(None).await?,
            None => None,
        };
        let mut refreshed = false;
        let mut attempt: u32 = 0;
        loop {
            let mut request = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .header(
                    reqwest::header::ACCEPT,
                    format!("{SCIM_JSON}, application/json"),
                )
                .headers(self.inner.headers.clone())
                .headers(extra.clone());
            if let Some(a) = &authorization {
                let (n, v) = header_pair("Authorization", a)
                    .map_err(|_| Error::Auth("the token is not a header value".into()))?;
                request = request.header(n, v);
            }
            if let Some(b) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                    .body(b.clone());
            }
            let outcome = {
                let _permit = self
                    .inner
                    .semaphore
                    .acquire()
                    .await
                    .map_err(|_| Error::Transport("the client is closed".into()))?;
                match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let headers = response.headers().clone();
                        read_limited(response, cfg.max_response_bytes, status)
                            .await
                            .map(|body| Raw {
                                status,
                                headers,
                                body,
                            })
                    }
                    Err(e) => Err(if e.is_connect() && attempt < cfg.retry.max_retries {
                        // Nothing was sent: safe to retry whatever the method.
                        Error::Transport(Box::new(ConnectFailed(e.to_string())))
                    } else {
                        Error::transport(e)
                    }),
                }
            };
            let raw = match outcome {
                Ok(raw) => raw,
                Err(Error::Transport(e)) if e.is::<ConnectFailed>() => {
                    tokio::time::sleep(cfg.retry.backoff(attempt, random_u64())).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if (200..300).contains(&raw.status) {
                return Ok(raw);
            }
            if raw.status == 401 && !refreshed {
                if let Some(a) = &self.inner.auth {
                    refreshed = true;
                    let renewed = a.authorization(authorization.as_deref()).await?;
                    // A static token comes back the same: asking again would be refused again.
                    if renewed != authorization {
                        authorization = renewed;
                        continue;
                    }
                }
            }
            if (raw.status == 429 || raw.status == 503)
                && may_retry
                && attempt < cfg.retry.max_retries
            {
                let delay = match retry_after(&raw.headers) {
                    Some(d) if d > cfg.retry.max_retry_after => None,
                    Some(d) => Some(d),
                    None => Some(cfg.retry.backoff(attempt, random_u64())),
                };
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                    attempt += 1;
                    continue;
                }
            }
            let body = ScimErrorBody::from_body(raw.status, &raw.body);
            return Err(if raw.status == 412 {
                Error::PreconditionFailed(body)
            } else {
                Error::Scim(body)
            });
        }
    }

    fn json_body<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(value).map_err(|e| Error::InvalidRequest(format!("not JSON: {e}")))
    }

    pub(crate) fn parse_json(raw: &Raw) -> Result<Value, Error> {
        serde_json::from_slice(&raw.body)
            .map_err(|e| Error::protocol(raw.status, format!("the body is not JSON: {e}")))
    }

    fn with_projection(mut url: Url, opts: &RequestOptions) -> Url {
        if !opts.attributes.is_empty() || !opts.excluded_attributes.is_empty() {
            let mut q = url.query_pairs_mut();
            if !opts.attributes.is_empty() {
                q.append_pair("attributes", &opts.attributes.join(","));
            }
            if !opts.excluded_attributes.is_empty() {
                q.append_pair("excludedAttributes", &opts.excluded_attributes.join(","));
            }
        }
        url
    }

    /// Checks a received resource against the discovered schema, per
    /// [`ClientConfig::response_checks`].
    pub(crate) fn check_received(&self, endpoint: &str, resource: &Value) -> Result<(), Error> {
        if self.inner.config.response_checks == ResponseChecks::Off {
            return Ok(());
        }
        let Some(d) = self.discovery() else {
            return Ok(());
        };
        let Err(message) = d.check_resource(endpoint, resource) else {
            return Ok(());
        };
        if self.inner.config.response_checks == ResponseChecks::Fail {
            return Err(Error::InvalidResponse(message));
        }
        self.report(Report {
            endpoint: endpoint.to_owned(),
            id: resource
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            message,
        });
        Ok(())
    }

    fn resource_from<T: DeserializeOwned>(&self, endpoint: &str, raw: &Raw) -> Result<T, Error> {
        let value = Self::parse_json(raw)?;
        if !value.is_object() {
            return Err(Error::protocol(
                raw.status,
                "the resource is not a JSON object",
            ));
        }
        self.check_received(endpoint, &value)?;
        serde_json::from_value(value).map_err(|e| {
            Error::protocol(
                raw.status,
                format!("the resource does not fit the type: {e}"),
            )
        })
    }

    fn version_of(raw: &Raw, value: &Value) -> Option<String> {
        raw.headers
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| {
                value
                    .get("meta")
                    .and_then(|m| m.get("version"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
    }

    /// Creates a resource (POST, RFC 7644 §3.3) and returns what the server stored.
    ///
    /// # Errors
    /// [`Error::Scim`] with 409 `uniqueness` for a taken `userName`; [`Error::InvalidRequest`]
    /// if validation is on and the resource fails the discovered schema.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let created: scim_client::User = client.create("/Users", &scim_client::User::new("bjensen")).await?;
    /// assert!(created.id.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn create<T: Serialize + DeserializeOwned>(
        &self,
        endpoint: &str,
        resource: &T,
    ) -> Result<T, Error> {
        self.create_with(endpoint, resource, &RequestOptions::new())
            .await
    }

    /// [`create`](Client::create) with options.
    ///
    /// # Errors
    /// As [`create`](Client::create).
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let opts = scim_client::RequestOptions::new().attributes(["id"]);
    /// let created: serde_json::Value = client.create_with("/Users",
    ///     &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"}), &opts).await?;
    /// # let _ = created;
    /// # Ok(()) }
    /// ```
    pub async fn create_with<T: Serialize + DeserializeOwned>(
        &self,
        endpoint: &str,
        resource: &T,
        opts: &RequestOptions,
    ) -> Result<T, Error> {
        let value = serde_json::to_value(resource)
            .map_err(|e| Error::InvalidRequest(format!("not JSON: {e}")))?;
        self.check_outgoing(endpoint, &value)?;
        let url = Self::with_projection(self.url(endpoint, &[])?, opts);
        let raw = self
            .send(Method::POST, url, Some(Self::json_body(&value)?), opts)
            .await?;
        self.resource_from(endpoint, &raw)
    }

    fn check_outgoing(&self, endpoint: &str, value: &Value) -> Result<(), Error> {
        if !self.inner.config.validate_requests {
            return Ok(());
        }
        match self.discovery() {
            Some(d) => d.validate_outgoing(endpoint, value),
            None => Ok(()),
        }
    }

    /// Reads a resource (GET, RFC 7644 §3.4.1).
    ///
    /// # Errors
    /// [`Error::Scim`] with status 404 if there is none.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let user: scim_client::User = client.get("/Users", "2819c223").await?;
    /// println!("{}", user.user_name);
    /// # Ok(()) }
    /// ```
    pub async fn get<T: DeserializeOwned>(&self, endpoint: &str, id: &str) -> Result<T, Error> {
        Ok(self
            .get_with(endpoint, id, &RequestOptions::new())
            .await?
            .resource)
    }

    /// Reads a resource with its version (for `If-Match`), with options.
    ///
    /// # Errors
    /// As [`get`](Client::get).
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// use scim_client::{RequestOptions, User};
    /// let read = client.get_with::<User>("/Users", "2819c223", &RequestOptions::new()).await?;
    /// let opts = RequestOptions::new().if_match(read.version.clone().unwrap_or_default());
    /// client.replace("/Users", "2819c223", &read.resource, &opts).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_with<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        id: &str,
        opts: &RequestOptions,
    ) -> Result<Versioned<T>, Error> {
        let url = Self::with_projection(self.url(endpoint, &[id])?, opts);
        let raw = self.send(Method::GET, url, None, opts).await?;
        let value = Self::parse_json(&raw)?;
        let version = Self::version_of(&raw, &value);
        if !value.is_object() {
            return Err(Error::protocol(
                raw.status,
                "the resource is not a JSON object",
            ));
        }
        self.check_received(endpoint, &value)?;
        let resource = serde_json::from_value(value).map_err(|e| {
            Error::protocol(
                raw.status,
                format!("the resource does not fit the type: {e}"),
            )
        })?;
        Ok(Versioned { resource, version })
    }

    /// The authenticated subject's own resource (`/Me`, RFC 7644 §3.11).
    ///
    /// # Errors
    /// [`Error::Scim`] (often 501 or 404 where `/Me` is not offered).
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let me: scim_client::User = client.me().await?;
    /// println!("signed in as {}", me.user_name);
    /// # Ok(()) }
    /// ```
    pub async fn me<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let raw = self
            .send(
                Method::GET,
                self.url("/Me", &[])?,
                None,
                &RequestOptions::new(),
            )
            .await?;
        self.resource_from("/Me", &raw)
    }

    /// Replaces a resource (PUT, RFC 7644 §3.5.1); `opts.if_match` makes it conditional.
    ///
    /// # Errors
    /// [`Error::PreconditionFailed`] if `If-Match` names an older version.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// use scim_client::{Error, RequestOptions, User};
    /// let mut user = User::new("bjensen");
    /// user.display_name = Some("Babs".into());
    /// match client.replace("/Users", "2819c223", &user, &RequestOptions::new().if_match("W/\"1\"")).await {
    ///     Err(Error::PreconditionFailed(_)) => { /* read it again and retry */ }
    ///     other => { other?; }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn replace<T: Serialize + DeserializeOwned>(
        &self,
        endpoint: &str,
        id: &str,
        resource: &T,
        opts: &RequestOptions,
    ) -> Result<T, Error> {
        let value = serde_json::to_value(resource)
            .map_err(|e| Error::InvalidRequest(format!("not JSON: {e}")))?;
        self.check_outgoing(endpoint, &value)?;
        let url = Self::with_projection(self.url(endpoint, &[id])?, opts);
        let raw = self
            .send(Method::PUT, url, Some(Self::json_body(&value)?), opts)
            .await?;
        self.resource_from(endpoint, &raw)
    }

    /// Writes back a resource read with [`get_with`](Client::get_with) (PUT to its
    /// endpoint and id), only if nobody changed it since: `If-Match` is the version read.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// use scim_client::{Error, RequestOptions, User};
    /// let mut read = client.get_with::<User>("/Users", "2819c223", &RequestOptions::new()).await?;
    /// read.resource.display_name = Some("Babs".into());
    /// match client.update(&read).await {
    ///     Ok(_) => {}
    ///     Err(Error::PreconditionFailed(_)) => { /* changed meanwhile: read again */ }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] if the resource has no id;
    /// [`Error::PreconditionFailed`] if it changed since it was read.
    pub async fn update<R: crate::Resource>(&self, read: &Versioned<R>) -> Result<R, Error> {
        let Some(id) = read.resource.id() else {
            return Err(Error::InvalidRequest("the resource has no id".into()));
        };
        let mut opts = RequestOptions::new();
        if let Some(v) = read.version.as_deref().or_else(|| read.resource.version()) {
            opts = opts.if_match(v);
        }
        self.replace(R::ENDPOINT, id, &read.resource, &opts).await
    }

    /// Modifies a resource (PATCH, RFC 7644 §3.5.2) with `scim_patch`'s request. `None` when
    /// the server answers 204. Refused before sending where the discovered
    /// `/ServiceProviderConfig` says `patch.supported: false`.
    ///
    /// # Errors
    /// [`Error::Unsupported`]; [`Error::Scim`] with `noTarget`, `mutability`…
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let request = scim_patch::PatchRequest::from_json(&serde_json::json!({
    ///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    ///     "Operations": [{"op": "add", "path": "members", "value": [{"value": "2819c223"}]}]
    /// }), &scim_patch::PatchOptions::default()).map_err(|e| scim_client::Error::InvalidRequest(e.to_string()))?;
    /// let opts = scim_client::RequestOptions::new().header("Group-Overhead-Bypass", "true");
    /// client.patch::<scim_client::Group>("/Groups", "e9e30dba", &request, &opts).await?;
    /// # Ok(()) }
    /// ```
    pub async fn patch<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        id: &str,
        request: &PatchRequest,
        opts: &RequestOptions,
    ) -> Result<Option<T>, Error> {
        if let Some(d) = self.discovery() {
            if !d.config.patch {
                return Err(Error::Unsupported(
                    "PATCH (patch.supported is false)".into(),
                ));
            }
        }
        if self.inner.config.validate_requests {
            if let Some(d) = self.discovery() {
                d.validate_patch(endpoint, request)?;
            }
        }
        let body = patch_to_json(request);
        let url = Self::with_projection(self.url(endpoint, &[id])?, opts);
        let raw = self
            .send(Method::PATCH, url, Some(Self::json_body(&body)?), opts)
            .await?;
        if raw.status == 204 || raw.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        self.resource_from(endpoint, &raw).map(Some)
    }

    /// Deletes a resource (RFC 7644 §3.6).
    ///
    /// # Errors
    /// [`Error::Scim`] with 404 if there is none.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// client.delete("/Users", "2819c223", &scim_client::RequestOptions::new()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(
        &self,
        endpoint: &str,
        id: &str,
        opts: &RequestOptions,
    ) -> Result<(), Error> {
        self.send(Method::DELETE, self.url(endpoint, &[id])?, None, opts)
            .await
            .map(|_| ())
    }

    fn check_filter(&self, query: &ListQuery) -> Result<(), Error> {
        if query.filter.is_some() {
            if let Some(d) = self.discovery() {
                if !d.config.filter {
                    return Err(Error::Unsupported(
                        "filtering (filter.supported is false)".into(),
                    ));
                }
            }
        }
        if query.sort.is_some() {
            if let Some(d) = self.discovery() {
                if !d.config.sort {
                    return Err(Error::Unsupported(
                        "sorting (sort.supported is false)".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    fn page_from<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        raw: &Raw,
    ) -> Result<ListResponse<T>, Error> {
        let value = Self::parse_json(raw)?;
        let page: ListResponse<Value> = serde_json::from_value(value)
            .map_err(|e| Error::protocol(raw.status, format!("not a ListResponse: {e}")))?;
        let mut resources = Vec::with_capacity(page.resources.len());
        for r in page.resources {
            if !r.is_object() {
                return Err(Error::protocol(
                    raw.status,
                    "a listed resource is not an object",
                ));
            }
            self.check_received(endpoint, &r)?;
            resources.push(serde_json::from_value(r).map_err(|e| {
                Error::protocol(
                    raw.status,
                    format!("a listed resource does not fit the type: {e}"),
                )
            })?);
        }
        Ok(ListResponse {
            total_results: page.total_results,
            resources,
            start_index: page.start_index,
            items_per_page: page.items_per_page,
            next_cursor: page.next_cursor,
            previous_cursor: page.previous_cursor,
        })
    }

    /// One page of a list (GET with query parameters, RFC 7644 §3.4.2). `endpoint` `""`
    /// lists from the service root.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a filter where `filter.supported` is false;
    /// [`Error::Scim`] with `invalidFilter`, `tooMany`…
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let q = scim_client::ListQuery::new().filter_str(r#"emails.value ew "@example.com""#)?.count(50);
    /// let page = client.list::<scim_client::User>("/Users", &q).await?;
    /// println!("{} of {}", page.resources.len(), page.total_results);
    /// # Ok(()) }
    /// ```
    pub async fn list<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &ListQuery,
    ) -> Result<ListResponse<T>, Error> {
        self.list_with(endpoint, query, &RequestOptions::new())
            .await
    }

    /// [`list`](Client::list) with options (headers).
    ///
    /// # Errors
    /// As [`list`](Client::list).
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let opts = scim_client::RequestOptions::new().header("X-Tenant", "acme");
    /// let page = client.list_with::<serde_json::Value>("/Groups", &scim_client::ListQuery::new(), &opts).await?;
    /// # let _ = page;
    /// # Ok(()) }
    /// ```
    pub async fn list_with<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &ListQuery,
        opts: &RequestOptions,
    ) -> Result<ListResponse<T>, Error> {
        self.check_filter(query)?;
        let mut url = self.url(endpoint, &[])?;
        {
            let pairs = query.to_query_pairs();
            if !pairs.is_empty() {
                let mut q = url.query_pairs_mut();
                for (k, v) in &pairs {
                    q.append_pair(k, v);
                }
            }
        }
        let raw = self.send(Method::GET, url, None, opts).await?;
        self.page_from(endpoint, &raw)
    }

    /// One page of a search (POST `{endpoint}/.search`, RFC 7644 §3.4.3); the query goes
    /// in the body, not the URL. `endpoint` `""` searches from the service root.
    ///
    /// # Errors
    /// As [`list`](Client::list).
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let q = scim_client::ListQuery::new().filter_str(r#"userName sw "b""#)?;
    /// let page = client.search::<serde_json::Value>("", &q).await?; // from the root: every resource type
    /// # let _ = page;
    /// # Ok(()) }
    /// ```
    pub async fn search<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &ListQuery,
    ) -> Result<ListResponse<T>, Error> {
        self.check_filter(query)?;
        let url = self.url(endpoint, &[".search"])?;
        // A search reads; retrying it is safe although it is a POST.
        let opts = RequestOptions::new().retry_non_idempotent();
        let body = Self::json_body(&query.to_search_request())?;
        let raw = self.send(Method::POST, url, Some(body), &opts).await?;
        self.page_from(endpoint, &raw)
    }

    fn use_cursor(&self, query: &ListQuery) -> bool {
        match query.paging {
            Paging::Index => false,
            Paging::Cursor => true,
            _ => self.discovery().is_some_and(|d| d.config.prefers_cursor()),
        }
    }

    /// Every page of a list, one after the other: by `startIndex` and `count`
    /// ([`ClientConfig::page_size`] unless the query sets a count), or by RFC 9865 cursors
    /// where the server advertises them ([`Paging`]). Ends after `totalResults` resources,
    /// an empty page, or a page without `nextCursor`.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// use futures_util::StreamExt;
    /// let mut pages = std::pin::pin!(client.pages::<serde_json::Value>("/Users", scim_client::ListQuery::new().count(200)));
    /// while let Some(page) = pages.next().await {
    ///     let page = page?;
    ///     println!("{} resources of {}", page.resources.len(), page.total_results);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        endpoint: &str,
        query: ListQuery,
    ) -> impl Stream<Item = Result<ListResponse<T>, Error>> + Send + 'static + use<T> {
        let client = self.clone();
        let endpoint = endpoint.to_owned();
        let cursor = self.use_cursor(&query);
        let mut query = query;
        if query.count.is_none() {
            query.count = Some(self.inner.config.page_size as u64);
        }
        if cursor {
            query.start_index = None;
            if query.cursor.is_none() {
                query.cursor = Some(String::new());
            }
        } else {
            query.cursor = None;
            if query.start_index.is_none() {
                query.start_index = Some(1);
            }
        }
        struct State {
            client: Client,
            endpoint: String,
            query: ListQuery,
            cursor: bool,
            seen: u64,
            done: bool,
        }
        let state = State {
            client,
            endpoint,
            query,
            cursor,
            seen: 0,
            done: false,
        };
        futures_util::stream::unfold(state, |mut s| async move {
            if s.done {
                return None;
            }
            let page = s.client.list::<Value>(&s.endpoint, &s.query).await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    s.done = true;
                    return Some((Err(e), s));
                }
            };
            let n = page.resources.len() as u64;
            s.seen += n;
            if s.cursor {
                match &page.next_cursor {
                    Some(c) if s.query.cursor.as_deref() == Some(c.as_str()) => {
                        // The same cursor again would list the same page forever.
                        s.done = true;
                        return Some((
                            Err(Error::protocol(
                                200,
                                "nextCursor repeats the cursor just used",
                            )),
                            s,
                        ));
                    }
                    Some(c) if !c.is_empty() && n > 0 => s.query.cursor = Some(c.clone()),
                    _ => s.done = true,
                }
            } else {
                let start = s.query.start_index.unwrap_or(1);
                s.query.start_index = Some(start.saturating_add(n));
                if n == 0 || s.seen >= page.total_results {
                    s.done = true;
                }
            }
            let typed = page
                .resources
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<Vec<T>, _>>()
                .map(|resources| ListResponse {
                    resources,
                    total_results: page.total_results,
                    start_index: page.start_index,
                    items_per_page: page.items_per_page,
                    next_cursor: page.next_cursor,
                    previous_cursor: page.previous_cursor,
                })
                .map_err(|e| {
                    Error::protocol(200, format!("a listed resource does not fit the type: {e}"))
                });
            if typed.is_err() {
                s.done = true;
            }
            Some((typed, s))
        })
    }

    /// Every resource of a list, page after page ([`pages`](Client::pages)), as a stream.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// # async fn run(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let all: Vec<serde_json::Value> = client
    ///     .list_all("/Users", scim_client::ListQuery::new().filter_str(r#"active eq true"#)?)
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_all<T: DeserializeOwned + Send + 'static>(
        &self,
        endpoint: &str,
        query: ListQuery,
    ) -> impl Stream<Item = Result<T, Error>> + Send + 'static + use<T> {
        use futures_util::StreamExt;
        self.pages::<T>(endpoint, query).flat_map(|page| {
            let items: Vec<Result<T, Error>> = match page {
                Ok(p) => p.resources.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            futures_util::stream::iter(items)
        })
    }

    /// Sends a raw request to `path` (relative to the base URL) and returns the status and
    /// the JSON body (`Null` for an empty one): for endpoints this client has no method for.
    ///
    /// # Errors
    /// As any request.
    ///
    /// ```no_run
    /// # async fn demo(client: scim_client::Client) -> Result<(), scim_client::Error> {
    /// let (status, body) = client
    ///     .request(scim_client::Method::GET, "/ServiceProviderConfig", None, &scim_client::RequestOptions::new())
    ///     .await?;
    /// assert_eq!(status, 200);
    /// # let _ = body;
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        opts: &RequestOptions,
    ) -> Result<(u16, Value), Error> {
        let url = self.url(path, &[])?;
        let body = body.map(Self::json_body).transpose()?;
        let raw = self.send(method, url, body, opts).await?;
        if raw.body.iter().all(u8::is_ascii_whitespace) {
            return Ok((raw.status, Value::Null));
        }
        Ok((raw.status, Self::parse_json(&raw)?))
    }
}

#[derive(Debug)]
struct ConnectFailed(String);
impl std::fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConnectFailed {}

/// A `scim_patch` request as the PatchOp message (RFC 7644 §3.5.2).
///
/// ```
/// use scim_patch::{PatchOptions, PatchRequest};
/// let msg = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "replace", "path": "displayName", "value": "Babs"}]});
/// let request = PatchRequest::from_json(&msg, &PatchOptions::default()).unwrap();
/// assert_eq!(scim_client::patch_to_json(&request), msg);
/// ```
pub fn patch_to_json(request: &PatchRequest) -> Value {
    let ops: Vec<Value> = request
        .operations
        .iter()
        .map(|op| {
            let mut o = Map::new();
            o.insert("op".into(), Value::String(op.op.as_str().to_owned()));
            let path = op
                .path_text
                .clone()
                .or_else(|| op.path.as_ref().map(ToString::to_string));
            if let Some(p) = path {
                o.insert("path".into(), Value::String(p));
            }
            if let Some(v) = &op.value {
                o.insert("value".into(), v.clone());
            }
            Value::Object(o)
        })
        .collect();
    json!({"schemas": [scim_patch::PATCH_OP], "Operations": ops})
}
