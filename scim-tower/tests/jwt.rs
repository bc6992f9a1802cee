//! JWT bearer tokens, signed in the test with keys it generates: every check refuses with
//! a 401 that says why, and a good token's claims become the request context.

#![cfg(feature = "jwt")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::{encode, EncodingKey, Header};
use scim_core::Scopes;
use scim_tower::{Algorithm, Authenticate, JwkSet, JwtAuth, JwtConfig, Unauthorized};
use serde_json::{json, Value};

const ISS: &str = "https://idp.example.com";
const AUD: &str = "scim-api";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key and its public JWK.
struct Signer {
    alg: Algorithm,
    kid: String,
    key: EncodingKey,
    jwk: Value,
}

fn es256(kid: &str) -> Signer {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = pair.public_key_raw();
    Signer {
        alg: Algorithm::ES256,
        kid: kid.into(),
        key: EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
            "x": b64(&raw[1..33]), "y": b64(&raw[33..65])}),
    }
}

fn eddsa(kid: &str) -> Signer {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    Signer {
        alg: Algorithm::EdDSA,
        kid: kid.into(),
        key: EncodingKey::from_ed_der(&pair.serialize_der()),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA",
            "x": b64(pair.public_key_raw())}),
    }
}

fn rs256(kid: &str) -> Signer {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    Signer {
        alg: Algorithm::RS256,
        kid: kid.into(),
        key: EncodingKey::from_rsa_der(key.to_pkcs1_der().unwrap().as_bytes()),
        jwk: json!({"kty": "RSA", "kid": kid, "alg": "RS256",
            "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be())}),
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "2819c223", "exp": now() + 300, "nbf": now() - 10,
        "scope": "https://gluu.org/scim/users.read https://gluu.org/scim/users.write",
        "tid": "acme"})
}

impl Signer {
    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.key).unwrap()
    }
}

fn set(signers: &[&Signer]) -> JwkSet {
    serde_json::from_value(
        json!({"keys": signers.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>()}),
    )
    .unwrap()
}

fn head(token: &str) -> http::request::Parts {
    http::Request::get("/Users")
        .header("Authorization", format!("Bearer {token}"))
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn check(auth: &JwtAuth, token: &str) -> Result<scim_core::RequestContext, Unauthorized> {
    scim_core::block_on(auth.authenticate(&head(token)))
}

fn refused(auth: &JwtAuth, token: &str) -> String {
    match check(auth, token) {
        Err(Unauthorized::InvalidToken(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn config() -> JwtConfig {
    let mut c = JwtConfig::new(ISS, AUD);
    c.tenant_claim = Some("tid".into());
    c
}

#[test]
fn good_tokens_of_every_algorithm_become_the_request_context() {
    let signers = [es256("ec"), eddsa("ed"), rs256("rsa")];
    let auth = JwtAuth::new(config(), &set(&signers.iter().collect::<Vec<_>>())).unwrap();
    for s in &signers {
        let ctx = check(&auth, &s.sign(&claims())).unwrap_or_else(|e| panic!("{:?}: {e}", s.alg));
        assert_eq!(ctx.tenant, "acme");
        assert_eq!(ctx.subject.as_deref(), Some("2819c223"));
        assert!(ctx.scopes.allows("https://gluu.org/scim/users.write"));
        assert!(!ctx.scopes.allows("https://gluu.org/scim/groups.read"));
    }
}

#[test]
fn every_failed_check_says_why() {
    let good = es256("k1");
    let auth = JwtAuth::new(config(), &set(&[&good])).unwrap();
    let with = |patch: Value| {
        let mut c = claims();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        good.sign(&c)
    };
    assert_eq!(
        refused(&auth, &with(json!({"exp": now() - 3600}))),
        "the token has expired"
    );
    // Within the leeway: still good.
    assert!(check(&auth, &with(json!({"exp": now() - 30}))).is_ok());
    assert_eq!(
        refused(&auth, &with(json!({"nbf": now() + 3600}))),
        "the token is not yet valid"
    );
    assert_eq!(
        refused(&auth, &with(json!({"aud": "someone-else"}))),
        "wrong audience"
    );
    assert_eq!(
        refused(&auth, &with(json!({"iss": "https://evil.example"}))),
        "wrong issuer"
    );
    let no_exp = {
        let mut c = claims();
        c.as_object_mut().unwrap().remove("exp");
        good.sign(&c)
    };
    assert!(refused(&auth, &no_exp).contains("required claim"));
    let no_tenant = {
        let mut c = claims();
        c.as_object_mut().unwrap().remove("tid");
        good.sign(&c)
    };
    assert_eq!(refused(&auth, &no_tenant), "the token has no `tid` claim");

    // Signed by a key the issuer's set does not hold (same kid): bad signature.
    let impostor = es256("k1");
    assert_eq!(refused(&auth, &impostor.sign(&claims())), "bad signature");
    // A kid the set does not have.
    let stranger = es256("k2");
    assert!(refused(&auth, &stranger.sign(&claims())).contains("no key"));
    // A tampered payload.
    let token = good.sign(&claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = b64(
        serde_json::to_string(&json!({"iss": ISS, "aud": AUD, "exp": now() + 300,
        "tid": "globex", "scope": "all"}))
        .unwrap()
        .as_bytes(),
    );
    assert_eq!(refused(&auth, &parts.join(".")), "bad signature");
    assert_eq!(refused(&auth, "not-a-jwt"), "malformed token");
    assert!(matches!(
        scim_core::block_on(
            auth.authenticate(&http::Request::get("/").body(()).unwrap().into_parts().0)
        ),
        Err(Unauthorized::Missing)
    ));
}

#[test]
fn alg_none_and_hmac_key_confusion_are_refused() {
    let good = rs256("r1");
    let auth = JwtAuth::new(config(), &set(&[&good])).unwrap();
    // `alg: none`, no signature.
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims().to_string().as_bytes())
    );
    assert_eq!(refused(&auth, &none), "malformed token");
    // HS256 "signed" with the RSA public key's bytes as the secret (key confusion).
    let n = good.jwk["n"].as_str().unwrap();
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(n.as_bytes()),
    )
    .unwrap();
    assert_eq!(refused(&auth, &forged), "algorithm not allowed");
    // HMAC with a configured secret is accepted when allowed.
    let mut c = config();
    c.hmac_secret = Some(b"shared-secret-of-32-bytes-at-least!".to_vec());
    c.algorithms.push(Algorithm::HS256);
    let hmac = JwtAuth::new(c, &set(&[&good])).unwrap();
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"shared-secret-of-32-bytes-at-least!"),
    )
    .unwrap();
    assert!(check(&hmac, &token).is_ok());
    let wrong = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"another-secret"),
    )
    .unwrap();
    assert_eq!(refused(&hmac, &wrong), "bad signature");
    // An algorithm left out of the configuration.
    let mut only_es = config();
    only_es.algorithms = vec![Algorithm::ES256];
    let strict = JwtAuth::new(only_es, &set(&[&good])).unwrap();
    assert_eq!(
        refused(&strict, &good.sign(&claims())),
        "algorithm not allowed"
    );
}

#[test]
fn scopes_map_to_engine_scopes_from_scope_or_scp() {
    let s = eddsa("e1");
    let mut c = config();
    c.scope_map = HashMap::from([
        (
            "scim.read".to_owned(),
            vec!["https://gluu.org/scim/users.read".to_owned()],
        ),
        ("scim.admin".to_owned(), vec!["all".to_owned()]),
    ]);
    let auth = JwtAuth::new(c, &set(&[&s])).unwrap();
    let with_scopes = |v: Value, key: &str| {
        let mut cl = claims();
        cl.as_object_mut().unwrap().remove("scope");
        cl[key] = v;
        check(&auth, &s.sign(&cl)).unwrap().scopes
    };
    let read = with_scopes(json!("scim.read other"), "scope");
    assert!(read.allows("https://gluu.org/scim/users.read"));
    assert!(!read.allows("https://gluu.org/scim/users.write"));
    assert_eq!(with_scopes(json!(["scim.admin"]), "scp"), Scopes::All);
    assert_eq!(
        with_scopes(json!(["unknown"]), "scp"),
        Scopes::Granted(Default::default())
    );
}

#[test]
fn a_rotated_key_is_fetched_once_and_then_used() {
    let old = es256("2025");
    let new = es256("2026");
    let served = Arc::new(Mutex::new(set(&[&old])));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (s, f) = (Arc::clone(&served), Arc::clone(&fetches));
    let refresh: scim_tower::Refresh = Arc::new(move || {
        f.fetch_add(1, Ordering::SeqCst);
        let set = s.lock().unwrap().clone();
        Box::pin(async move { Ok(set) })
    });
    let mut c = config();
    c.min_refresh = std::time::Duration::ZERO;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let auth = rt.block_on(JwtAuth::refreshing(c, refresh)).unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    assert!(rt
        .block_on(auth.authenticate(&head(&old.sign(&claims()))))
        .is_ok());
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "a known kid fetches nothing"
    );
    // The issuer rotates: the new kid is unknown until the set is fetched again.
    *served.lock().unwrap() = set(&[&new]);
    assert!(rt
        .block_on(auth.authenticate(&head(&new.sign(&claims()))))
        .is_ok());
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // The old key is gone from the set: its tokens no longer verify.
    assert!(rt
        .block_on(auth.authenticate(&head(&old.sign(&claims()))))
        .is_err());
}
