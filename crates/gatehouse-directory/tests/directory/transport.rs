//! The transport: TLS required and verified, a directory that is down or silent is
//! `directory_unavailable` within the bounded wait.

use std::time::{Duration, Instant};

use gatehouse_directory::harness::{password_for, Slapd};
use gatehouse_directory::{Directory, DirectoryConfig, DirectoryError};
use tokio::net::TcpListener;

use crate::{port_nobody_listens_on, sign_in};

fn unavailable(error: &DirectoryError) -> &str {
    match error {
        DirectoryError::Unavailable { reason } => reason,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

// proves: ID-4
#[tokio::test]
async fn a_directory_that_is_down_is_unavailable() {
    let slapd = Slapd::start().await.unwrap();
    for config in [slapd.config(), slapd.starttls_config()] {
        let port = port_nobody_listens_on();
        let scheme = if config.starttls { "ldap" } else { "ldaps" };
        let down = DirectoryConfig {
            url: format!("{scheme}://127.0.0.1:{port}/"),
            ..config
        };
        let error = sign_in(&down, "alice", &password_for("alice"))
            .await
            .unwrap_err();
        let reason = unavailable(&error);
        assert!(reason.starts_with("connect: "), "{reason}");
        assert!(!reason.contains(&password_for("alice")));
    }
}

// proves: ID-4
#[tokio::test]
async fn a_directory_that_accepts_but_never_answers_is_unavailable_within_the_bound() {
    let slapd = Slapd::start().await.unwrap();
    // Accepts every connection and holds it, silent, until the test ends.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    for (scheme, base) in [("ldaps", slapd.config()), ("ldap", slapd.starttls_config())] {
        let config = DirectoryConfig {
            url: format!("{scheme}://127.0.0.1:{port}/"),
            timeout_ms: 300,
            ..base
        };
        let started = Instant::now();
        // The outer bound only turns a hang (no bound at all) into a failure.
        let outcome = tokio::time::timeout(
            Duration::from_secs(10),
            sign_in(&config, "alice", &password_for("alice")),
        )
        .await
        .expect("the sign-in's own bound ends it");
        let error = outcome.unwrap_err();
        let elapsed = started.elapsed();
        let reason = unavailable(&error);
        assert!(reason.contains("300 ms"), "{reason}");
        assert_eq!(error.code(), "directory_unavailable");
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        assert!(
            elapsed < Duration::from_secs(3),
            "{scheme}: waited {elapsed:?}"
        );
    }
    holder.abort();
}

// proves: ID-4
#[tokio::test]
async fn a_certificate_from_another_ca_is_unavailable() {
    let slapd = Slapd::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let other_ca = dir.path().join("other-ca.pem");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&other_ca, params.self_signed(&key).unwrap().pem()).unwrap();

    for config in [slapd.config(), slapd.starttls_config()] {
        let untrusted = DirectoryConfig {
            ca_file: other_ca.clone(),
            ..config
        };
        let error = sign_in(&untrusted, "alice", &password_for("alice"))
            .await
            .unwrap_err();
        let reason = unavailable(&error);
        assert!(reason.contains("certificate"), "{reason}");
    }
}

// proves: ID-4
#[tokio::test]
async fn a_host_the_certificate_does_not_name_is_unavailable() {
    let slapd = Slapd::start().await.unwrap();
    // The certificate names localhost and 127.0.0.1; 127.0.0.2 reaches slapd through a
    // plain TCP relay, so only the name differs.
    let relay = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let relay_port = relay.local_addr().unwrap().port();
    let target = format!("127.0.0.1:{}", slapd.ldaps_port());
    let relaying = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = relay.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let relayed = DirectoryConfig {
        url: format!("ldaps://127.0.0.2:{relay_port}/"),
        ..slapd.config()
    };
    let error = sign_in(&relayed, "alice", &password_for("alice"))
        .await
        .unwrap_err();
    let reason = unavailable(&error);
    assert!(reason.contains("certificate"), "{reason}");

    // slapd under the other name its certificate has signs in.
    let named = DirectoryConfig {
        url: format!("ldaps://localhost:{}/", slapd.ldaps_port()),
        ..slapd.config()
    };
    sign_in(&named, "alice", &password_for("alice"))
        .await
        .unwrap();
    relaying.abort();
}

// proves: ID-4
#[tokio::test]
async fn cleartext_ldap_is_refused_by_validation() {
    let slapd = Slapd::start().await.unwrap();
    let cleartext = DirectoryConfig {
        starttls: false,
        ..slapd.starttls_config()
    };
    let error = cleartext.validate().unwrap_err();
    assert_eq!(error.code(), "directory_misconfigured");
    assert!(error.to_string().contains("url: "), "{error}");
    let error = Directory::new(cleartext).unwrap_err();
    assert_eq!(error.code(), "directory_misconfigured");
    // The same URL with StartTLS is fine.
    slapd.starttls_config().validate().unwrap();
}
