//! CO-1 from the console's side: no token before the server is verified, a
//! pasted fingerprint must match, the system's CAs verify the usual way with no
//! silent switch between the two, and a token typed into the wrong field reaches
//! no message, log line or file.

use std::io::Write;
use std::sync::{Arc, Mutex};

use gatehouse_client::CaRoots;
use gatehouse_testkit::{Db, Recorder, TestServer};
use gatehouse_types::ErrorCode;

use crate::connect::connect_remote;
use crate::state::ConsoleState;
use crate::types::{ConnectOutcome, ServerTrust, Verification};
use crate::vault::Vault;

const TOKEN: &str = "gh_x7Kq2mP9vR4tY8wB3nC6dF1gH5jL0sA2eU7iO4zXq";
const JWT: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";

fn state(dir: &std::path::Path) -> ConsoleState {
    ConsoleState::open_with(dir.join("console"), Vault::file).unwrap()
}

fn first_contact() -> Verification {
    Verification::Fingerprint { confirmed: None }
}

fn confirmed(fingerprint: &str) -> Verification {
    Verification::Fingerprint {
        confirmed: Some(fingerprint.to_owned()),
    }
}

/// Requests that reached `GET /v1/server`, the console's first request with a token.
async fn server_reads(server: &TestServer) -> usize {
    let search = gatehouse_types::AuditQuery {
        action: Some("server.read".into()),
        ..Default::default()
    };
    server
        .client()
        .search_audit(&search)
        .await
        .unwrap()
        .items
        .len()
}

/// Everything the console's side wrote into its data directory, as text.
fn files_text(dir: &std::path::Path) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .collect()
}

// proves: CO-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_contact_returns_the_fingerprint_and_sends_no_token() {
    let server = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());

    let outcome = connect_remote(&state, &server.base_url, TOKEN, first_contact())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        ConnectOutcome::NeedsConfirmation {
            server_url: server.base_url.clone(),
            fingerprint: server.fingerprint.clone(),
        }
    );
    let heads = server.heads();
    assert!(!heads.is_empty());
    assert!(
        heads.iter().all(|h| h.starts_with("GET /healthz ")),
        "{heads:?}"
    );
    assert!(!server.saw_authorization(), "{heads:?}");
    assert!(state.servers.list().unwrap().is_empty(), "nothing pinned");
    assert_eq!(state.vault.get(&server.base_url).unwrap(), None);

    // Confirmed, the token goes (the recorder refuses it, so nothing is kept):
    // the check above would have seen it.
    let e = connect_remote(
        &state,
        &server.base_url,
        TOKEN,
        confirmed(&server.fingerprint),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidToken);
    assert!(server.saw_authorization());
    assert!(state.servers.list().unwrap().is_empty());
    assert_eq!(state.vault.get(&server.base_url).unwrap(), None);
}

// proves: CO-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_fingerprint_that_differs_is_refused_and_nothing_is_sent() {
    let server = Recorder::start().await;
    let other = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());

    let e = connect_remote(
        &state,
        &server.base_url,
        TOKEN,
        confirmed(&other.fingerprint),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::FingerprintMismatch);
    assert!(e.message.contains(&other.fingerprint), "{}", e.message);
    assert!(e.message.contains(&server.fingerprint), "{}", e.message);
    assert!(e.message.contains("nothing was sent"), "{}", e.message);
    assert!(!server.saw_authorization(), "{:?}", server.heads());
    assert!(state.servers.list().unwrap().is_empty());
    assert!(!files_text(&dir.path().join("console")).contains(TOKEN));
}

// proves: CO-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_fingerprint_is_pinned_and_asked_no_more() {
    let server = TestServer::start(Db::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let token = &server.admin_token;

    let outcome = connect_remote(&state, &server.base_url, token, first_contact())
        .await
        .unwrap();
    assert!(matches!(outcome, ConnectOutcome::NeedsConfirmation { .. }));
    assert_eq!(server_reads(&server).await, 0, "no request with the token");

    // Pasted in another spelling: lower case, no colons.
    let spelled = server.fingerprint.replace(':', "").to_lowercase();
    let ConnectOutcome::Connected { session } =
        connect_remote(&state, &server.base_url, token, confirmed(&spelled))
            .await
            .unwrap()
    else {
        panic!("not connected");
    };
    assert_eq!(session.fingerprint, server.fingerprint);
    assert_eq!(session.trust, ServerTrust::Pinned);
    assert_eq!(server_reads(&server).await, 1);
    let entry = state.servers.find(&server.base_url).unwrap().unwrap();
    assert_eq!(entry.trust, ServerTrust::Pinned);
    assert_eq!(
        entry.fingerprint.as_deref(),
        Some(server.fingerprint.as_str())
    );

    // Remembered: connects straight away, with the kept token.
    let outcome = connect_remote(&state, &server.base_url, "", first_contact())
        .await
        .unwrap();
    assert!(matches!(outcome, ConnectOutcome::Connected { .. }));
    // Not the other way without forgetting it first.
    let e = connect_remote(&state, &server.base_url, "", Verification::SystemCa)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    let e = connect_remote(&state, &server.base_url, "", confirmed(&"AB".repeat(32)))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::FingerprintMismatch);
    assert_eq!(server_reads(&server).await, 2);
}

/// A CA, and a server certificate it issued for `names`, as PEM files in `dir`.
fn issue(
    dir: &std::path::Path,
    names: &[&str],
) -> (CaRoots, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Gatehouse test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, leaf_cert.pem() + &ca_cert.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    (
        CaRoots::from_pem(ca_cert.pem().as_bytes()).unwrap(),
        cert,
        key,
    )
}

async fn ca_server(dir: &std::path::Path, names: &[&str]) -> (TestServer, CaRoots) {
    let (roots, cert, key) = issue(dir, names);
    let server = TestServer::start_with(Db::Sqlite, |c| {
        c.tls.cert_path = Some(cert);
        c.tls.key_path = Some(key);
    })
    .await;
    (server, roots)
}

// proves: CO-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_cas_verify_the_chain_and_the_host_name_without_a_prompt() {
    let certs = tempfile::tempdir().unwrap();
    let (server, roots) = ca_server(certs.path(), &["127.0.0.1", "localhost"]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = state(dir.path());
    state.trusted_cas = Some(roots.clone());

    let ConnectOutcome::Connected { session } = connect_remote(
        &state,
        &server.base_url,
        &server.admin_token,
        Verification::SystemCa,
    )
    .await
    .unwrap() else {
        panic!("asked for a confirmation the CA made unnecessary");
    };
    assert_eq!(session.trust, ServerTrust::SystemCa);
    assert_eq!(session.fingerprint, server.fingerprint, "shown, not pinned");
    let entry = state.servers.find(&server.base_url).unwrap().unwrap();
    assert_eq!(
        (entry.trust, entry.fingerprint),
        (ServerTrust::SystemCa, None)
    );
    // Remembered that way: pinning it instead means forgetting it first.
    let e = connect_remote(&state, &server.base_url, "", first_contact())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);

    // A certificate the CAs did not issue: refused before anything is sent,
    // never pinned instead.
    let recorder = Recorder::start().await;
    let e = connect_remote(&state, &recorder.base_url, TOKEN, Verification::SystemCa)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::CertificateUntrusted);
    assert!(e.message.contains("certificate authority"), "{}", e.message);
    assert!(recorder.heads().is_empty(), "{:?}", recorder.heads());
    assert!(state.servers.find(&recorder.base_url).unwrap().is_none());

    // Issued by a trusted CA, but for another host name.
    let other_certs = tempfile::tempdir().unwrap();
    let (elsewhere, other_roots) = ca_server(other_certs.path(), &["gatehouse.example"]).await;
    state.trusted_cas = Some(other_roots);
    let e = connect_remote(
        &state,
        &elsewhere.base_url,
        &elsewhere.admin_token,
        Verification::SystemCa,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::CertificateUntrusted);
    assert!(e.message.contains("host name"), "{}", e.message);
    assert_eq!(server_reads(&elsewhere).await, 0);
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// proves: CO-1
#[tokio::test(flavor = "current_thread")]
async fn a_token_in_the_wrong_field_reaches_no_message_log_or_file() {
    // The "command failed" event's callsite registered before the capture
    // starts: registered by another test's thread at the moment this one
    // installs its subscriber, it could keep the interest it computed without
    // it (tracing's registration race) and never reach this log. Registered
    // here first, installing the subscriber recomputes its interest.
    let _ = crate::error::local(ErrorCode::InvalidInput, "registering the callsite");
    let log = Captured::default();
    let sink = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let mut messages = Vec::new();
    for secret in [TOKEN, JWT] {
        // Into the address field, bare or made to look like an address.
        for url in [
            secret.to_owned(),
            format!("https://{secret}"),
            format!("https://{secret}:8443"),
            format!("https://{}:8443", secret.to_lowercase()),
        ] {
            let e = connect_remote(&state, &url, "x", first_contact())
                .await
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidServerUrl, "{url}");
            messages.push(e.message);
        }
        // Into the fingerprint field.
        let e = connect_remote(&state, &server.base_url, "x", confirmed(secret))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        messages.push(e.message);
        // Forgetting a "server" named by it.
        let e = crate::servers::normalize_url(secret).unwrap_err();
        messages.push(e.message);
    }
    // And the token where it belongs, to a server that answers with an error.
    let e = connect_remote(
        &state,
        &server.base_url,
        TOKEN,
        confirmed(&server.fingerprint),
    )
    .await
    .unwrap_err();
    messages.push(e.message);

    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("command failed"),
        "the log was captured: {log}"
    );
    let files = files_text(&dir.path().join("console"));
    for secret in [TOKEN, JWT] {
        for fragment in [&secret[3..20], &secret[20..]] {
            let fragment = fragment.to_lowercase();
            for text in messages.iter().chain([&log, &files]) {
                assert!(
                    !text.to_lowercase().contains(&fragment),
                    "{fragment} reached: {text}"
                );
            }
        }
    }
    assert!(state.servers.list().unwrap().is_empty());
}
