//! TLS and mutual TLS to upstreams (GW-10: mutual trust with the services):
//! a real upstream over TLS that asks for a client certificate from its own
//! certificate authority, reached through the gateway with and without the
//! gateway's certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};

use harness::{route, start};

/// A CA, the upstream's certificate and the gateway's client certificate,
/// written as PEM files into `dir`.
struct Pki {
    server: (rustls::pki_types::CertificateDer<'static>, KeyPair),
    ca: rustls::pki_types::CertificateDer<'static>,
}

fn pki(dir: &Path) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["gatehouse-gateway".to_owned()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("client.pem"), client.pem()).unwrap();
    std::fs::write(dir.join("client.key"), client_key.serialize_pem()).unwrap();
    Pki {
        server: (server.der().clone(), server_key),
        ca: ca.der().clone(),
    }
}

/// An upstream over TLS that requires a client certificate from the CA, and
/// answers with the subject count of the certificate it got.
async fn tls_upstream(pki: &Pki) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(pki.server.1.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let has_cert = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .is_some_and(|c| !c.is_empty());
                let service = hyper::service::service_fn(move |_request| async move {
                    let body = format!("over mutual TLS: {has_cert}");
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

// proves: GW-10 (mutual TLS to upstreams: the upstream's certificate is
// checked, and the gateway proves itself with its own)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstreams_are_reached_over_mutual_tls_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let upstream = tls_upstream(&pki).await;
    let routes = move |_plain: SocketAddr| {
        let mut r = route("secure", "/api", upstream);
        r.upstreams = vec![format!("https://{upstream}")];
        vec![r]
    };
    let files = dir.path().to_owned();

    // With the CA and the gateway's certificate: through.
    let f = files.clone();
    let h = start(routes, move |c| {
        c.upstream.ca_file = Some(f.join("ca.pem"));
        c.upstream.client_cert_file = Some(f.join("client.pem"));
        c.upstream.client_key_file = Some(f.join("client.key"));
    })
    .await;
    let (status, body, _) = h.send(h.get("/api/a")).await;
    assert_eq!((status, body.as_str()), (200, "over mutual TLS: true"));

    // Without the gateway's certificate: the upstream refuses it; 502.
    let f = files.clone();
    let h = start(routes, move |c| c.upstream.ca_file = Some(f.join("ca.pem"))).await;
    let (status, body, _) = h.send(h.get("/api/a")).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("\"code\":\"bad_gateway\""), "{body}");

    // An upstream whose certificate is not trusted (the system's roots): 502.
    let f = files.clone();
    let h = start(routes, move |c| {
        c.upstream.client_cert_file = Some(f.join("client.pem"));
        c.upstream.client_key_file = Some(f.join("client.key"));
    })
    .await;
    assert_eq!(h.send(h.get("/api/a")).await.0, 502);

    // A key without its certificate, or a file that is not PEM: refused at
    // start, naming the key.
    let mut config = h.gateway.config().clone();
    config.upstream.client_cert_file = None;
    assert!(config
        .check()
        .unwrap_err()
        .to_string()
        .contains("both or neither"));
    config.upstream.client_key_file = None;
    config.upstream.ca_file = Some(files.join("client.key"));
    let waf = Arc::new(
        gatehouse_gateway::waf::modsec::ModSecurityWaf::start(config.waf.clone(), 1, 4).unwrap(),
    );
    let host = h.host.clone();
    let error = gatehouse_gateway::Gateway::new(config, waf, host, h.addr)
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("gateway.upstream.ca_file"), "{error}");
}
