//! The Gatehouse desktop console's Rust side (Tauri v2).
//!
//! Commands (`commands/<area>.rs`, named `verb_noun`) convert and delegate to
//! gatehouse-client; with no server chosen, the console runs a Gatehouse server
//! in-process on SQLite (CO-2). Tokens live here, in the OS keyring or an
//! owner-only file, and never reach the web view; the web view never talks to a
//! server. Nothing here logs a token.

pub mod bindings;
mod browser;
mod commands;
mod connect;
mod embedded;
mod error;
mod files;
mod person;
mod secrets;
mod servers;
mod state;
mod types;
mod vault;

pub use servers::normalize_url;
pub use types::{
    ConnectOutcome, RememberedServer, ServerTrust, SessionInfo, StartupMode, TokenStorage,
    TokenStorageKind, Verification,
};

use std::path::PathBuf;

use tauri::Manager;

/// Where the console keeps its files: `GATEHOUSE_CONSOLE_DATA_DIR`, else the app's
/// data directory.
fn data_dir(app: &tauri::App) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("GATEHOUSE_CONSOLE_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    app.path()
        .app_data_dir()
        .map_err(|e| format!("no application data directory: {e}"))
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_CONSOLE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let dir = data_dir(app)?;
            let state = state::ConsoleState::open(dir)?;
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::session::get_startup_mode,
            commands::session::get_session,
            commands::session::connect_embedded,
            commands::session::connect_server,
            commands::session::sign_out,
            commands::session::get_server_info,
            commands::servers::list_servers,
            commands::servers::forget_server,
            commands::tokens::list_api_tokens,
            commands::tokens::create_api_token,
            commands::tokens::revoke_api_token,
            commands::blocked::get_blocked_dashboard,
            commands::audit::check_audit_query,
            commands::audit::search_audit,
            commands::audit::get_audit_record,
            commands::audit::verify_audit_chain,
            commands::audit::follow::follow_audit,
            commands::audit::follow::stop_follow_audit,
            commands::policies::get_policies,
            commands::policies::get_policy_schema,
            commands::policies::validate_policies,
            commands::policies::save_policies,
            commands::policies::list_policy_versions,
            commands::policies::get_policy_version,
            commands::policies::diff_policies,
            commands::policies::rollback_policies,
            commands::policies::simulate_policies,
            commands::policies::get_policy_matrix,
            commands::export::export_csv,
            commands::export::cancel_export,
            commands::users::list_users,
            commands::users::get_user,
            commands::users::update_user,
            commands::users::disable_user,
            commands::users::lock_user,
            commands::users::unlock_user,
            commands::users::approve_user,
            commands::users::reject_user,
            commands::users::get_user_factors,
            commands::users::list_user_sessions,
            commands::users::end_user_sessions,
            commands::users::end_session,
            commands::users::list_user_types,
            commands::users::list_registration_flows,
            commands::users::save_registration_flow,
            commands::users::list_outbox,
            commands::machines::list_clients,
            commands::machines::create_client,
            commands::machines::update_client,
            commands::machines::rotate_client_secret,
            commands::machines::disable_client,
            commands::machines::list_keys,
            commands::machines::rotate_keys,
            commands::gateway::get_gateway,
            commands::gateway::update_waf,
            commands::gateway::list_flagged_sources,
            commands::gateway::unflag_source,
            commands::gateway::why_blocked,
            commands::person::sign_in_person,
            commands::person::sign_in_second_factor,
            commands::person::sign_in_browser,
            commands::person::cancel_browser_sign_in,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("gatehouse-console: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod connect_tests;
