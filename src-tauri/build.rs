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
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        eprintln!("tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
