//! Authentication: a static bearer token, OAuth 2.0 client credentials (RFC 6749 §4.4) with
//! the token cached and refreshed before it expires, or a hook for anything else.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio::time::Instant;

use crate::Error;

/// A boxed future, as [`AuthHook`] returns.
///
/// ```
/// let f: scim_client::BoxFuture<'static, u8> = Box::pin(async { 1 });
/// # let _ = f;
/// ```
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Gives the `Authorization` header of each request.
///
/// `rejected` is `None` for a request's first attempt; after a 401 it is the header value the
/// server refused, and the hook should get a new one (if it still has that one) — the client
/// retries a 401 once. Implement it for UMA, mutual-TLS-bound tokens, signed requests…
///
/// ```
/// use scim_client::{AuthHook, BoxFuture, Error};
/// struct Fixed;
/// impl AuthHook for Fixed {
///     fn authorization<'a>(&'a self, _rejected: Option<&'a str>) -> BoxFuture<'a, Result<Option<String>, Error>> {
///         Box::pin(async { Ok(Some("Bearer abc".to_owned())) })
///     }
/// }
/// let _client = scim_client::Client::builder("http://127.0.0.1:1/scim/v2")?.auth(Fixed).build()?;
/// # Ok::<(), scim_client::Error>(())
/// ```
pub trait AuthHook: Send + Sync + 'static {
    /// The header value to send, or `None` for no header.
    fn authorization<'a>(
        &'a self,
        rejected: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<String>, Error>>;
}

/// A static bearer token. Its `Debug` does not show the token.
///
/// ```
/// let token = scim_client::Bearer::new("s3cret");
/// assert!(!format!("{token:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct Bearer(Arc<str>);

impl Bearer {
    /// The token (without `Bearer `).
    ///
    /// ```
    /// let _client = scim_client::Client::builder("http://127.0.0.1:1/scim/v2")?
    ///     .auth(scim_client::Bearer::new("s3cret"))
    ///     .build()?;
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn new(token: impl Into<String>) -> Self {
        Bearer(Arc::from(token.into()))
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer(***)")
    }
}

impl AuthHook for Bearer {
    fn authorization<'a>(
        &'a self,
        _rejected: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<String>, Error>> {
        let value = format!("Bearer {}", self.0);
        Box::pin(async move { Ok(Some(value)) })
    }
}

/// How a client authenticates at the token endpoint (RFC 6749 §2.3.1).
///
/// ```
/// assert_eq!(scim_client::ClientAuthMethod::default(), scim_client::ClientAuthMethod::Basic);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret.
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
}

struct Cached {
    header: String,
    /// When to stop using it (its expiry less the margin); `None`: until a 401.
    refresh_at: Option<Instant>,
}

/// OAuth 2.0 client credentials (RFC 6749 §4.4): the token is fetched on first use, cached,
/// and fetched again `refresh_margin` before `expires_in` runs out, or after a 401. Requests
/// waiting for a token share one fetch. Its `Debug` does not show the secret.
///
/// ```
/// use scim_client::{ClientAuthMethod, ClientCredentials};
/// let creds = ClientCredentials::new("https://idp.example.com/token", "my-client", "s3cret")
///     .method(ClientAuthMethod::Post)
///     .scope("https://gluu.org/scim/users.read");
/// assert!(!format!("{creds:?}").contains("s3cret"));
/// ```
pub struct ClientCredentials {
    token_url: String,
    client_id: String,
    client_secret: String,
    method: ClientAuthMethod,
    scope: Option<String>,
    refresh_margin: Duration,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<Option<Cached>>,
    fetches: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("method", &self.method)
            .field("scope", &self.scope)
            .finish()
    }
}

impl ClientCredentials {
    /// Credentials for `token_url`.
    ///
    /// ```
    /// let creds = scim_client::ClientCredentials::new("https://idp.example.com/token", "id", "secret");
    /// assert_eq!(creds.fetches(), 0);
    /// ```
    pub fn new(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        ClientCredentials {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            method: ClientAuthMethod::Basic,
            scope: None,
            refresh_margin: Duration::from_secs(30),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            cache: tokio::sync::Mutex::new(None),
            fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `client_secret_basic` (default) or `client_secret_post`.
    ///
    /// ```
    /// use scim_client::{ClientAuthMethod, ClientCredentials};
    /// let c = ClientCredentials::new("http://x/token", "id", "secret").method(ClientAuthMethod::Post);
    /// # let _ = c;
    /// ```
    pub fn method(mut self, method: ClientAuthMethod) -> Self {
        self.method = method;
        self
    }

    /// The `scope` parameter (space-separated scopes).
    ///
    /// ```
    /// let c = scim_client::ClientCredentials::new("http://x/token", "id", "secret")
    ///     .scope("https://gluu.org/scim/users.read https://gluu.org/scim/users.write");
    /// # let _ = c;
    /// ```
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// How long before `expires_in` runs out a new token is fetched (default 30 s; a token
    /// living less than twice this is refreshed at half its life).
    ///
    /// ```
    /// let c = scim_client::ClientCredentials::new("http://x/token", "id", "secret")
    ///     .refresh_margin(std::time::Duration::from_secs(60));
    /// # let _ = c;
    /// ```
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The HTTP client for the token endpoint (default: one of its own, 30 s timeout).
    ///
    /// ```
    /// let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().unwrap();
    /// let c = scim_client::ClientCredentials::new("http://x/token", "id", "secret").http_client(http);
    /// # let _ = c;
    /// ```
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// How many times a token was fetched so far.
    ///
    /// ```
    /// let c = scim_client::ClientCredentials::new("http://x/token", "id", "secret");
    /// assert_eq!(c.fetches(), 0);
    /// ```
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn fetch(&self) -> Result<Cached, Error> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let mut request = self.http.post(&self.token_url);
        match self.method {
            ClientAuthMethod::Basic => {
                // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
                let pair = format!(
                    "{}:{}",
                    form_encode(&self.client_id),
                    form_encode(&self.client_secret)
                );
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                request =
                    request.header(reqwest::header::AUTHORIZATION, format!("Basic {encoded}"));
            }
            ClientAuthMethod::Post => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", &self.client_secret));
            }
        }
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| Error::Auth(format!("token endpoint: {e}")))?;
        let status = response.status().as_u16();
        let body = crate::client::read_limited(response, 1 << 20, status)
            .await
            .map_err(|e| Error::Auth(format!("token endpoint: {e}")))?;
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
            Error::Auth(format!(
                "token endpoint answered {status} without a JSON body"
            ))
        })?;
        if !(200..300).contains(&status) {
            let error = json.get("error").and_then(|v| v.as_str()).unwrap_or("?");
            let description = json
                .get("error_description")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            return Err(Error::Auth(format!(
                "token endpoint refused ({status}): {error} {description}"
            )));
        }
        let Some(token) = json.get("access_token").and_then(|v| v.as_str()) else {
            return Err(Error::Auth("token response has no access_token".into()));
        };
        if token.is_empty() || token.chars().any(|c| c.is_control()) {
            return Err(Error::Auth(
                "token response has an unusable access_token".into(),
            ));
        }
        let expires_in = match json.get("expires_in") {
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok())),
            None => None,
        };
        let refresh_at = expires_in.map(|secs| {
            let life = Duration::from_secs(secs.min(365 * 86_400));
            let margin = self.refresh_margin.min(life / 2);
            Instant::now() + (life - margin)
        });
        Ok(Cached {
            header: format!("Bearer {token}"),
            refresh_at,
        })
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl AuthHook for ClientCredentials {
    fn authorization<'a>(
        &'a self,
        rejected: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(async move {
            let mut cache = self.cache.lock().await;
            let usable = match cache.as_ref() {
                None => false,
                Some(c) if rejected == Some(c.header.as_str()) => false,
                Some(c) => c.refresh_at.is_none_or(|at| Instant::now() < at),
            };
            if !usable {
                *cache = Some(self.fetch().await?);
            }
            Ok(cache.as_ref().map(|c| c.header.clone()))
        })
    }
}

impl<T: AuthHook> AuthHook for Arc<T> {
    fn authorization<'a>(
        &'a self,
        rejected: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<String>, Error>> {
        (**self).authorization(rejected)
    }
}
