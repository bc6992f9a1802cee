//! Secrets: where random numbers come from ([`Entropy`]), how passwords are stored
//! ([`PasswordScheme`], by default [`Argon2id`]), and a cleartext that never prints
//! ([`Cleartext`]).
//!
//! The engine hashes every `returned: never` string attribute (RFC 7643 §7; `password` in the
//! core User schema) after the host's `before_*` hooks have seen it and before the store does:
//! a store only ever holds the PHC string.
//!
//! ```
//! use scim_core::secret::{Argon2id, Argon2Params, Cleartext, PasswordScheme};
//!
//! # #[cfg(feature = "os-rng")] {
//! let scheme = Argon2id::new(Argon2Params::fast_for_tests(), std::sync::Arc::new(scim_core::secret::OsEntropy));
//! let stored = scheme.hash(&Cleartext::new("t1meMa$heen"))?;
//! assert!(stored.starts_with("$argon2id$"));
//! assert!(scheme.verify(&Cleartext::new("t1meMa$heen"), &stored)?);
//! assert!(!scheme.verify(&Cleartext::new("guess"), &stored)?);
//! # }
//! # Ok::<(), scim_core::secret::SecretError>(())
//! ```

mod entropy;
mod locate;
mod password;

#[cfg(all(
    feature = "os-rng",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
pub use entropy::OsEntropy;
pub use entropy::{default_entropy, random_uuid, time_ordered_uuid, Entropy, NoEntropy};
pub(crate) use locate::{get_ci, get_ci_mut};
pub use locate::{hash_secrets, hash_secrets_at, may_carry_secret, secret_strings};
pub(crate) use locate::{holds_secret, is_secret};
pub use password::{Argon2Params, Argon2id, Cleartext, PasswordScheme};

/// Why a secret could not be made or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// No random numbers: the platform has none and the host passed no [`Entropy`]
    /// (e.g. on `wasm32-unknown-unknown` without `Config::passwords` set).
    #[error("no source of random numbers: {0}")]
    NoEntropy(String),
    /// The hash function failed (e.g. parameters out of range).
    #[error("password hashing failed: {0}")]
    Hash(String),
}
