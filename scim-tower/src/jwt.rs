//! OAuth 2.0 JWT access tokens (RFC 9068) verified against a JSON Web Key Set: [`JwtAuth`]
//! (feature `jwt`).
//!
//! What is checked: the signature, with a key of the set (by `kid`, or each key when the
//! token names none) and an algorithm the configuration allows (RS256, ES256 and EdDSA by
//! default; `none` never; HMAC only with a configured secret, so a public key can never be
//! used as an HMAC secret); the issuer; the audience; `exp` and `nbf` with a small leeway.
//! The scopes come from the `scope` claim (space-separated) or `scp` (an array or a
//! string), mapped to the engine's scopes ([`JwtConfig::scope_map`]); the tenant from a
//! claim of your choice; the subject (for `/Me`) from `sub` or another claim.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http::request::Parts;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, Validation};
use scim_core::{RequestContext, Scopes};
use serde_json::Value;

use crate::{bearer_of, Authenticate, Unauthorized};

/// What a [`JwtAuth`] accepts and how it reads a token's claims.
///
/// ```
/// let config = scim_tower::JwtConfig::new("https://idp.example.com", "scim-api");
/// assert_eq!(config.leeway, std::time::Duration::from_secs(60));
/// assert_eq!(config.subject_claim.as_deref(), Some("sub"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct JwtConfig {
    /// The `iss` every token must carry.
    pub issuer: String,
    /// A value the token's `aud` must hold.
    pub audience: String,
    /// The algorithms accepted (default RS256, ES256, EdDSA). HS256/384/512 count only with
    /// [`JwtConfig::hmac_secret`].
    pub algorithms: Vec<Algorithm>,
    /// Tolerance on `exp` and `nbf` (default 60 s).
    pub leeway: Duration,
    /// The shared secret for HMAC-signed tokens; `None` (the default) refuses them.
    pub hmac_secret: Option<Vec<u8>>,
    /// Token scope → the engine scopes it grants (the Gluu/Janssen scope URIs, or `"all"`
    /// for every operation). Empty (the default): a token's scopes are the engine's scopes
    /// as they are (`https://gluu.org/scim/users.read`, …).
    pub scope_map: HashMap<String, Vec<String>>,
    /// The claim naming the tenant (e.g. Entra ID's `tid`); `None`: tenant `default`. A
    /// token without it is refused.
    pub tenant_claim: Option<String>,
    /// The claim naming the caller's own resource id, for `/Me` (default `sub`).
    pub subject_claim: Option<String>,
    /// How long a fetched key set is used before it is fetched again (default 5 min); an
    /// unknown `kid` fetches it sooner, at most once per [`JwtConfig::min_refresh`].
    pub refresh_every: Duration,
    /// The least time between two fetches (default 30 s).
    pub min_refresh: Duration,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field(
                "hmac_secret",
                &self.hmac_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("tenant_claim", &self.tenant_claim)
            .field("subject_claim", &self.subject_claim)
            .finish_non_exhaustive()
    }
}

impl JwtConfig {
    /// Tokens from `issuer` for `audience`, with the defaults.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        JwtConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
            leeway: Duration::from_secs(60),
            hmac_secret: None,
            scope_map: HashMap::new(),
            tenant_claim: None,
            subject_claim: Some("sub".to_owned()),
            refresh_every: Duration::from_secs(300),
            min_refresh: Duration::from_secs(30),
        }
    }
}

/// Fetches the key set again (from a URL, say); the host supplies it, this crate does no
/// I/O of its own.
pub type Refresh =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<JwkSet, String>> + Send>> + Send + Sync>;

/// The keys in use and when they were fetched.
struct Keys {
    by_kid: Vec<(Option<String>, DecodingKey, Option<Algorithm>)>,
    fetched: Instant,
}

/// Verifies JWT bearer tokens: an [`Authenticate`] for OAuth 2.0 access tokens.
///
/// ```
/// use scim_tower::{JwtAuth, JwtConfig};
/// let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(r#"{"keys": [{
///     "kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
///     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#)?;
/// let auth = JwtAuth::new(JwtConfig::new("https://idp.example.com", "scim"), &jwks)?;
/// assert_eq!(auth.key_count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct JwtAuth {
    config: Arc<JwtConfig>,
    keys: Arc<RwLock<Keys>>,
    refresh: Option<Refresh>,
    refreshing: Arc<tokio::sync::Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuth")
            .field("config", &self.config)
            .field("keys", &self.key_count())
            .finish_non_exhaustive()
    }
}

/// A key set that cannot be used: no usable key in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySetError(String);

impl std::fmt::Display for KeySetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JWKS: {}", self.0)
    }
}

impl std::error::Error for KeySetError {}

fn keys_of(set: &JwkSet) -> Result<Keys, KeySetError> {
    let mut by_kid = Vec::new();
    for jwk in &set.keys {
        // A key this crate cannot use (an unknown type) is skipped, not fatal.
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            let alg = jwk
                .common
                .key_algorithm
                .and_then(|a| a.to_string().parse::<Algorithm>().ok());
            by_kid.push((jwk.common.key_id.clone(), key, alg));
        }
    }
    if by_kid.is_empty() {
        return Err(KeySetError("no usable key in the set".into()));
    }
    Ok(Keys {
        by_kid,
        fetched: Instant::now(),
    })
}

impl JwtAuth {
    /// Verifies with the keys of `jwks` (read from a file, say), never fetched again.
    pub fn new(config: JwtConfig, jwks: &JwkSet) -> Result<Self, KeySetError> {
        Ok(JwtAuth {
            keys: Arc::new(RwLock::new(keys_of(jwks)?)),
            config: Arc::new(config),
            refresh: None,
            refreshing: Arc::new(tokio::sync::Mutex::new(None)),
        })
    }

    /// Verifies with the keys `refresh` fetches: once now, then again when they are older
    /// than [`JwtConfig::refresh_every`] or a token names a `kid` they lack. A failed fetch
    /// keeps the keys in use.
    pub async fn refreshing(config: JwtConfig, refresh: Refresh) -> Result<Self, KeySetError> {
        let set = refresh().await.map_err(KeySetError)?;
        let mut auth = JwtAuth::new(config, &set)?;
        auth.refresh = Some(refresh);
        Ok(auth)
    }

    /// How many usable keys there are.
    pub fn key_count(&self) -> usize {
        self.keys.read().map_or(0, |k| k.by_kid.len())
    }

    /// Fetches the keys again unless that was done less than `min_refresh` ago (or another
    /// request is doing it: it then waits for that one).
    async fn refetch(&self, force: bool) {
        let Some(refresh) = &self.refresh else {
            return;
        };
        let mut last = self.refreshing.lock().await;
        let fetched = self.keys.read().map(|k| k.fetched).ok();
        let due = match fetched {
            Some(at) if !force => at.elapsed() >= self.config.refresh_every,
            _ => true,
        };
        let recent = last.is_some_and(|at| at.elapsed() < self.config.min_refresh);
        if !due || recent {
            return;
        }
        *last = Some(Instant::now());
        match refresh()
            .await
            .map_err(KeySetError)
            .and_then(|s| keys_of(&s))
        {
            Ok(keys) => {
                if let Ok(mut k) = self.keys.write() {
                    *k = keys;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not fetch the JWKS; keeping the keys in use")
            }
        }
    }

    /// The claims of `token` if it verifies.
    async fn verify(&self, token: &str) -> Result<serde_json::Map<String, Value>, Unauthorized> {
        let invalid = |why: &str| Unauthorized::InvalidToken(why.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed token"))?;
        if !self.config.algorithms.contains(&header.alg) {
            return Err(invalid("algorithm not allowed"));
        }
        let hmac = matches!(
            header.alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        );
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        if hmac {
            let secret = self
                .config
                .hmac_secret
                .as_deref()
                .ok_or_else(|| invalid("algorithm not allowed"))?;
            return decode(token, &DecodingKey::from_secret(secret), &validation);
        }
        self.refetch(false).await;
        let mut outcome = self.with_keys(token, header.kid.as_deref(), header.alg, &validation);
        if matches!(&outcome, Err(Unauthorized::InvalidToken(w)) if w == UNKNOWN_KEY) {
            // A key rotated in since the last fetch.
            self.refetch(true).await;
            outcome = self.with_keys(token, header.kid.as_deref(), header.alg, &validation);
        }
        outcome
    }

    fn with_keys(
        &self,
        token: &str,
        kid: Option<&str>,
        alg: Algorithm,
        validation: &Validation,
    ) -> Result<serde_json::Map<String, Value>, Unauthorized> {
        let keys = self
            .keys
            .read()
            .map_err(|_| Unauthorized::InvalidToken("no keys".into()))?;
        let mut last = Err(Unauthorized::InvalidToken(UNKNOWN_KEY.into()));
        for (key_id, key, key_alg) in &keys.by_kid {
            if kid.is_some() && key_id.as_deref() != kid {
                continue;
            }
            if key_alg.is_some_and(|a| a != alg) {
                continue;
            }
            last = decode(token, key, validation);
            if last.is_ok() || kid.is_some() {
                return last;
            }
        }
        last
    }

    /// The request context for verified `claims`.
    fn context(
        &self,
        claims: &serde_json::Map<String, Value>,
    ) -> Result<RequestContext, Unauthorized> {
        let mut ctx = RequestContext::new(chrono::Utc::now()).scopes(self.scopes(claims));
        if let Some(claim) = &self.config.tenant_claim {
            let tenant = claims.get(claim).and_then(Value::as_str).ok_or_else(|| {
                Unauthorized::InvalidToken(format!("the token has no `{claim}` claim"))
            })?;
            ctx = ctx.tenant(tenant);
        }
        if let Some(claim) = &self.config.subject_claim {
            if let Some(sub) = claims.get(claim).and_then(Value::as_str) {
                ctx = ctx.subject(sub);
            }
        }
        Ok(ctx)
    }

    /// The engine scopes the token's `scope` or `scp` grant.
    fn scopes(&self, claims: &serde_json::Map<String, Value>) -> Scopes {
        let granted: Vec<&str> = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(s)), _) | (None, Some(Value::String(s))) => {
                s.split_ascii_whitespace().collect()
            }
            (_, Some(Value::Array(items))) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if self.config.scope_map.is_empty() {
            return Scopes::of(granted);
        }
        let mut out = BTreeSet::new();
        for scope in granted {
            for engine_scope in self.config.scope_map.get(scope).into_iter().flatten() {
                if engine_scope == "all" {
                    return Scopes::All;
                }
                out.insert(engine_scope.clone());
            }
        }
        Scopes::Granted(out)
    }
}

const UNKNOWN_KEY: &str = "no key of the issuer's set signed it";

fn decode(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<serde_json::Map<String, Value>, Unauthorized> {
    jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|e| {
            Unauthorized::InvalidToken(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not yet valid",
                    ErrorKind::InvalidAudience => "wrong audience",
                    ErrorKind::InvalidIssuer => "wrong issuer",
                    ErrorKind::InvalidSignature => "bad signature",
                    ErrorKind::InvalidAlgorithm => "algorithm not allowed",
                    ErrorKind::MissingRequiredClaim(_) => {
                        "a required claim (exp, iss, aud) is missing"
                    }
                    _ => "malformed token",
                }
                .to_owned(),
            )
        })
}

impl Authenticate for JwtAuth {
    async fn authenticate(&self, head: &Parts) -> Result<RequestContext, Unauthorized> {
        let claims = self.verify(bearer_of(head)?).await?;
        self.context(&claims)
    }
}

/// Whether `token` has the shape of a JWT (three base64url parts), so a host that also
/// knows static tokens asks the [`JwtAuth`] only about these.
///
/// ```
/// assert!(scim_tower::looks_like_jwt("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
/// assert!(!scim_tower::looks_like_jwt("s3cret"));
/// ```
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}
