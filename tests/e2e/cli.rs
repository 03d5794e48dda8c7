//! `gatehouse --version`, `init`, and configuration errors.

use crate::{field, gatehouse, stderr, stdout};

#[test]
fn version_is_printed() {
    let out = gatehouse(&["--version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("gatehouse {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn init_prints_the_token_once_then_refuses_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("GATEHOUSE_DATA_DIR", data.to_str().unwrap())];
    let first = gatehouse(&["init"], &env);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    let token = field(&text, "administrator token:");
    assert!(token.starts_with("gh_") && token.len() == 46, "{text}");
    assert_eq!(field(&text, "certificate SHA-256:").len(), 95);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&data).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "data directory is owner-only");
    // The token is stored only as a hash: its text is nowhere in the data directory.
    for entry in walk(&data) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{}",
            entry.display()
        );
    }

    let second = gatehouse(&["init"], &env);
    assert_eq!(second.status.code(), Some(2));
    assert!(
        stderr(&second).contains("already initialised"),
        "{}",
        stderr(&second)
    );
    assert!(!stdout(&second).contains("gh_"));

    let token_file = dir.path().join("admin-token");
    let third = gatehouse(
        &[
            "init",
            "--new-admin-token",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
        &env,
    );
    assert!(third.status.success(), "{}", stderr(&third));
    let written = std::fs::read_to_string(&token_file).unwrap();
    assert!(written.trim().starts_with("gh_") && written.trim() != token);
    assert!(
        !stdout(&third).contains(written.trim()),
        "a token written to a file is not also printed"
    );
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o077,
        0
    );
    // An existing token file is never overwritten.
    let fourth = gatehouse(
        &[
            "init",
            "--new-admin-token",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(fourth.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), written);
    // ... and mints nothing: a fifth init without the flag still counts two tokens.
    let fifth = gatehouse(&["init"], &env);
    assert!(
        stderr(&fifth).contains("2 active administrator token(s)"),
        "{}",
        stderr(&fifth)
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn configuration_errors_name_the_key_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let config = dir.path().join("gatehouse.toml");
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [&'a str]);
    let cases: Vec<Case> = vec![
        (
            "listen_adress = \"127.0.0.1:1\"\n",
            vec![],
            &["`listen_adress`", "unknown field"],
        ),
        (
            "max_body_bytes = \"big\"\n",
            vec![],
            &["`max_body_bytes`", "invalid type"],
        ),
        (
            "[tls]\ncertificate = \"x\"\n",
            vec![],
            &["`tls.certificate`"],
        ),
        ("listen = [\n", vec![], &["not valid TOML"]),
        (
            "",
            vec![("GATEHOUSE_LISTEN", "nowhere")],
            &["`listen`", "GATEHOUSE_LISTEN"],
        ),
        (
            "",
            vec![("GATEHOUSE_MAX_BODY_BYTES", "0")],
            &["`max_body_bytes`", "at least"],
        ),
        (
            "",
            vec![("GATEHOUSE_DATABASE_URL", "mysql://x")],
            &["`database_url`"],
        ),
        (
            "",
            vec![("GATEHOUSE_BOGUS", "1")],
            &["`bogus`", "GATEHOUSE_BOGUS"],
        ),
    ];
    for (text, extra_env, expected) in cases {
        std::fs::write(&config, text).unwrap();
        let mut env = vec![("GATEHOUSE_DATA_DIR", data)];
        env.extend(extra_env);
        let out = gatehouse(&["--config", config.to_str().unwrap(), "serve"], &env);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        for needle in expected {
            assert!(err.contains(needle), "{text}: expected {needle} in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = gatehouse(&["--config", "/nonexistent/gatehouse.toml", "serve"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/gatehouse.toml"));
}

#[test]
fn the_example_config_is_valid_and_complete() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../config.example.toml");
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("t");
    let data = dir.path().join("data");
    let out = gatehouse(
        &[
            "--config",
            example,
            "init",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
        &[("GATEHOUSE_DATA_DIR", data.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

// proves: TK-2
#[test]
fn keys_are_listed_and_rotated_offline_and_the_rotation_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("GATEHOUSE_DATA_DIR", data.to_str().unwrap())];
    // No data directory yet: a clear error, nothing created.
    let early = gatehouse(&["keys", "list"], &env);
    assert_eq!(early.status.code(), Some(2), "{}", stdout(&early));
    assert!(!data.join("token-keys.kek").exists());
    assert!(gatehouse(&["init"], &env).status.success());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("token-keys.kek"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let list = gatehouse(&["keys", "list"], &env);
    assert!(list.status.success(), "{}", stderr(&list));
    let states = |text: &str| {
        let mut s: Vec<String> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().nth(2).unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    assert_eq!(
        states(&stdout(&list)),
        ["current", "next"],
        "{}",
        stdout(&list)
    );
    let rotate = gatehouse(&["keys", "rotate"], &env);
    assert!(rotate.status.success(), "{}", stderr(&rotate));
    assert_eq!(
        states(&stdout(&rotate)),
        ["current", "next", "previous"],
        "{}",
        stdout(&rotate)
    );
    // The rotation is the operator's, on the record.
    let export = gatehouse(
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--action",
            "keys.rotate",
        ],
        &env,
    );
    assert!(export.status.success(), "{}", stderr(&export));
    let records: Vec<serde_json::Value> = stdout(&export)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        records.iter().any(
            |r| r["actor"]["id"] == "gatehouse keys rotate" && r["actor"]["kind"] == "operator"
        ),
        "{records:?}"
    );
}

// proves: ID-3, AU-3
#[test]
fn demo_seeds_users_and_the_users_command_creates_lists_locks_and_unlocks_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("GATEHOUSE_DATA_DIR", data.to_str().unwrap())];
    assert!(gatehouse(&["init"], &env).status.success());
    let demo = gatehouse(&["demo"], &env);
    assert!(demo.status.success(), "{}", stderr(&demo));
    assert!(
        stdout(&demo).contains("user types: 3, registration flows: 3, users created: 108"),
        "{}",
        stdout(&demo)
    );
    // Six people of each type signed in, two clinicians and two patients
    // waiting for approval (ID-2, ID-9).
    assert!(
        stdout(&demo).contains("sessions: 18, sign-ups awaiting approval: 4"),
        "{}",
        stdout(&demo)
    );
    // Again: nothing new.
    let again = gatehouse(&["demo"], &env);
    assert!(stdout(&again).contains("users created: 0, already there: 108"));
    let patients = gatehouse(
        &["users", "list", "--type", "patient", "--limit", "500"],
        &env,
    );
    assert!(patients.status.success(), "{}", stderr(&patients));
    assert_eq!(stdout(&patients).lines().count(), 1 + 36 + 2);
    let created = gatehouse(
        &[
            "users",
            "create",
            "--type",
            "clinician",
            "--name",
            "Zed Test",
            "--email",
            "zed@example.com",
            "--attribute",
            "department=icu",
            "--attribute",
            "grade=2",
        ],
        &env,
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let id = stdout(&created)
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    // Checked as the API checks: a string where the type declares a number.
    let bad = gatehouse(
        &[
            "users",
            "create",
            "--type",
            "clinician",
            "--name",
            "Bad",
            "--email",
            "bad@example.com",
            "--attribute",
            "department=icu",
            "--attribute",
            "grade=two",
        ],
        &env,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("grade"), "{}", stderr(&bad));
    let lock = gatehouse(&["users", "lock", &id], &env);
    assert!(stdout(&lock).contains("locked"), "{}", stdout(&lock));
    let unlock = gatehouse(&["users", "unlock", &id], &env);
    assert!(stdout(&unlock).contains("active"), "{}", stdout(&unlock));
    // Each change is the operator's, on the record.
    let export = gatehouse(
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--resource-type",
            "user",
        ],
        &env,
    );
    let actions: Vec<String> = stdout(&export)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["resource"]["id"] == id.as_str())
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["users.create", "users.lock", "users.unlock"]);
}
