//! scim-client against real servers: our own `scim serve` on a loopback port, a loopback
//! OAuth token endpoint, loopback servers that throttle or send hostile bodies, and the
//! Python reference server `scim2-server` where it is installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod hostile;
mod mock;
mod oauth;
mod retries;
mod scim2_server;
mod serve;
mod support;
