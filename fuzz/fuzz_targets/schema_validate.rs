//! Arbitrary JSON through every validation entry point of every resource type:
//! no panic; errors carry issues and a known scimType; a validated resource validates
//! again unchanged; a projected resource never shows `password`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_schema::{Leniency, Projection, Registry, UnknownAttributes, ValidationOptions};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, json)) = data.split_first() else {
        return;
    };
    let Ok(value) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let registry: Registry =
        scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
            .build()
            .expect("built-in definitions");
    let mut options = ValidationOptions::default();
    if flags & 1 != 0 {
        options = options.leniency(Leniency::all());
    }
    if flags & 2 != 0 {
        options = options.unknown_attributes(UnknownAttributes::Ignore);
    }
    if flags & 4 != 0 {
        options = options.enforce_canonical_values(true);
    }
    for rt in registry.resource_types() {
        let _ = rt.check_resource(value.clone(), &options);
        let _ = rt.validate_replace(value.clone(), &value, &options);
        match rt.validate_create(value.clone(), &options) {
            Err(e) => {
                assert!(!e.issues().is_empty());
                assert!(matches!(
                    e.scim_type().as_str(),
                    "invalidValue" | "invalidSyntax" | "mutability"
                ));
            }
            Ok(ok) => {
                let again = rt
                    .validate_create(ok.resource.clone(), &options)
                    .expect("a validated resource validates again");
                assert_eq!(again.resource, ok.resource, "normalisation is idempotent");
                let shown = Projection::default_for(&rt).apply(&ok.resource);
                if let Value::Object(m) = &shown {
                    assert!(!m.keys().any(|k| k.eq_ignore_ascii_case("password")));
                }
            }
        }
    }
});
