//! gatehouse-identity's integration tests: one module per part.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod code;
mod contact;
mod flow;
mod lockout;
mod password;
mod session;
mod totp;
mod user_type;
