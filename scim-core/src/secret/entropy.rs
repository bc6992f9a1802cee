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

/// A version-7 UUID (RFC 9562 §5.7) for the instant `unix_millis` (milliseconds since the
/// Unix epoch), hyphenated: the time first, then 74 random bits from `entropy`.
///
/// Ids made one after another sort one after another, so a store's indexes keyed by id grow
/// at their end instead of at a random page (far fewer pages written per insert). The 74
/// random bits keep one id from being guessed from another; what the id tells beyond a
/// random one is the millisecond it was made, which `meta.created` says anyway. The caller
/// passes the time: this crate reads no clock.
///
/// ```
/// use scim_core::secret::{time_ordered_uuid, Entropy, SecretError};
/// #[derive(Debug)]
/// struct Counter;
/// impl Entropy for Counter {
///     fn fill(&self, b: &mut [u8]) -> Result<(), SecretError> {
///         b.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8);
///         Ok(())
///     }
/// }
/// let early = time_ordered_uuid(&Counter, 1_700_000_000_000)?;
/// let late = time_ordered_uuid(&Counter, 1_700_000_000_001)?;
/// assert_eq!((early.len(), &early[14..15]), (36, "7"));
/// assert!(early < late);
/// # Ok::<(), SecretError>(())
/// ```
pub fn time_ordered_uuid(entropy: &dyn Entropy, unix_millis: u64) -> Result<String, SecretError> {
    let mut random = [0u8; 10];
    entropy.fill(&mut random)?;
    Ok(
        uuid::Builder::from_unix_timestamp_millis(unix_millis, &random)
            .into_uuid()
            .hyphenated()
            .to_string(),
    )
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
