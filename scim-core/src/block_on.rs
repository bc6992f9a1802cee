//! A minimal executor for the engine's futures, for synchronous hosts and tests. The engine
//! itself needs none: it only awaits the store's futures.

use std::future::Future;

/// Runs a future to completion on the current thread (parking while it is pending), with
/// the `pollster` crate's executor.
///
/// ```
/// assert_eq!(scim_core::block_on(async { 1 + 1 }), 2);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    pollster::block_on(future)
}
