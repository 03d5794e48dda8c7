//! Right passwords: the entry found, its attributes and groups mapped.

use gatehouse_directory::harness::{group_dn, password_for, user_dn, Slapd};
use gatehouse_directory::DirectoryError;

use crate::sign_in;

// proves: ID-4
#[tokio::test]
async fn the_right_password_gives_the_user_with_its_mapped_type_and_attributes() {
    let slapd = Slapd::start().await.unwrap();
    let config = slapd.config();

    let alice = sign_in(&config, "alice", &password_for("alice"))
        .await
        .unwrap();
    assert_eq!(alice.dn, user_dn("alice"));
    assert_eq!(alice.login, "alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.test"));
    assert_eq!(alice.phone.as_deref(), Some("+15550100001"));
    assert_eq!(alice.display_name.as_deref(), Some("Alice Adams"));
    let mut groups = alice.groups.clone();
    groups.sort();
    assert_eq!(groups, [group_dn("clinicians"), group_dn("researchers")]);
    assert_eq!(alice.user_type, "clinician");
    assert_eq!(alice.entitlements, ["records:read", "research:read"]);

    let bob = sign_in(&config, "bob", &password_for("bob")).await.unwrap();
    assert_eq!(bob.user_type, "operator");
    assert_eq!(bob.entitlements, ["console:use"]);
    assert_eq!(bob.email.as_deref(), Some("bob@example.test"));
    assert_eq!(bob.phone, None);
    assert_eq!(bob.display_name, None);
}

// proves: ID-4
#[tokio::test]
async fn starttls_signs_in_too() {
    let slapd = Slapd::start().await.unwrap();
    let config = slapd.starttls_config();
    assert!(config.url.starts_with("ldap://"));
    let alice = sign_in(&config, "alice", &password_for("alice"))
        .await
        .unwrap();
    assert_eq!(alice.user_type, "clinician");
    let wrong = sign_in(&config, "alice", "not her password")
        .await
        .unwrap_err();
    assert_eq!(wrong, DirectoryError::InvalidCredentials);
}

// proves: ID-4
#[tokio::test]
async fn a_user_in_no_mapped_group_is_not_permitted_unless_there_is_a_default_type() {
    let slapd = Slapd::start().await.unwrap();
    let config = slapd.config();

    let carol = sign_in(&config, "carol", &password_for("carol"))
        .await
        .unwrap_err();
    assert_eq!(carol.code(), "not_permitted", "{carol}");
    // The type is decided only once the password is proven.
    let wrong = sign_in(&config, "carol", "not her password")
        .await
        .unwrap_err();
    assert_eq!(wrong, DirectoryError::InvalidCredentials);

    let mut with_default = config.clone();
    with_default.default_user_type = Some("staff".to_owned());
    let carol = sign_in(&with_default, "carol", &password_for("carol"))
        .await
        .unwrap();
    assert_eq!(carol.user_type, "staff");
    assert!(carol.entitlements.is_empty());
    // A mapped group still wins over the default.
    let alice = sign_in(&with_default, "alice", &password_for("alice"))
        .await
        .unwrap();
    assert_eq!(alice.user_type, "clinician");
}

// proves: ID-4
#[tokio::test]
async fn filter_metacharacters_in_a_login_are_escaped() {
    let slapd = Slapd::start().await.unwrap();
    let config = slapd.config();
    let alice_password = password_for("alice");

    // Unescaped, each of these would find alice's entry (and only hers) and sign in.
    for login in ["al*", "alice)(uid=alice", "*lice", "alice)(|(uid=*"] {
        let outcome = sign_in(&config, login, &alice_password).await;
        assert_eq!(outcome, Err(DirectoryError::InvalidCredentials), "{login}");
    }
    let outcome = sign_in(&config, "*)(uid=*", &alice_password).await;
    assert_eq!(outcome, Err(DirectoryError::InvalidCredentials));

    // Escaped, a login made of metacharacters matches itself exactly.
    let login = "o*neil(x)";
    let user = sign_in(&config, login, &password_for(login)).await.unwrap();
    assert_eq!(user.login, login);
    assert_eq!(user.dn, user_dn(login));
}

// proves: ID-4
#[tokio::test]
async fn locked_expired_and_must_change_accounts_are_said_as_such() {
    let slapd = Slapd::start().await.unwrap();
    let config = slapd.config();

    let dave = sign_in(&config, "dave", &password_for("dave"))
        .await
        .unwrap_err();
    assert_eq!(dave, DirectoryError::AccountLocked);
    let erin = sign_in(&config, "erin", &password_for("erin"))
        .await
        .unwrap_err();
    assert_eq!(erin, DirectoryError::MustChangePassword);
    let frank = sign_in(&config, "frank", &password_for("frank"))
        .await
        .unwrap_err();
    assert_eq!(frank.code(), "password_expired", "{frank}");

    // A reset password is still checked: the wrong one is just wrong.
    let erin = sign_in(&config, "erin", "not her password")
        .await
        .unwrap_err();
    assert_eq!(erin, DirectoryError::InvalidCredentials);
}
