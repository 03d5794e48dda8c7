use super::*;
use crate::oauth::url_decode_pairs;

fn params(query: &str) -> Params {
    Params::new(url_decode_pairs(query).unwrap()).unwrap()
}

// The challenge computed independently (Python's hashlib and base64).
const CHALLENGE: &str = "rJeFCXgZLot2gEe1tkmuMePHf5QB5TYz2oMDYZ-WOKI";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9jfeAx8cVhtSDmKtXxB5fGs4X";

fn client<'a>(
    grants: &'a [GrantType],
    scopes: &'a Scopes,
    uris: &'a [String],
) -> RegisteredClient<'a> {
    RegisteredClient {
        is_active: true,
        grants,
        scopes,
        redirect_uris: uris,
    }
}

fn good(extra: &str) -> Params {
    params(&format!(
        "client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A4711%2Fcb&response_type=code\
         &code_challenge={CHALLENGE}&code_challenge_method=S256&scope=openid&state=s1&nonce=n1{extra}"
    ))
}

// proves: TK-6 (S256: the challenge of the verifier, and of nothing else)
#[test]
fn a_verifier_matches_its_s256_challenge_and_nothing_else_does() {
    assert!(verifier_matches(VERIFIER, CHALLENGE));
    let mut other = VERIFIER.to_owned();
    other.replace_range(0..1, "e");
    assert!(!verifier_matches(&other, CHALLENGE));
    // The challenge itself presented as the verifier (what `plain` would accept).
    assert!(!verifier_matches(CHALLENGE, CHALLENGE));
    assert!(!verifier_matches("short", CHALLENGE));
    assert!(!verifier_matches(&"a".repeat(129), CHALLENGE));
    assert!(!verifier_matches(&format!("{VERIFIER}+"), CHALLENGE));
}

// proves: TK-6 (loopback redirects on any port, RFC 8252 §7.3; everything else exact)
#[test]
fn redirect_uris_match_exactly_or_on_any_loopback_port() {
    assert!(redirect_matches(
        "https://app.example/cb",
        "https://app.example/cb"
    ));
    assert!(!redirect_matches(
        "https://app.example/cb",
        "https://app.example/cb/"
    ));
    assert!(!redirect_matches(
        "https://app.example/cb",
        "https://app.example/cb?x=1"
    ));
    assert!(!redirect_matches(
        "https://app.example/cb",
        "https://app.example:444/cb"
    ));
    assert!(!redirect_matches(
        "https://app.example/cb",
        "https://app.example/cb#f"
    ));
    assert!(redirect_matches(
        "http://127.0.0.1/cb",
        "http://127.0.0.1:53127/cb"
    ));
    assert!(redirect_matches(
        "http://127.0.0.1:8000/cb",
        "http://127.0.0.1:1/cb"
    ));
    assert!(redirect_matches("http://[::1]/cb", "http://[::1]:9/cb"));
    assert!(!redirect_matches(
        "http://127.0.0.1/cb",
        "http://127.0.0.1:53127/other"
    ));
    assert!(!redirect_matches(
        "http://127.0.0.1/cb",
        "http://127.0.0.1:0/cb"
    ));
    assert!(!redirect_matches(
        "http://127.0.0.1/cb",
        "http://127.0.0.1:70000/cb"
    ));
    assert!(!redirect_matches(
        "http://127.0.0.1/cb",
        "http://127.0.0.1.evil.example/cb"
    ));
    assert!(!redirect_matches(
        "http://127.0.0.1/cb",
        "http://127.0.0.1:80@evil.example/cb"
    ));
    assert!(!redirect_matches(
        "http://127.0.0.1/cb",
        "http://[::1]:80/cb"
    ));
    assert!(!redirect_matches(
        "http://localhost/cb",
        "http://localhost:80/cb"
    ));
    assert!(!redirect_matches(
        "http://127.0.0.1/cb",
        "https://127.0.0.1:80/cb"
    ));
}

// proves: TK-6 (an unknown client or an unregistered redirect is never redirected to)
#[test]
fn an_unknown_client_or_a_foreign_redirect_uri_gets_no_redirect() {
    let scopes = Scopes::from_names(["openid"]);
    let uris = vec!["http://127.0.0.1/cb".to_owned()];
    let grants = [GrantType::AuthorizationCode];
    let c = client(&grants, &scopes, &uris);
    assert_eq!(
        check_client(None, &good("")),
        Err(NoRedirect::UnknownClient)
    );
    let disabled = RegisteredClient {
        is_active: false,
        ..client(&grants, &scopes, &uris)
    };
    assert_eq!(
        check_client(Some(&disabled), &good("")),
        Err(NoRedirect::UnknownClient)
    );
    let foreign = params("client_id=app&redirect_uri=https%3A%2F%2Fevil.example%2Fcb");
    assert_eq!(
        check_client(Some(&c), &foreign),
        Err(NoRedirect::RedirectUriMismatch)
    );
    assert_eq!(
        check_client(Some(&c), &params("client_id=app")),
        Err(NoRedirect::MissingRedirectUri)
    );
    assert_eq!(client_id(&params("x=1")), Err(NoRedirect::MissingClient));
    assert_eq!(
        check_client(Some(&c), &good("")).as_deref(),
        Ok("http://127.0.0.1:4711/cb")
    );
}

// proves: TK-6 (PKCE S256 required; plain, missing and malformed challenges refused; no implicit grant)
#[test]
fn requests_without_s256_pkce_or_for_another_response_type_are_refused() {
    let scopes = Scopes::from_names(["openid", "profile"]);
    let uris = vec!["http://127.0.0.1/cb".to_owned()];
    let grants = [GrantType::AuthorizationCode];
    let c = client(&grants, &scopes, &uris);
    let uri = || "http://127.0.0.1:4711/cb".to_owned();
    let ok = check_request(&c, uri(), &good("")).unwrap();
    assert_eq!(ok.code_challenge, CHALLENGE);
    assert_eq!(ok.state.as_deref(), Some("s1"));
    assert_eq!(ok.nonce.as_deref(), Some("n1"));
    assert!(ok.is_openid());
    let cases = [
        ("client_id=app&response_type=code&scope=openid", OAuthErrorCode::InvalidRequest),
        (
            &format!("response_type=code&code_challenge={CHALLENGE}&scope=openid") as &str,
            OAuthErrorCode::InvalidRequest,
        ),
        (
            &format!("response_type=code&code_challenge={CHALLENGE}&code_challenge_method=plain"),
            OAuthErrorCode::InvalidRequest,
        ),
        (
            "response_type=code&code_challenge=short&code_challenge_method=S256",
            OAuthErrorCode::InvalidRequest,
        ),
        (
            &format!("response_type=token&code_challenge={CHALLENGE}&code_challenge_method=S256"),
            OAuthErrorCode::UnsupportedResponseType,
        ),
        (
            &format!("response_type=code%20id_token&code_challenge={CHALLENGE}&code_challenge_method=S256"),
            OAuthErrorCode::UnsupportedResponseType,
        ),
        (
            &format!("code_challenge={CHALLENGE}&code_challenge_method=S256"),
            OAuthErrorCode::InvalidRequest,
        ),
        (
            &format!("response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=admin"),
            OAuthErrorCode::InvalidScope,
        ),
        (
            &format!("response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&prompt=none"),
            OAuthErrorCode::LoginRequired,
        ),
        (
            &format!("response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&request=eyJ"),
            OAuthErrorCode::RequestNotSupported,
        ),
        (
            &format!("response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&response_mode=fragment"),
            OAuthErrorCode::InvalidRequest,
        ),
    ];
    for (query, expected) in cases {
        let got = check_request(&c, uri(), &params(query)).unwrap_err();
        assert_eq!(got.error, expected, "{query}");
    }
    let no_grant = client(&[GrantType::ClientCredentials], &scopes, &uris);
    assert_eq!(
        check_request(&no_grant, uri(), &good(""))
            .unwrap_err()
            .error,
        OAuthErrorCode::UnauthorizedClient
    );
}

// proves: TK-6 (the answer keeps the client's own query and carries state and iss)
#[test]
fn redirects_keep_the_uris_query_and_encode_every_value() {
    assert_eq!(
        redirect_with(
            "http://127.0.0.1:9/cb?a=1",
            &[("code", "x y&z"), ("state", "é")]
        ),
        "http://127.0.0.1:9/cb?a=1&code=x%20y%26z&state=%C3%A9"
    );
    let e = OAuthError::new(OAuthErrorCode::AccessDenied, "refused");
    assert_eq!(
        error_redirect("https://app/cb", &e, Some("s"), "https://gh"),
        "https://app/cb?error=access_denied&error_description=refused&state=s&iss=https%3A%2F%2Fgh"
    );
}
