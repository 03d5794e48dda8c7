//! `gatehouse serve` as an operator meets it: the token `init` printed works, an
//! auditor cannot mint, curl gets TLS 1.3 with the security headers, TLS 1.2 and
//! plain HTTP get nothing, SIGTERM stops it cleanly, and a restart keeps the data.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use gatehouse_client::Client;
use gatehouse_types::{CreateApiTokenRequest, ErrorCode, Role};

use crate::{field, gatehouse, gatehouse_bin, stderr, stdout};

pub struct Served {
    pub child: Child,
    pub addr: String,
    pub log: mpsc::Receiver<String>,
}

pub fn serve(data: &str) -> Served {
    let mut command = Command::new(gatehouse_bin());
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEHOUSE_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .arg("serve")
        .env("GATEHOUSE_DATA_DIR", data)
        .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, log) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let addr = loop {
        let line = log
            .recv_timeout(Duration::from_secs(60))
            .expect("server did not start");
        if let Some(rest) = line.split("serving https://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    Served { child, addr, log }
}

pub fn sigterm(served: &mut Served) -> std::process::ExitStatus {
    let pid = served.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    for _ in 0..150 {
        if let Some(status) = served.child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = served.child.kill();
    panic!("server did not stop on SIGTERM");
}

pub fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl is needed for these tests (make deps installs it)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_inits_serves_and_uses_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let init = gatehouse(&["init"], &[("GATEHOUSE_DATA_DIR", data)]);
    assert!(init.status.success(), "{}", stderr(&init));
    let token = field(&stdout(&init), "administrator token:");
    let fingerprint = field(&stdout(&init), "certificate SHA-256:");

    let mut served = serve(data);
    let base = format!("https://{}", served.addr);
    let admin = Client::builder(&base)
        .pin_sha256(&fingerprint)
        .token(&token)
        .build()
        .unwrap();
    let info = admin.server_info().await.unwrap();
    assert_eq!(info.identity.role, Role::Administrator);
    assert_eq!(info.database, gatehouse_types::DatabaseBackend::Sqlite);

    let auditor_secret = admin
        .create_api_token(&CreateApiTokenRequest {
            name: "auditor".into(),
            role: Role::Auditor,
            expires_in_seconds: None,
        })
        .await
        .unwrap()
        .secret;
    let auditor = admin.with_token(&auditor_secret);
    assert_eq!(
        auditor.server_info().await.unwrap().identity.role,
        Role::Auditor
    );
    let refused = auditor
        .create_api_token(&CreateApiTokenRequest {
            name: "x".into(),
            role: Role::Auditor,
            expires_in_seconds: None,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Forbidden));

    // curl, TLS 1.3: ok, with the four security headers.
    let url = format!("{base}/healthz");
    let ok = curl(&["--tlsv1.3", "-k", "-D", "-", &url]);
    let text = String::from_utf8_lossy(&ok.stdout).to_lowercase();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for header in [
        "strict-transport-security:",
        "content-security-policy:",
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
    ] {
        assert!(text.contains(header), "missing {header} in {text}");
    }
    assert!(text.trim_end().ends_with("ok"), "{text}");
    // TLS 1.2 at most: no connection.
    let old = curl(&["--tls-max", "1.2", "-k", &url]);
    assert!(!old.status.success());
    assert!(!String::from_utf8_lossy(&old.stdout).contains("ok"));
    // Plain HTTP to the same port: no HTTP answer.
    let plain = curl(&[&format!("http://{}/healthz", served.addr)]);
    assert!(!plain.status.success());
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("ok"));
    // The token never reaches the log.
    let status = sigterm(&mut served);
    assert!(status.success(), "graceful stop exits 0: {status:?}");
    let log: Vec<String> = served.log.try_iter().collect();
    assert!(log.iter().any(|l| l.contains("stopped")), "{log:?}");
    assert!(
        !log.iter()
            .any(|l| l.contains(&token) || l.contains(&auditor_secret)),
        "secret in log"
    );

    // A restart reuses the data: same certificate, same tokens.
    let mut again = serve(data);
    let admin = Client::builder(format!("https://{}", again.addr))
        .pin_sha256(&fingerprint)
        .token(&token)
        .build()
        .unwrap();
    assert_eq!(admin.list_api_tokens().await.unwrap().len(), 2);
    assert!(sigterm(&mut again).success());

    // Offline, the trail exports; --blocked keeps the requests the server refused:
    // the auditor's mint, the only authorization block.
    let env = [("GATEHOUSE_DATA_DIR", data)];
    let all = gatehouse(&["audit", "export"], &env);
    assert!(all.status.success(), "{}", stderr(&all));
    let csv = stdout(&all);
    assert!(csv.starts_with("seq,"), "{csv}");
    assert!(csv.lines().count() > 3, "{csv}");
    let refused = gatehouse(
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--blocked",
            "authorization",
        ],
        &env,
    );
    assert!(refused.status.success(), "{}", stderr(&refused));
    let lines: Vec<serde_json::Value> = stdout(&refused)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["action"], "api_tokens.create");
    assert_eq!(lines[0]["status"], 403);
    let any = gatehouse(&["audit", "export", "--blocked", "any"], &env);
    assert!(any.status.success(), "{}", stderr(&any));
    assert!(
        stdout(&any).lines().count() >= 2,
        "a header and the refusal"
    );
    // A reason that does not exist is refused, naming the ones that do.
    let bad = gatehouse(&["audit", "export", "--blocked", "boredom"], &env);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("--blocked must be any or one of authentication"),
        "{}",
        stderr(&bad)
    );
}

/// The example configuration with its `[gateway]` block switched on.
fn example_with_gateway(dir: &std::path::Path) -> std::path::PathBuf {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config.example.toml"
    ))
    .unwrap();
    let (head, gateway) = example.split_once("# [gateway]\n").unwrap();
    let mut text = format!("{head}[gateway]\n");
    for line in gateway.lines() {
        let setting = line.strip_prefix("# ").filter(|rest| {
            rest.starts_with('[')
                || rest.split_once(" = ").is_some_and(|(key, _)| {
                    // The certificate files it names are the operator's, not here.
                    !key.ends_with("_file")
                        && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                })
        });
        text.push_str(setting.unwrap_or(line));
        text.push('\n');
    }
    let path = dir.join("gatehouse.toml");
    std::fs::write(&path, text).unwrap();
    path
}

// proves: GW-1 (`gatehouse gateway` runs the gateway, HTTPS only; without a
// [gateway] section it refuses to start)
#[test]
fn gatehouse_gateway_serves_the_example_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let refused = gatehouse(&["gateway"], &[("GATEHOUSE_DATA_DIR", data)]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("no [gateway] section"),
        "{}",
        stderr(&refused)
    );

    let config = example_with_gateway(dir.path());
    let config = config.to_str().unwrap();
    let init = gatehouse(
        &["--config", config, "init"],
        &[("GATEHOUSE_DATA_DIR", data)],
    );
    assert!(init.status.success(), "{}", stderr(&init));
    let mut command = Command::new(gatehouse_bin());
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEHOUSE_") {
            command.env_remove(name);
        }
    }
    let child = command
        .args(["--config", config, "gateway"])
        .env("GATEHOUSE_DATA_DIR", data)
        .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut served = Served {
        child,
        addr: String::new(),
        log: mpsc::channel().1,
    };
    let (tx, log) = mpsc::channel();
    let stderr_pipe = served.child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let gateway = loop {
        let line = log
            .recv_timeout(Duration::from_secs(60))
            .expect("the gateway did not start");
        if let Some(rest) = line.split("gateway on https://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // No token: refused in the one error shape before any upstream.
    let out = curl(&[
        "-k",
        "-w",
        "\n%{http_code}",
        &format!("https://{gateway}/api/records/1"),
    ]);
    let text = stdout(&out);
    assert!(text.ends_with("\n401"), "{text}");
    assert!(text.contains("\"code\":\"unauthenticated\""), "{text}");
    // A decoy of the example's honeypots.
    let out = curl(&[
        "-k",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("https://{gateway}/.env"),
    ]);
    assert_eq!(stdout(&out), "404");
    // No plain HTTP on the gateway's port.
    let out = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("http://{gateway}/"),
    ]);
    assert_eq!(stdout(&out), "000");
    assert!(sigterm(&mut served).success());
}
