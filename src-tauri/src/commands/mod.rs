//! Tauri commands: each converts its arguments, delegates to gatehouse-client (or
//! the embedded server), and converts the answer. Listed in build.rs's app
//! manifest and granted one by one in capabilities/default.json.

pub mod servers;
pub mod session;
