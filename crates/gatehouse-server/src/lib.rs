//! The Gatehouse server: the HTTPS API (TLS 1.3 only, no plain-HTTP listener), its
//! request pipeline (request id → authenticate → authorize → handle → one error
//! shape), configuration, and the `gatehouse` binary's commands.
//!
//! It must never serve a private route without the pipeline, never answer an error
//! with anything internal, and never log or store a secret in clear.

pub mod app;
pub mod audit;
pub mod auth;
pub mod authorization;
pub mod authz;
mod blocked;
mod challenges;
mod clients;
pub mod clock;
mod codes;
pub mod config;
mod decisions;
pub mod demo;
pub mod demo_gateway;
mod directory;
mod error;
mod factors;
pub mod gateway;
pub mod oauth;
pub mod openapi;
pub mod pipeline;
pub mod routes;
mod secret_file;
mod server;
mod session_writes;
mod sessions;
mod sign_in;
mod sign_up;
pub mod signing;
pub mod tls;
pub mod token_state;
mod tokens;
pub mod user_types;
pub mod users;
mod users_export;

pub use error::{ApiFailure, ServerError};
pub use server::{
    application, has_active_administrator, init, is_token_active, open_store, prepare,
    prepare_with_store, start, InitReport, Prepared, RunningServer,
};
