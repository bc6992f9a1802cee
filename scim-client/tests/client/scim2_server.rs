//! The Python reference server `scim2-server` (PyPI), where `.ci/run` installed it.
