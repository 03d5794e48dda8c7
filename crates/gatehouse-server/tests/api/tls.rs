//! GW-1: HTTPS only, TLS 1.3 only; certificate pinning.

use std::sync::Arc;

use gatehouse_client::{Client, ClientError, PinnedVerifier};
use gatehouse_testkit::{Db, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::assert_security_headers;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_over_tls13_says_ok_with_security_headers() {
    let server = TestServer::start(Db::Sqlite).await;
    let response = server
        .raw()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_security_headers(response.headers());
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(server.anonymous().healthz().await.unwrap(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_handshake_is_refused() {
    let server = TestServer::start(Db::Sqlite).await;
    let verifier = Arc::new(PinnedVerifier::new(&server.fingerprint).unwrap());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(verifier)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.base_url.trim_start_matches("https://"))
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let result = connector.connect(name, tcp).await;
    let Err(err) = result else {
        panic!("a TLS 1.2-only client must not get a session")
    };
    let err = err.to_string();
    assert!(
        err.to_lowercase().contains("protocol") || err.contains("alert"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_gets_no_http_answer() {
    let server = TestServer::start(Db::Sqlite).await;
    let mut tcp = tokio::net::TcpStream::connect(server.base_url.trim_start_matches("https://"))
        .await
        .unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tcp.read_to_end(&mut answer),
    )
    .await;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP must not be served: {answer:?}"
    );
    assert!(!String::from_utf8_lossy(&answer).contains("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_pin_is_refused_with_both_fingerprints() {
    let server = TestServer::start(Db::Sqlite).await;
    let wrong = "00".repeat(32);
    let client = Client::builder(&server.base_url)
        .pin_sha256(&wrong)
        .build()
        .unwrap();
    match client.healthz().await {
        Err(ClientError::CertificateMismatch { expected, actual }) => {
            assert_eq!(
                expected,
                gatehouse_client::normalize_fingerprint(&wrong).unwrap()
            );
            assert_eq!(actual, server.fingerprint);
        }
        other => panic!("expected a certificate mismatch, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_pin_a_self_signed_certificate_is_not_trusted() {
    let server = TestServer::start(Db::Sqlite).await;
    let client = Client::builder(&server.base_url).build().unwrap();
    // Refused by the web roots, and said so (not a mere connection failure).
    assert!(matches!(
        client.healthz().await,
        Err(ClientError::CertificateUntrusted(_))
    ));
}

#[tokio::test]
async fn the_client_refuses_plain_http_urls_and_bad_pins() {
    let e = Client::builder("http://127.0.0.1:1").build().unwrap_err();
    assert!(matches!(e, ClientError::InvalidUrl(_)), "{e}");
    let e = Client::builder("not a url").build().unwrap_err();
    assert!(matches!(e, ClientError::InvalidUrl(_)), "{e}");
    let e = Client::builder("https://127.0.0.1:1")
        .pin_sha256("abc")
        .build()
        .unwrap_err();
    assert!(matches!(e, ClientError::InvalidFingerprint), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = Client::builder(format!("https://127.0.0.1:{port}"))
        .pin_sha256("00".repeat(32))
        .build()
        .unwrap();
    assert!(matches!(
        client.healthz().await,
        Err(ClientError::Connect(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_does_not_block_other_clients() {
    let server = TestServer::start_with(Db::Sqlite, |c| c.tls_handshake_timeout_seconds = 1).await;
    let addr = server.base_url.trim_start_matches("https://").to_owned();
    // Connections that never send a ClientHello.
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    assert_eq!(server.anonymous().healthz().await.unwrap(), "ok");
    // And the server hangs up on them once the handshake deadline passes.
    let mut buf = [0u8; 16];
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(5), idle[0].read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "stalled connection must be closed: {read:?}"
    );
}
