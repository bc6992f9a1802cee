//! Random numbers, from the host: the engine and the in-memory store never make their own.

use std::sync::Arc;

use super::SecretError;

/// A source of cryptographically secure random bytes (salts, resource ids).
///
/// ```
/// use scim_core::secret::{Entropy, SecretError};
///
/// /// Always the same bytes: for reproducible tests only, never in production.
/// #[derive(Debug)]
/// struct Fixed;
/// impl Entropy for Fixed {
///     fn fill(&self, dest: &mut [u8]) -> Result<(), SecretError> {
///         dest.fill(7);
///         Ok(())
///     }
/// }
/// let mut salt = [0u8; 4];
/// Fixed.fill(&mut salt)?;
/// assert_eq!(salt, [7; 4]);
/// # Ok::<(), SecretError>(())
/// ```
pub trait Entropy: Send + Sync + std::fmt::Debug {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), SecretError>;
}

/// The operating system's random numbers (`getrandom`).
///
/// ```
/// use scim_core::secret::{Entropy, OsEntropy};
/// let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
/// OsEntropy.fill(&mut a)?;
/// OsEntropy.fill(&mut b)?;
/// assert_ne!(a, b);
/// # Ok::<(), scim_core::secret::SecretError>(())
/// ```
#[cfg(all(
    feature = "os-rng",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

#[cfg(all(
    feature = "os-rng",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
impl Entropy for OsEntropy {
    fn fill(&self, dest: &mut [u8]) -> Result<(), SecretError> {
        getrandom::fill(dest).map_err(|e| SecretError::NoEntropy(e.to_string()))
    }
}

/// No random numbers: every call fails. The default where the platform has none
/// (`wasm32-unknown-unknown`, or the `os-rng` feature off): the host must pass its own.
///
/// ```
/// use scim_core::secret::{Entropy, NoEntropy};
/// assert!(NoEntropy.fill(&mut [0u8; 4]).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEntropy;

impl Entropy for NoEntropy {
    fn fill(&self, _: &mut [u8]) -> Result<(), SecretError> {
        Err(SecretError::NoEntropy(
            "this build has no operating-system random numbers; pass an Entropy".into(),
        ))
    }
}

/// A random version-4 UUID (RFC 9562) from `entropy`, hyphenated: an id nobody can guess
/// from another.
///
/// ```
/// let id = scim_core::secret::random_uuid(&scim_core::secret::NoEntropy);
/// assert!(id.is_err());
/// # #[cfg(feature = "os-rng")] {
/// let id = scim_core::secret::random_uuid(&*scim_core::secret::default_entropy())?;
/// assert_eq!((id.len(), &id[14..15]), (36, "4"));
/// # }
/// # Ok::<(), scim_core::secret::SecretError>(())
/// ```
pub fn random_uuid(entropy: &dyn Entropy) -> Result<String, SecretError> {
    let mut bytes = [0u8; 16];
    entropy.fill(&mut bytes)?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// [`OsEntropy`] where the platform and features provide it, else [`NoEntropy`].
///
/// ```
/// let mut b = [0u8; 8];
/// # #[cfg(feature = "os-rng")]
/// assert!(scim_core::secret::default_entropy().fill(&mut b).is_ok());
/// ```
pub fn default_entropy() -> Arc<dyn Entropy> {
    #[cfg(all(
        feature = "os-rng",
        not(all(target_arch = "wasm32", target_os = "unknown"))
    ))]
    {
        Arc::new(OsEntropy)
    }
    #[cfg(not(all(
        feature = "os-rng",
        not(all(target_arch = "wasm32", target_os = "unknown"))
    )))]
    {
        Arc::new(NoEntropy)
    }
}
