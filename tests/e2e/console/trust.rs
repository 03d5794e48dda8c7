//! CO-1: the console never sends a token to a server nobody verified. First contact
//! shows the certificate's fingerprint and waits for the person to confirm it (or
//! checks the one they pasted), and a token typed into the wrong field is never
//! shown back.

use gatehouse_testkit::{Db, TestServer};

use super::{Console, ONE_AT_A_TIME};

/// How many requests reached the server's `GET /v1/server`, the console's first
/// request with a token (the audit trail records every request, refused or not).
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

// proves: CO-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_contact_shows_the_fingerprint_and_sends_the_token_only_once_confirmed() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let console = Console::start(dir.path(), "connect").await;
    console.wait_for("connect-screen", 30).await;
    console.type_into("server-url", &server.base_url).await;
    console.type_into("server-token", &server.admin_token).await;
    console.click("connect-submit").await;

    console.wait_for("confirm-fingerprint", 30).await;
    let shown = console.text("presented-fingerprint").await;
    assert_eq!(
        shown.split_whitespace().collect::<String>(),
        server.fingerprint,
        "the whole fingerprint, in the form `gatehouse init` prints"
    );
    assert_eq!(console.text("confirm-server").await, server.base_url);
    console.screenshot("confirm-fingerprint").await;
    assert_eq!(
        server_reads(&server).await,
        0,
        "nothing but a health check yet"
    );
    assert!(
        !console.is_present("remembered-server").await,
        "nothing remembered before the confirmation"
    );

    console.click("confirm-connect").await;
    console.wait_for("shell", 30).await;
    assert_eq!(server_reads(&server).await, 1);
    console.click("nav-settings").await;
    assert_eq!(
        console.text("settings-fingerprint").await,
        server.fingerprint
    );

    // Remembered with its pin: the next connection asks nothing.
    console.click("sign-out").await;
    console.wait_for("connect-screen", 10).await;
    assert!(console
        .text("remembered-server")
        .await
        .contains(&server.base_url));
    console.type_into("server-url", &server.base_url).await;
    console.wait_for("remembered-trust", 10).await;
    console.type_into("server-token", &server.admin_token).await;
    console.click("connect-submit").await;
    console.wait_for("shell", 30).await;
    console.stop().await;
}

// proves: CO-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pasted_fingerprint_is_refused_and_nothing_is_sent() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let other = TestServer::start(Db::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let console = Console::start(dir.path(), "connect").await;
    console.wait_for("connect-screen", 30).await;

    // The fingerprint of another server: refused, with both named.
    console.type_into("server-url", &server.base_url).await;
    console.type_into("server-token", &server.admin_token).await;
    console
        .type_into("server-fingerprint", &other.fingerprint)
        .await;
    console.screenshot("connect-form").await;
    console.click("connect-submit").await;
    console
        .wait_text("error-code", "fingerprint_mismatch", 30)
        .await;
    let message = console.text("error-message").await;
    assert!(
        message.contains(&server.fingerprint) && message.contains(&other.fingerprint),
        "{message}"
    );
    assert!(message.contains("nothing was sent"), "{message}");
    console.screenshot("fingerprint-mismatch").await;
    assert_eq!(server_reads(&server).await, 0, "the token was not sent");
    assert!(!console.is_present("remembered-server").await);

    // A token pasted into the fingerprint field is refused without being shown.
    console.type_into("server-token", &server.admin_token).await;
    console
        .type_into("server-fingerprint", &server.admin_token)
        .await;
    console.click("connect-submit").await;
    console.wait_text("error-code", "invalid_input", 15).await;
    // And into the address field.
    console.type_into("server-url", &server.admin_token).await;
    console.type_into("server-token", "x").await;
    console.click("connect-submit").await;
    console
        .wait_text("error-code", "invalid_server_url", 15)
        .await;
    let secret = &server.admin_token[3..];
    let page = console.client().source().await.unwrap();
    // The address field itself still holds what was typed; no message repeats it.
    assert!(
        !console.text("error-banner").await.contains(secret),
        "the banner shows the token"
    );
    assert_eq!(page.matches(secret).count(), 0, "{page}");

    // The right fingerprint, pasted in another spelling: connects with no prompt.
    let compact = server.fingerprint.replace(':', "").to_lowercase();
    console.type_into("server-url", &server.base_url).await;
    console.type_into("server-token", &server.admin_token).await;
    console.type_into("server-fingerprint", &compact).await;
    console.click("connect-submit").await;
    console.wait_for("shell", 30).await;
    assert_eq!(server_reads(&server).await, 1);
    console.stop().await;
    other.stop().await;
}

// proves: CO-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_certificate_from_a_trusted_ca_connects_without_a_prompt() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let _one = ONE_AT_A_TIME.lock().await;
    let certs = tempfile::tempdir().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Gatehouse e2e CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    let (cert, key, bundle) = (
        certs.path().join("cert.pem"),
        certs.path().join("key.pem"),
        certs.path().join("ca.pem"),
    );
    std::fs::write(&cert, leaf_cert.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    std::fs::write(&bundle, ca_cert.pem()).unwrap();
    let server = TestServer::start_with(Db::Sqlite, |c| {
        c.tls.cert_path = Some(cert);
        c.tls.key_path = Some(key);
    })
    .await;

    // The system's trust store, as OpenSSL's variable names it, holds the CA.
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle.to_str().unwrap();
    let console = Console::start_with(dir.path(), "connect", &[("SSL_CERT_FILE", bundle)]).await;
    console.wait_for("connect-screen", 30).await;
    console.type_into("server-url", &server.base_url).await;
    console.type_into("server-token", &server.admin_token).await;
    console.click("verify-system-ca").await;
    assert!(!console.is_present("server-fingerprint").await);
    console.click("connect-submit").await;
    console.wait_for("shell", 30).await;
    assert!(!console.is_present("confirm-fingerprint").await);
    console.click("nav-settings").await;
    assert!(console
        .text("settings-trust")
        .await
        .contains("certificate authority"));
    console.stop().await;

    // Without the CA in the store, the same server is refused, and nothing sent.
    let dir = tempfile::tempdir().unwrap();
    let empty = certs.path().join("other-ca.pem");
    let other = KeyPair::generate().unwrap();
    let mut other_ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    other_ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    std::fs::write(&empty, other_ca.self_signed(&other).unwrap().pem()).unwrap();
    let reads = server_reads(&server).await;
    let console = Console::start_with(
        dir.path(),
        "connect",
        &[("SSL_CERT_FILE", empty.to_str().unwrap())],
    )
    .await;
    console.wait_for("connect-screen", 30).await;
    console.type_into("server-url", &server.base_url).await;
    console.type_into("server-token", &server.admin_token).await;
    console.click("verify-system-ca").await;
    console.click("connect-submit").await;
    console
        .wait_text("error-code", "certificate_untrusted", 30)
        .await;
    console.screenshot("certificate-untrusted").await;
    assert_eq!(server_reads(&server).await, reads, "the token was not sent");
    console.stop().await;
}
