//! Applier settings: limits, the single-primary rule, and the IdP profiles.

use scim_filter::Limits;
use scim_schema::{Leniency, ValidationOptions};

/// Which value keeps `primary: true` when a PATCH leaves two (RFC 7644 §3.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PrimaryRule {
    /// The value this request set primary wins; the others become `primary: false` (the
    /// RFC's reading, and the default).
    #[default]
    RequestWins,
    /// The value that was primary before the request stays primary (Gluu's behaviour in its
    /// guide's PATCH example).
    KeepExisting,
}

/// Deviations of real clients the applier accepts when a host turns them on. Each one it
/// uses is reported as a [`Normalization`](crate::Normalization). All off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Profile {
    /// `"op": "Replace"` (any case) — Entra ID.
    pub op_any_case: bool,
    /// `remove` on a multi-valued attribute with a `value` list removes just those values
    /// (never all) — Entra ID.
    pub remove_with_value: bool,
    /// `add` to `attr[sub eq "x"].other` when no value matches creates
    /// `{sub: "x", other: value}` — Entra ID.
    pub add_creates_from_filter: bool,
    /// No-path values with dotted keys (`"name.givenName": "x"`) — Entra ID.
    pub dotted_keys: bool,
    /// No-path values with URN-qualified keys (`"urn:…:enterprise:2.0:User:department"`).
    pub urn_keys: bool,
    /// `id` inside a no-path value is ignored instead of refused — Okta.
    pub ignore_id_in_value: bool,
    /// Extension attribute paths in forms outside RFC 7644 §3.10: unqualified (`manager`,
    /// when exactly one extension of the resource type defines it and the core schema does
    /// not) and with `.` before the attribute (`urn:…:enterprise:2.0:User.manager`) — Entra
    /// ID's documentation and pre-2019 provisioning jobs.
    pub loose_extension_paths: bool,
}

impl Profile {
    /// What Entra ID sends.
    pub const fn entra_id() -> Self {
        Profile {
            op_any_case: true,
            remove_with_value: true,
            add_creates_from_filter: true,
            dotted_keys: true,
            urn_keys: true,
            ignore_id_in_value: false,
            loose_extension_paths: true,
        }
    }

    /// What Okta sends.
    pub const fn okta() -> Self {
        Profile {
            op_any_case: true,
            remove_with_value: false,
            add_creates_from_filter: false,
            dotted_keys: false,
            urn_keys: false,
            ignore_id_in_value: true,
            loose_extension_paths: false,
        }
    }

    /// Everything on (Entra ID and Okta together).
    pub const fn all() -> Self {
        Profile {
            op_any_case: true,
            remove_with_value: true,
            add_creates_from_filter: true,
            dotted_keys: true,
            urn_keys: true,
            ignore_id_in_value: true,
            loose_extension_paths: true,
        }
    }
}

/// Settings of [`PatchRequest::from_json`](crate::PatchRequest::from_json) and the
/// [`Patcher`](crate::Patcher). The default is strict RFC 7644.
///
/// ```
/// use scim_patch::{PatchOptions, PrimaryRule};
/// let entra = PatchOptions::entra_id();
/// assert!(entra.profile.op_any_case && entra.validation.leniency.string_booleans);
/// let gluu = PatchOptions::default().primary_rule(PrimaryRule::KeepExisting);
/// assert_eq!(gluu.primary, PrimaryRule::KeepExisting);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchOptions {
    /// Maximum operations per request. Default 1,000.
    pub max_operations: usize,
    /// Limits for paths and their filters.
    pub limits: Limits,
    /// The single-primary rule.
    pub primary: PrimaryRule,
    /// Client deviations accepted.
    pub profile: Profile,
    /// How values are checked against the schema (leniency: string booleans, bare strings
    /// for `manager`, one-element arrays, …).
    pub validation: ValidationOptions,
}

impl Default for PatchOptions {
    fn default() -> Self {
        PatchOptions {
            max_operations: 1000,
            limits: Limits::default(),
            primary: PrimaryRule::RequestWins,
            profile: Profile::default(),
            validation: ValidationOptions::default(),
        }
    }
}

impl PatchOptions {
    /// The Entra ID profile with schema leniency on.
    pub fn entra_id() -> Self {
        PatchOptions {
            profile: Profile::entra_id(),
            validation: ValidationOptions::default().leniency(Leniency::all()),
            ..PatchOptions::default()
        }
    }

    /// The Okta profile with schema leniency on.
    pub fn okta() -> Self {
        PatchOptions {
            profile: Profile::okta(),
            validation: ValidationOptions::default().leniency(Leniency::all()),
            ..PatchOptions::default()
        }
    }

    /// Every profile and leniency on: what a server facing both IdPs runs.
    pub fn lenient() -> Self {
        PatchOptions {
            profile: Profile::all(),
            validation: ValidationOptions::default().leniency(Leniency::all()),
            ..PatchOptions::default()
        }
    }

    /// Sets the primary rule.
    pub fn primary_rule(mut self, rule: PrimaryRule) -> Self {
        self.primary = rule;
        self
    }

    /// Sets the maximum number of operations.
    pub fn max_operations(mut self, max: usize) -> Self {
        self.max_operations = max;
        self
    }

    /// Sets the profile.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Sets the validation options.
    pub fn validation(mut self, validation: ValidationOptions) -> Self {
        self.validation = validation;
        self
    }
}
