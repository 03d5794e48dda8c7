//! The console's security configuration, checked: capabilities grant exactly the
//! commands of the app manifest (no wildcards, no plugin or core permissions), the
//! identifier is clean, and the CSP stays strict.

use std::collections::BTreeSet;

fn manifest_commands() -> BTreeSet<String> {
    let build = include_str!("../build.rs");
    let start = build
        .find("const COMMANDS")
        .expect("build.rs lists COMMANDS");
    let end = start + build[start..].find("];").expect("COMMANDS ends");
    build[start..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn capabilities_grant_exactly_the_app_commands() {
    let caps: serde_json::Value =
        serde_json::from_str(include_str!("../capabilities/default.json")).unwrap();
    let granted: BTreeSet<String> = caps["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .expect("permissions are plain identifiers")
                .to_owned()
        })
        .collect();
    let expected: BTreeSet<String> = manifest_commands()
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    assert_eq!(granted, expected);
    assert!(
        granted.iter().all(|p| !p.contains('*') && !p.contains(':')),
        "{granted:?}"
    );
    assert_eq!(caps["windows"], serde_json::json!(["main"]));
}

#[test]
fn every_manifest_command_is_handled() {
    let lib = include_str!("lib.rs");
    for command in manifest_commands() {
        assert!(
            lib.contains(&format!("::{command},")),
            "{command} is not in generate_handler!"
        );
    }
}

#[test]
fn identifier_and_csp() {
    let conf: serde_json::Value = serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
    let identifier = conf["identifier"].as_str().unwrap();
    assert!(
        !identifier.ends_with(".app") && identifier.split('.').count() >= 3,
        "{identifier}"
    );
    let csp = conf["app"]["security"]["csp"].as_str().unwrap();
    assert!(csp.contains("default-src 'self'"));
    assert!(csp.contains("script-src 'self';"));
    for loose in ["unsafe-eval", "*", "http:", "https:"] {
        assert!(
            !csp.replace("http://ipc.localhost", "").contains(loose),
            "CSP allows {loose}: {csp}"
        );
    }
    assert_eq!(conf["app"]["withGlobalTauri"], serde_json::json!(false));
}
