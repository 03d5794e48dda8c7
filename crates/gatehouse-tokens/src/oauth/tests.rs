use super::*;
use rand::SeedableRng;

fn params(pairs: &[(&str, &str)]) -> Params {
    Params::new(
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
    .unwrap()
}

#[test]
fn secrets_have_256_bits_are_stored_hashed_and_rotate_with_a_grace_period() {
    // proves: ID-10
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let a = generate_secret(&mut rng);
    let b = generate_secret(&mut rng);
    assert_ne!(a, b);
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(&a[SECRET_PREFIX.len()..])
            .unwrap()
            .len(),
        32
    );
    let (ha, hb) = (hash_secret(&a), hash_secret(&b));
    assert!(secret_matches(&a, &ha));
    assert!(!secret_matches(&b, &ha));
    // b replaced a at time 100, a accepted until 200.
    assert!(client_secret_accepted(&b, &hb, Some((&ha, 200)), 150));
    assert!(client_secret_accepted(&a, &hb, Some((&ha, 200)), 150));
    assert!(!client_secret_accepted(&a, &hb, Some((&ha, 200)), 200));
    assert!(!client_secret_accepted(&a, &hb, None, 150));
    assert!(!client_secret_accepted("", &hb, Some((&ha, 200)), 150));
}

#[test]
fn form_parameters_are_decoded_once_and_never_repeated() {
    let pairs =
        url_decode_pairs("grant_type=client_credentials&scope=audit%3Aread+audit%3Awrite").unwrap();
    let p = Params::new(pairs).unwrap();
    assert_eq!(p.get("scope"), Some("audit:read audit:write"));
    assert_eq!(p.get("grant_type"), Some("client_credentials"));
    // Repeated, even with the same value (RFC 6749 §3.2).
    let twice = url_decode_pairs("grant_type=a&grant_type=a").unwrap();
    assert_eq!(
        Params::new(twice).unwrap_err().error,
        OAuthErrorCode::InvalidRequest
    );
    // Broken escapes and invalid UTF-8 are refused, not guessed at.
    assert!(url_decode_pairs("a=%zz").is_none());
    assert!(url_decode_pairs("a=%ff").is_none());
    assert!(url_decode_pairs("a=%4").is_none());
    // Oversized values.
    let long = vec![("scope".to_string(), "x".repeat(MAX_PARAMETER_LEN + 1))];
    assert!(Params::new(long).is_err());
    // Empty counts as absent.
    assert_eq!(params(&[("scope", "")]).get("scope"), None);
}

#[test]
fn client_authentication_takes_exactly_one_method() {
    // proves: ID-10
    let basic = format!("Basic {}", STANDARD.encode("svc%3A1:s%26cret"));
    let c = client_credentials(Some(&basic), &params(&[]))
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.client_id.as_str(), c.secret.as_str()),
        ("svc:1", "s&cret")
    );
    assert_eq!(c.method, AuthMethod::ClientSecretBasic);
    assert!(!format!("{c:?}").contains("s&cret"));

    let post = params(&[("client_id", "svc"), ("client_secret", "x")]);
    let c = client_credentials(None, &post).unwrap().unwrap();
    assert_eq!(c.method, AuthMethod::ClientSecretPost);

    // Both at once.
    let both = client_credentials(Some(&basic), &post).unwrap_err();
    assert_eq!(both.error, OAuthErrorCode::InvalidRequest);
    // Neither.
    assert_eq!(
        client_credentials(None, &params(&[("client_id", "svc")])).unwrap(),
        None
    );
    // Malformed Basic values fail as client authentication.
    for bad in [
        "Basic",
        "Basic !!!",
        "Bearer abc",
        "Basic Zm9v",
        "Digest x=y",
    ] {
        let e = client_credentials(Some(bad), &params(&[])).unwrap_err();
        assert_eq!(e.error, OAuthErrorCode::InvalidClient, "{bad}");
    }
    // A form client_id naming someone else.
    let other = client_credentials(Some(&basic), &params(&[("client_id", "other")])).unwrap_err();
    assert_eq!(other.error, OAuthErrorCode::InvalidRequest);
}

#[test]
fn client_credentials_issues_only_the_clients_scopes_to_confidential_clients() {
    // proves: ID-10
    let mine = Scopes::parse("audit:read audit:write").unwrap();
    let grants = [GrantType::ClientCredentials];
    let client = GrantingClient {
        is_confidential: true,
        grants: &grants,
        scopes: &mine,
    };
    assert_eq!(
        grant_client_credentials(&client, &params(&[])).unwrap(),
        mine
    );
    let asked = grant_client_credentials(&client, &params(&[("scope", "audit:read")])).unwrap();
    assert_eq!(asked.to_string(), "audit:read");
    let more = grant_client_credentials(&client, &params(&[("scope", "audit:read keys:write")]));
    assert_eq!(more.unwrap_err().error, OAuthErrorCode::InvalidScope);
    let malformed = grant_client_credentials(&client, &params(&[("scope", "a  b")]));
    assert_eq!(malformed.unwrap_err().error, OAuthErrorCode::InvalidScope);
    let quoted = grant_client_credentials(&client, &params(&[("scope", "a\"b")]));
    assert_eq!(quoted.unwrap_err().error, OAuthErrorCode::InvalidScope);

    let public = GrantingClient {
        is_confidential: false,
        ..client
    };
    let e = grant_client_credentials(&public, &params(&[])).unwrap_err();
    assert_eq!(e.error, OAuthErrorCode::UnauthorizedClient);
    let no_grant = GrantingClient {
        grants: &[GrantType::AuthorizationCode],
        ..client
    };
    let e = grant_client_credentials(&no_grant, &params(&[])).unwrap_err();
    assert_eq!(e.error, OAuthErrorCode::UnauthorizedClient);
}

#[test]
fn errors_serialize_in_rfc_6749s_shape() {
    let e = OAuthError::new(
        OAuthErrorCode::InvalidClient,
        "client authentication failed",
    );
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"error": "invalid_client", "error_description": "client authentication failed"})
    );
    assert_eq!(e.error.status(), 401);
    assert_eq!(OAuthErrorCode::InvalidScope.status(), 400);
}
