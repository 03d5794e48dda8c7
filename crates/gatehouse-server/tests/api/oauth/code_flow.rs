//! The authorization code grant with PKCE through the hosted sign-in page
//! (TK-6): a browser (reqwest, cookies by hand, redirects not followed) signs
//! in on the page, the app exchanges the code; and every way of cheating at
//! it is refused: no PKCE, `plain`, a wrong verifier, another redirect URI,
//! another client, a late code, a replayed one (which ends the session), a
//! foreign redirect URI (never redirected to), a request finished from
//! another browser, and a third-party app's refresh token at the first-party
//! endpoint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const PASSWORD: &str = "correct horse battery staple 42";
pub const REDIRECT: &str = "http://127.0.0.1/callback";

/// A registered app: its id, and its secret when confidential.
pub struct App {
    pub id: String,
    pub secret: Option<String>,
}

/// Registers an app for the code grant with the administrator token.
pub async fn register_app(server: &TestServer, is_confidential: bool, scopes: &[&str]) -> App {
    let response = server
        .raw()
        .post(server.url("/v1/clients"))
        .bearer_auth(&server.admin_token)
        .json(&json!({
            "name": "Ward Rounds",
            "role": "user",
            "is_confidential": is_confidential,
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": scopes,
            "redirect_uris": [REDIRECT, "https://rounds.example/cb"],
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    App {
        id: body["client"]["client_id"].as_str().unwrap().to_owned(),
        secret: body["client_secret"].as_str().map(str::to_owned),
    }
}

/// A `staff` type that signs in with a password alone, and Sam of it.
pub async fn person(server: &TestServer) -> String {
    let admin = &server.admin_token;
    let http = server.raw();
    let put = http
        .put(server.url("/v1/user-types/staff"))
        .bearer_auth(admin)
        .json(&json!({"name": "staff", "sign_in": ["password", "email_code"], "second_factor": "optional"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let created: Value = http
        .post(server.url("/v1/users"))
        .bearer_auth(admin)
        .json(&json!({"user_type": "staff", "display_name": "Sam Okafor", "email": "sam@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let set = http
        .post(server.url(&format!("/v1/users/{id}/password")))
        .bearer_auth(admin)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    id
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce(seed: &str) -> (String, String) {
    let verifier = format!("{seed}-{}", "v".repeat(50));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A browser: the server's pinned TLS, redirects not followed, one cookie.
pub struct Browser {
    http: reqwest::Client,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        let verifier = std::sync::Arc::new(
            gatehouse_client::PinnedVerifier::new(&server.fingerprint).unwrap(),
        );
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(gatehouse_client::client_config(Some(verifier)).unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { http, cookie: None }
    }

    /// `GET /oauth2/authorize?query`, keeping the cookie it sets.
    pub async fn open(&mut self, server: &TestServer, query: &str) -> reqwest::Response {
        let response = self
            .http
            .get(server.url(&format!("/oauth2/authorize?{query}")))
            .send()
            .await
            .unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        response
    }

    /// Submits a form of the page.
    pub async fn post(&self, server: &TestServer, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.post(server.url("/oauth2/authorize")).form(fields);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }
}

/// The value of the hidden field `name` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// A query parameter of a redirect.
pub fn param(location: &str, name: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n == name).then(|| {
            let pairs = gatehouse_tokens::oauth::url_decode_pairs(&format!("v={v}")).unwrap();
            pairs[0].1.clone()
        })
    })
}

pub fn authorize_query(app: &str, challenge: &str, scope: &str, redirect: &str) -> String {
    let enc = gatehouse_tokens::authorization::form_encode;
    format!(
        "response_type=code&client_id={app}&redirect_uri={}&scope={}&state=st-1&nonce=n-1\
         &code_challenge={challenge}&code_challenge_method=S256",
        enc(redirect),
        enc(scope)
    )
}

/// Signs Sam in on the page (allowing the app when asked); the redirect.
pub async fn sign_in_on_page(server: &TestServer, browser: &mut Browser, query: &str) -> String {
    let page = browser.open(server, query).await;
    let status = page.status();
    assert_eq!(status, 200, "{}", page.text().await.unwrap());
    let page = browser.open(server, query).await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    let request = hidden(&html, "request").unwrap();
    let answer = browser
        .post(
            server,
            &[
                ("request", &request),
                ("step", "password"),
                ("email", "sam@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let answer = if answer.status() == 200 {
        let html = answer.text().await.unwrap();
        assert!(html.contains("Allow access?"), "{html}");
        browser
            .post(
                server,
                &[
                    ("request", &request),
                    ("step", "consent"),
                    ("decision", "allow"),
                ],
            )
            .await
    } else {
        answer
    };
    assert_eq!(answer.status(), 303);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

/// `POST /oauth2/token` for a public app with `fields`.
pub async fn token(server: &TestServer, fields: &[(&str, &str)]) -> reqwest::Response {
    server
        .raw()
        .post(server.url("/oauth2/token"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}

// proves: TK-6 (code + PKCE end to end; code single use, bound to client,
// redirect URI and verifier; a replay ends the session it opened)
async fn a_person_signs_in_on_the_page_and_the_app_exchanges_the_code_once(db: Db) {
    let server = TestServer::start(db).await;
    let sam = person(&server).await;
    let app = register_app(&server, false, &["openid", "profile", "email", "me:read"]).await;
    let other = register_app(&server, false, &["openid"]).await;
    let (verifier, challenge) = pkce("one");
    let mut browser = Browser::new(&server);
    let query = authorize_query(
        &app.id,
        &challenge,
        "openid profile email",
        "http://127.0.0.1:43123/callback",
    );
    let location = sign_in_on_page(&server, &mut browser, &query).await;
    assert!(
        location.starts_with("http://127.0.0.1:43123/callback?code=ghac_"),
        "{location}"
    );
    assert_eq!(param(&location, "state").as_deref(), Some("st-1"));
    assert_eq!(
        param(&location, "iss").as_deref(),
        Some(server.base_url.as_str())
    );
    let code = param(&location, "code").unwrap();
    let exchange = |client: &str, verifier: &str, redirect: &str| {
        vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.clone()),
            ("client_id".to_owned(), client.to_owned()),
            ("code_verifier".to_owned(), verifier.to_owned()),
            ("redirect_uri".to_owned(), redirect.to_owned()),
        ]
    };
    let send = |fields: Vec<(String, String)>| {
        let server = &server;
        async move {
            let refs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            token(server, &refs).await
        }
    };
    let redirect = "http://127.0.0.1:43123/callback";
    // Wrong verifier, wrong redirect URI, another client: refused, and the
    // code is still good for its own client (nothing spent).
    let (verifier_b, _) = pkce("two");
    for fields in [
        exchange(&app.id, &verifier_b, redirect),
        exchange(&app.id, &challenge, redirect),
        exchange(&app.id, &verifier, "http://127.0.0.1:43124/callback"),
        exchange(&other.id, &verifier, redirect),
    ] {
        assert_eq!(
            error_of(send(fields).await).await,
            (400, "invalid_grant".into())
        );
    }
    let mut no_verifier = exchange(&app.id, &verifier, redirect);
    no_verifier.retain(|(k, _)| k != "code_verifier");
    assert_eq!(
        error_of(send(no_verifier).await).await,
        (400, "invalid_request".into())
    );
    let ok = send(exchange(&app.id, &verifier, redirect)).await;
    assert_eq!(ok.status(), 200);
    let tokens: Value = ok.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "email openid profile");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(tokens["refresh_token"].as_str().is_some());
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], sam.as_str());
    assert_eq!(claims["aud"], app.id.as_str());
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["acr"], "urn:gatehouse:acr:1fa");
    assert_eq!(claims["email"], "sam@example.com");
    // The app's token reads the person's userinfo...
    let info = server
        .raw()
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["sub"], sam.as_str());
    assert_eq!(info["name"], "Sam Okafor");
    assert!(info.get("phone_number").is_none(), "no phone scope: {info}");
    // ...and nothing its scopes do not cover, whatever the person may do.
    let me = server
        .raw()
        .get(server.url("/v1/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 403);
    // The code again: refused, and the session it opened ends with its tokens.
    let replay = send(exchange(&app.id, &verifier, redirect)).await;
    assert_eq!(error_of(replay).await, (400, "invalid_grant".into()));
    let after = server
        .raw()
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    let refreshed = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &app.id),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(error_of(refreshed).await, (400, "invalid_grant".into()));
    server.stop().await;
}

// proves: TK-6 (PKCE S256 required; an unregistered redirect is never followed;
// a code lives 60 s; a request is finished only in the browser that began it)
async fn requests_without_pkce_foreign_redirects_late_codes_and_lifted_requests_fail(db: Db) {
    let server = TestServer::start(db).await;
    person(&server).await;
    let app = register_app(&server, false, &["openid"]).await;
    let (verifier, challenge) = pkce("late");
    let mut browser = Browser::new(&server);
    // No PKCE, or plain: back to the app with invalid_request.
    for query in [
        format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid&state=x",
            app.id
        ),
        format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid&state=x\
             &code_challenge={challenge}&code_challenge_method=plain",
            app.id
        ),
    ] {
        let answer = browser.open(&server, &query).await;
        assert_eq!(answer.status(), 303);
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT), "{location}");
        assert_eq!(
            param(&location, "error").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(param(&location, "state").as_deref(), Some("x"));
    }
    // Implicit: unsupported_response_type.
    let implicit = browser
        .open(
            &server,
            &authorize_query(&app.id, &challenge, "openid", REDIRECT)
                .replace("response_type=code", "response_type=token"),
        )
        .await;
    let location = implicit.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("unsupported_response_type")
    );
    // An unknown client or a redirect URI it did not register: a page, never a redirect.
    for query in [
        authorize_query("nobody", &challenge, "openid", REDIRECT),
        authorize_query(&app.id, &challenge, "openid", "https://evil.example/cb"),
        authorize_query(
            &app.id,
            &challenge,
            "openid",
            "http://127.0.0.1.evil.example/callback",
        ),
    ] {
        let answer = browser.open(&server, &query).await;
        assert_eq!(answer.status(), 400);
        assert!(answer.headers().get("location").is_none());
        let html = answer.text().await.unwrap();
        assert!(html.contains("role=\"alert\""), "{html}");
    }
    // A request id lifted into another browser (no cookie, or another's) is dead there.
    let query = authorize_query(&app.id, &challenge, "openid", REDIRECT);
    let page = browser.open(&server, &query).await.text().await.unwrap();
    let request = hidden(&page, "request").unwrap();
    let mut thief = Browser::new(&server);
    thief.open(&server, &query).await;
    let stolen = thief
        .post(
            &server,
            &[
                ("request", &request),
                ("step", "password"),
                ("email", "sam@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(stolen.status(), 400);
    assert!(stolen
        .text()
        .await
        .unwrap()
        .contains("expired or was already finished"));
    // Cancel: access_denied to the app.
    let cancelled = browser
        .post(&server, &[("request", &request), ("step", "cancel")])
        .await;
    let location = cancelled.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    // A code exchanged after its minute is refused.
    let location = sign_in_on_page(&server, &mut browser, &query).await;
    let code = param(&location, "code").unwrap();
    server.clock.advance(chrono::TimeDelta::seconds(61));
    let late = token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &app.id),
            ("code_verifier", &verifier),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(error_of(late).await, (400, "invalid_grant".into()));
    server.stop().await;
}

// proves: TK-4, TK-6 (a third-party app's refresh token rotates at the token
// endpoint for that app only, never at the first-party refresh endpoint)
async fn an_apps_refresh_token_rotates_for_that_app_only(db: Db) {
    let server = TestServer::start(db).await;
    person(&server).await;
    let app = register_app(&server, true, &["openid", "offline_access"]).await;
    let secret = app.secret.clone().unwrap();
    let (verifier, challenge) = pkce("refresh");
    let mut browser = Browser::new(&server);
    let query = authorize_query(&app.id, &challenge, "openid offline_access", REDIRECT);
    let location = sign_in_on_page(&server, &mut browser, &query).await;
    let code = param(&location, "code").unwrap();
    // A confidential app must prove itself: client_id alone is refused.
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", app.id.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(
        error_of(token(&server, &fields).await).await,
        (401, "invalid_client".into())
    );
    let mut with_secret = fields.to_vec();
    with_secret.push(("client_secret", &secret));
    let tokens: Value = token(&server, &with_secret).await.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let first_party = server
        .raw()
        .post(server.url("/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(first_party.status(), 401);
    let rotated = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &app.id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    assert_ne!(rotated["refresh_token"], tokens["refresh_token"]);
    assert_eq!(rotated["scope"], "offline_access openid");
    server.stop().await;
}

on_both_databases!(
    a_person_signs_in_on_the_page_and_the_app_exchanges_the_code_once,
    requests_without_pkce_foreign_redirects_late_codes_and_lifted_requests_fail,
    an_apps_refresh_token_rotates_for_that_app_only,
);
