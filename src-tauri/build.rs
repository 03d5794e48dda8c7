//! Lists the console's commands in the app manifest, so that each gets an
//! `allow-…` permission that `capabilities/` must grant explicitly.

const COMMANDS: &[&str] = &[
    "get_startup_mode",
    "get_session",
    "connect_embedded",
    "connect_server",
    "list_servers",
    "forget_server",
    "sign_out",
    "get_server_info",
    "list_api_tokens",
    "create_api_token",
    "revoke_api_token",
    "get_blocked_dashboard",
    "check_audit_query",
    "search_audit",
    "get_audit_record",
    "verify_audit_chain",
    "follow_audit",
    "stop_follow_audit",
    "get_policies",
    "get_policy_schema",
    "validate_policies",
    "save_policies",
    "list_policy_versions",
    "get_policy_version",
    "diff_policies",
    "rollback_policies",
    "simulate_policies",
    "get_policy_matrix",
    "export_csv",
    "cancel_export",
    "list_users",
    "get_user",
    "update_user",
    "disable_user",
    "lock_user",
    "unlock_user",
    "approve_user",
    "reject_user",
    "list_user_sessions",
    "end_user_sessions",
    "end_session",
    "list_user_types",
    "list_registration_flows",
    "save_registration_flow",
    "list_outbox",
    "list_clients",
    "create_client",
    "update_client",
    "rotate_client_secret",
    "disable_client",
    "list_keys",
    "rotate_keys",
    "sign_in_person",
    "sign_in_second_factor",
    "sign_in_browser",
    "cancel_browser_sign_in",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        eprintln!("tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
