//! Every limit and option of the engine in one place, with defaults.

use std::collections::HashMap;
use std::sync::Arc;

use scim_filter::Limits;
use scim_patch::PatchOptions;
use scim_schema::ValidationOptions;

use crate::secret::{default_entropy, Argon2Params, Argon2id, PasswordScheme};

/// Which scope each operation needs. The default follows the Gluu SCIM scopes
/// (`https://gluu.org/scim/users.read`, `users.write`, `groups.read`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePolicy {
    /// Per resource type name: the scope to read and the scope to write.
    pub per_type: HashMap<String, (String, String)>,
    /// For resource types not in `per_type`: `{prefix}{lowercased name}.read` / `.write`.
    pub prefix: String,
    /// For `POST /.search` across resource types.
    pub search_all: String,
    /// For `/Bulk`.
    pub bulk: String,
}

impl Default for ScopePolicy {
    fn default() -> Self {
        let prefix = "https://gluu.org/scim/";
        let pair = |name: &str| {
            (
                format!("{prefix}{name}.read"),
                format!("{prefix}{name}.write"),
            )
        };
        let per_type = [
            ("User", "users"),
            ("Group", "groups"),
            ("FidoDevice", "fido"),
            ("Fido2Device", "fido2"),
        ]
        .into_iter()
        .map(|(rt, s)| (rt.to_owned(), pair(s)))
        .collect();
        ScopePolicy {
            per_type,
            prefix: prefix.to_owned(),
            search_all: format!("{prefix}all-resources.search"),
            bulk: format!("{prefix}bulk"),
        }
    }
}

impl ScopePolicy {
    /// The scope to read (`write == false`) or write resources of `resource_type`.
    ///
    /// ```
    /// let p = scim_core::ScopePolicy::default();
    /// assert_eq!(p.scope_for("User", false), "https://gluu.org/scim/users.read");
    /// assert_eq!(p.scope_for("Group", true), "https://gluu.org/scim/groups.write");
    /// ```
    pub fn scope_for(&self, resource_type: &str, write: bool) -> String {
        match self.per_type.get(resource_type) {
            Some((r, w)) => {
                if write {
                    w.clone()
                } else {
                    r.clone()
                }
            }
            None => format!(
                "{}{}.{}",
                self.prefix,
                resource_type.to_ascii_lowercase(),
                if write { "write" } else { "read" }
            ),
        }
    }
}

/// Engine configuration. `/ServiceProviderConfig` reports it truthfully.
///
/// ```
/// let c = scim_core::Config::new("https://example.com/scim/v2");
/// assert_eq!(c.max_results, 200);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The absolute base URL, for `meta.location` and `Location` (no trailing slash).
    pub base_url: String,
    /// Most resources one list response returns (`count` is clamped to it). Default 200.
    pub max_results: usize,
    /// Largest accepted request body in bytes (413 beyond). Default 1 MiB.
    pub max_payload: usize,
    /// Most operations one `/Bulk` request may carry (413 beyond, RFC 7644 §3.7.4).
    /// Default 1000; `0` turns `/Bulk` off (501, and `bulk.supported: false`).
    pub bulk_max_operations: usize,
    /// Largest accepted `/Bulk` request body in bytes (413 beyond, RFC 7644 §3.7.4).
    /// Default 1 MiB. `max_payload` applies to every request, so the effective limit — the one
    /// `/ServiceProviderConfig` reports as `maxPayloadSize` — is the smaller of the two.
    pub bulk_max_payload: usize,
    /// Filter length and nesting limits.
    pub filter_limits: Limits,
    /// Read filter forms IdPs send outside RFC 7644 §3.4.2.2 (Entra ID's
    /// `emails[type eq "work"].value eq "x"`), see [`Filter::parse_lenient_with`]. Default off.
    /// Off (strict), an attribute qualified by a schema URN the resource type does not have
    /// (`urn:…:core:2.0:Group:userName` on /Users) is refused with 400 `invalidFilter`; on,
    /// it names nothing and matches no resource.
    ///
    /// [`Filter::parse_lenient_with`]: scim_filter::Filter::parse_lenient_with
    pub lenient_filters: bool,
    /// PATCH options (limits, profiles, primary rule).
    pub patch: PatchOptions,
    /// Validation options for POST and PUT bodies.
    pub validation: ValidationOptions,
    /// Scopes per operation.
    pub scopes: ScopePolicy,
    /// Most values one multi-valued attribute of a resource may hold after a write: beyond
    /// it, a create, replace or PATCH that adds values is refused with 400 `invalidValue`
    /// (one that leaves as many or fewer passes, so a resource over a lowered limit can still
    /// be changed). Request bodies are bounded by `max_payload`, but repeated PATCH `add`s
    /// would otherwise grow a resource without end, and the cost of every read and write of
    /// it with it. The attribute a store keeps out of line (a group's members in the SQL
    /// stores) is not counted. Default 100,000.
    pub max_values: usize,
    /// Most candidates the engine filters in memory when a store could not apply a filter;
    /// beyond it the request fails with `tooMany` (RFC 7644 §3.12). Default 100,000.
    pub max_filter_scan: usize,
    /// Remove a deleted user or group from the groups it belonged to (atomically with the
    /// delete when the store [keeps references](crate::Store::keeps_references)). Default
    /// true.
    pub remove_deleted_from_groups: bool,
    /// Answer PATCH with 204 instead of 200 and the resource.
    pub patch_no_content: bool,
    /// How often a PATCH is retried when a concurrent write changed the version.
    pub max_patch_retries: usize,
    /// Fewest values of a multi-valued attribute for a PATCH that changes some of them by
    /// value filter (`replace emails[value eq "x"].value`) to be applied to the stored text
    /// ([`Store::get_text`](crate::Store::get_text)): only the elements the filter may
    /// select are parsed, and the others are copied as text. Default 256; `usize::MAX`
    /// patches every resource whole.
    pub min_values_patched_in_text: usize,
    /// `authenticationSchemes` reported by `/ServiceProviderConfig`.
    pub authentication_schemes: Vec<serde_json::Value>,
    /// How `returned: never` values (passwords) are stored: hashed by this scheme after the
    /// `before_*` hooks have seen them, before the store does. Default: [`Argon2id`] with
    /// [`Argon2Params::default`], salts from the operating system
    /// ([`default_entropy`]; on `wasm32-unknown-unknown` set a scheme with the host's entropy).
    pub passwords: Arc<dyn PasswordScheme>,
    /// Trim leading and trailing whitespace, control and invisible characters from
    /// `uniqueness: server` values (`userName`) instead of refusing them with
    /// `invalidValue`. Default off (refuse); `scim serve` turns it on with its IdP leniency.
    pub trim_identifiers: bool,
}

impl std::fmt::Debug for dyn PasswordScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordScheme")
    }
}

impl Config {
    /// Defaults for a service at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Config {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            max_results: 200,
            max_payload: 1 << 20,
            bulk_max_operations: 1000,
            bulk_max_payload: 1 << 20,
            filter_limits: Limits::default(),
            lenient_filters: false,
            patch: PatchOptions::default(),
            validation: ValidationOptions::default(),
            scopes: ScopePolicy::default(),
            patch_no_content: false,
            max_patch_retries: 16,
            min_values_patched_in_text: 256,
            max_filter_scan: 100_000,
            max_values: 100_000,
            remove_deleted_from_groups: true,
            passwords: Arc::new(Argon2id::new(Argon2Params::default(), default_entropy())),
            trim_identifiers: false,
            authentication_schemes: vec![serde_json::json!({
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication scheme using the OAuth Bearer Token Standard",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true
            })],
        }
    }

    /// Sets the PATCH options.
    pub fn patch_options(mut self, patch: PatchOptions) -> Self {
        self.patch = patch;
        self
    }

    /// Sets the validation options.
    pub fn validation_options(mut self, validation: ValidationOptions) -> Self {
        self.validation = validation;
        self
    }

    /// Turns lenient filter parsing on or off (see [`Config::lenient_filters`]).
    pub fn lenient_filters(mut self, on: bool) -> Self {
        self.lenient_filters = on;
        self
    }

    /// Sets the maximum list size.
    pub fn max_results(mut self, max: usize) -> Self {
        self.max_results = max;
        self
    }

    /// Sets the most operations one `/Bulk` request may carry (`0` turns `/Bulk` off).
    ///
    /// ```
    /// let c = scim_core::Config::new("https://example.com/scim/v2").bulk_max_operations(50);
    /// assert_eq!(c.bulk_max_operations, 50);
    /// ```
    pub fn bulk_max_operations(mut self, max: usize) -> Self {
        self.bulk_max_operations = max;
        self
    }

    /// Sets how passwords (every `returned: never` value) are stored.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scim_core::secret::{default_entropy, Argon2Params, Argon2id};
    /// let c = scim_core::Config::new("https://example.com/scim/v2").password_scheme(Arc::new(
    ///     Argon2id::new(Argon2Params::new(64 * 1024, 3, 1), default_entropy()),
    /// ));
    /// # let _ = c;
    /// ```
    pub fn password_scheme(mut self, scheme: Arc<dyn PasswordScheme>) -> Self {
        self.passwords = scheme;
        self
    }

    /// Sets the largest accepted `/Bulk` request body, in bytes.
    pub fn bulk_max_payload(mut self, bytes: usize) -> Self {
        self.bulk_max_payload = bytes;
        self
    }
}
