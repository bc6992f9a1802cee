//! How passwords are stored: a salted slow hash in the PHC string format.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::{Entropy, SecretError};

/// A password in clear, borrowed from a request: it prints as `<redacted>`, so it cannot end
/// up in a log through `Debug` or `Display`.
///
/// ```
/// let p = scim_core::secret::Cleartext::new("hunter2");
/// assert_eq!(format!("{p:?}"), "Cleartext(<redacted>)");
/// assert_eq!(p.expose(), "hunter2");
/// ```
#[derive(Clone, Copy)]
pub struct Cleartext<'a>(&'a str);

impl<'a> Cleartext<'a> {
    /// Wraps a cleartext.
    pub fn new(text: &'a str) -> Self {
        Cleartext(text)
    }

    /// The cleartext itself, for the hash function.
    pub fn expose(&self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for Cleartext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cleartext(<redacted>)")
    }
}

impl fmt::Display for Cleartext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How a service stores passwords. The engine calls [`hash`](PasswordScheme::hash) for every
/// new `returned: never` value; a host whose users live in a directory with another scheme
/// (Gluu's use SSHA or bcrypt) implements this trait for it.
///
/// ```
/// use scim_core::secret::{Cleartext, PasswordScheme, SecretError};
///
/// /// Hands the password to a directory that hashes it itself and stores a reference.
/// struct Directory;
/// impl PasswordScheme for Directory {
///     fn hash(&self, _: &Cleartext<'_>) -> Result<String, SecretError> {
///         Ok("{DIRECTORY}managed".into())
///     }
///     fn verify(&self, _: &Cleartext<'_>, _: &str) -> Result<bool, SecretError> {
///         Ok(false)
///     }
///     fn is_hash(&self, stored: &str) -> bool {
///         stored.starts_with("{DIRECTORY}")
///     }
/// }
/// assert!(Directory.is_hash(&Directory.hash(&Cleartext::new("x"))?));
/// # Ok::<(), SecretError>(())
/// ```
pub trait PasswordScheme: Send + Sync {
    /// The string to store for `password` (a PHC string such as `$argon2id$v=19$…`).
    fn hash(&self, password: &Cleartext<'_>) -> Result<String, SecretError>;

    /// Whether `password` is the one `stored` was made from. `Ok(false)` for a `stored`
    /// value this scheme does not recognise.
    fn verify(&self, password: &Cleartext<'_>, stored: &str) -> Result<bool, SecretError>;

    /// Whether `stored` is a hash this scheme made (and so is not a cleartext left by an
    /// older version of a store, to be hashed on migration).
    fn is_hash(&self, stored: &str) -> bool;
}

/// Argon2id's cost parameters (RFC 9106). The default is OWASP's recommendation for
/// Argon2id: 19 MiB of memory, 2 passes, 1 lane.
///
/// ```
/// let p = scim_core::secret::Argon2Params::default();
/// assert_eq!((p.memory_kib, p.iterations, p.lanes), (19 * 1024, 2, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Argon2Params {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Degree of parallelism.
    pub lanes: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            memory_kib: 19 * 1024,
            iterations: 2,
            lanes: 1,
        }
    }
}

impl Argon2Params {
    /// Parameters with the given costs.
    ///
    /// ```
    /// let p = scim_core::secret::Argon2Params::new(64 * 1024, 3, 4);
    /// assert_eq!(p.lanes, 4);
    /// ```
    pub fn new(memory_kib: u32, iterations: u32, lanes: u32) -> Self {
        Argon2Params {
            memory_kib,
            iterations,
            lanes,
        }
    }

    /// The cheapest parameters Argon2 accepts (8 KiB, 1 pass): for tests that create many
    /// users, never for a service.
    ///
    /// ```
    /// assert_eq!(scim_core::secret::Argon2Params::fast_for_tests().memory_kib, 8);
    /// ```
    pub fn fast_for_tests() -> Self {
        Argon2Params {
            memory_kib: 8,
            iterations: 1,
            lanes: 1,
        }
    }
}

/// Argon2id (RFC 9106) with a random 16-byte salt per hash, stored as a PHC string:
/// the default [`PasswordScheme`].
#[derive(Clone)]
pub struct Argon2id {
    hasher: Argon2<'static>,
    params: Argon2Params,
    entropy: Arc<dyn Entropy>,
}

impl fmt::Debug for Argon2id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2id")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Argon2id {
    /// Argon2id with `params`, taking salts from `entropy`. Parameters Argon2 refuses
    /// (e.g. less memory than 8 KiB per lane) fall back to the defaults.
    pub fn new(params: Argon2Params, entropy: Arc<dyn Entropy>) -> Self {
        let (params, built) =
            match Params::new(params.memory_kib, params.iterations, params.lanes, None) {
                Ok(p) => (params, p),
                Err(_) => (Argon2Params::default(), Params::default()),
            };
        Argon2id {
            hasher: Argon2::new(Algorithm::Argon2id, Version::V0x13, built),
            params,
            entropy,
        }
    }

    /// The parameters in force.
    pub fn params(&self) -> Argon2Params {
        self.params
    }
}

impl PasswordScheme for Argon2id {
    fn hash(&self, password: &Cleartext<'_>) -> Result<String, SecretError> {
        let mut salt = [0u8; 16];
        self.entropy.fill(&mut salt)?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| SecretError::Hash(e.to_string()))?;
        self.hasher
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| SecretError::Hash(e.to_string()))
    }

    fn verify(&self, password: &Cleartext<'_>, stored: &str) -> Result<bool, SecretError> {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Ok(false);
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return Ok(false);
        }
        Ok(self
            .hasher
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok())
    }

    fn is_hash(&self, stored: &str) -> bool {
        PasswordHash::new(stored).is_ok_and(|h| h.algorithm.as_str() == "argon2id")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Debug)]
    struct Counter(std::sync::atomic::AtomicU8);
    impl Entropy for Counter {
        fn fill(&self, dest: &mut [u8]) -> Result<(), SecretError> {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            dest.fill(n);
            Ok(())
        }
    }

    fn scheme() -> Argon2id {
        Argon2id::new(Argon2Params::fast_for_tests(), Arc::new(Counter(0.into())))
    }

    #[test]
    fn each_hash_has_its_own_salt_and_verifies() {
        let s = scheme();
        let a = s.hash(&Cleartext::new("same")).unwrap();
        let b = s.hash(&Cleartext::new("same")).unwrap();
        assert_ne!(a, b, "a salt per hash");
        assert!(!a.contains("same"));
        for h in [&a, &b] {
            assert!(s.is_hash(h));
            assert!(s.verify(&Cleartext::new("same"), h).unwrap());
            assert!(!s.verify(&Cleartext::new("Same"), h).unwrap());
        }
    }

    #[test]
    fn cleartext_and_foreign_hashes_are_not_ours() {
        let s = scheme();
        for stored in ["hunter2", "", "{SSHA}abc", "$2b$12$abcdefghijklmnopqrstuv"] {
            assert!(!s.is_hash(stored), "{stored}");
            assert!(!s.verify(&Cleartext::new(stored), stored).unwrap());
        }
    }

    #[test]
    fn the_parameters_are_in_the_phc_string() {
        let s = Argon2id::new(Argon2Params::new(16, 2, 1), Arc::new(Counter(0.into())));
        let h = s.hash(&Cleartext::new("x")).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=16,t=2,p=1$"), "{h}");
        // Parameters Argon2 refuses fall back to the defaults.
        let s = Argon2id::new(Argon2Params::new(0, 0, 0), Arc::new(Counter(0.into())));
        assert_eq!(s.params(), Argon2Params::default());
    }

    #[test]
    fn no_entropy_no_hash() {
        let s = Argon2id::new(
            Argon2Params::fast_for_tests(),
            Arc::new(super::super::NoEntropy),
        );
        assert!(matches!(
            s.hash(&Cleartext::new("x")),
            Err(SecretError::NoEntropy(_))
        ));
    }
}
