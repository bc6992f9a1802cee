//! The resource types `scim serve` serves and the command-line tools check against: one
//! assembly for both, so a tool never judges a document by other schemas than the server.

/// User (with the enterprise and Gluu example extensions), Group, FidoDevice and
/// Fido2Device; an error (never a silent fallback to other schemas) if they do not assemble.
///
/// ```
/// let registry = scim_cli::registry::registry()?;
/// assert!(registry.resource_type("FidoDevice").is_some());
/// # Ok::<(), String>(())
/// ```
pub fn registry() -> Result<scim_schema::Registry, String> {
    scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
        .build()
        .map_err(|e| format!("the schemas do not assemble: {e}"))
}
