//! Refusals: the same answer for unknown logins and wrong passwords, impossible input
//! refused before any I/O, a misconfigured service account named as such.

use gatehouse_directory::harness::{password_for, user_dn, Slapd};
use gatehouse_directory::{DirectoryConfig, DirectoryError};

use crate::{port_nobody_listens_on, sign_in};

// proves: ID-7
#[tokio::test]
async fn an_unknown_login_and_a_wrong_password_get_the_same_answer() {
    let slapd = Slapd::start().await.unwrap();
    let config = slapd.config();

    let wrong_password = sign_in(&config, "alice", "not her password")
        .await
        .unwrap_err();
    let someone_elses = sign_in(&config, "bob", &password_for("alice"))
        .await
        .unwrap_err();
    let unknown = sign_in(&config, "nobody", "any password")
        .await
        .unwrap_err();
    let unknown_with_a_real_password = sign_in(&config, "mallory", &password_for("alice"))
        .await
        .unwrap_err();
    for error in [
        &wrong_password,
        &someone_elses,
        &unknown,
        &unknown_with_a_real_password,
    ] {
        assert_eq!(*error, DirectoryError::InvalidCredentials);
        assert_eq!(error.to_string(), "invalid credentials");
        assert_eq!(error.code(), "invalid_credentials");
    }
}

// proves: ID-4
#[tokio::test]
async fn an_empty_password_is_refused_without_any_bind() {
    let slapd = Slapd::start().await.unwrap();

    // The hazard is real: this directory accepts an empty simple bind for alice's DN
    // (an unauthenticated bind, RFC 4513 5.1.2).
    let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(
        ldap3::LdapConnSettings::new().set_no_tls_verify(true),
        &slapd.url(),
    )
    .await
    .unwrap();
    ldap3::drive!(conn);
    let anonymous = ldap.simple_bind(&user_dn("alice"), "").await.unwrap();
    assert_eq!(anonymous.rc, 0, "slapd refused an empty bind: {anonymous}");
    let _ = ldap.unbind().await;

    let refused = sign_in(&slapd.config(), "alice", "").await.unwrap_err();
    assert_eq!(refused, DirectoryError::InvalidCredentials);

    // Pointed at a port nobody listens on, impossible input still gets its answer, not
    // `directory_unavailable`: nothing was sent, nothing was even connected.
    let nowhere = DirectoryConfig {
        url: format!("ldaps://127.0.0.1:{}/", port_nobody_listens_on()),
        ..slapd.config()
    };
    let too_long = "a".repeat(257);
    for (login, password) in [
        ("alice", ""),
        ("", "a password"),
        ("al\0ice", "a password"),
        (too_long.as_str(), "a password"),
    ] {
        let refused = sign_in(&nowhere, login, password).await.unwrap_err();
        assert_eq!(refused, DirectoryError::InvalidCredentials, "{login:?}");
    }
    // While a possible sign-in there is, indeed, unavailable.
    let tried = sign_in(&nowhere, "alice", "a password").await.unwrap_err();
    assert_eq!(tried.code(), "directory_unavailable", "{tried}");
}

// proves: ID-4
#[tokio::test]
async fn a_refused_service_account_or_a_missing_search_base_is_misconfigured() {
    let slapd = Slapd::start().await.unwrap();

    let wrong_service_password = DirectoryConfig {
        bind_password: "not the service password".to_owned(),
        ..slapd.config()
    };
    let error = sign_in(&wrong_service_password, "alice", &password_for("alice"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "directory_misconfigured", "{error}");
    assert!(error.to_string().contains("bind_dn"), "{error}");
    assert!(!error.to_string().contains("not the service password"));

    let missing_base = DirectoryConfig {
        search_base: "ou=nowhere,dc=example,dc=test".to_owned(),
        ..slapd.config()
    };
    let error = sign_in(&missing_base, "alice", &password_for("alice"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "directory_misconfigured", "{error}");
    assert!(error.to_string().contains("search_base"), "{error}");
}
