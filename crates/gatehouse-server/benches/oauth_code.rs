//! `make bench-oauth-code`: the authorization code + PKCE exchange server-side
//! (issue 15's target: ≤ 5 ms p50, the password hash excluded), side by side
//! in one run with two peers on the same server and connection:
//!
//! 1. `POST /oauth2/token` with `grant_type=authorization_code` for a public
//!    client: the code looked up and spent (a compare-and-swap), PKCE checked,
//!    the session opened with its refresh token and its audit record, an
//!    access token and an ID token signed;
//! 2. `POST /oauth2/token` with `client_credentials` (a confidential client's
//!    secret checked, one token signed, its record written): the token
//!    endpoint's cheapest grant;
//! 3. `GET /healthz`: the round trip itself (TLS, HTTP, the pipeline).
//!
//! The codes are made beforehand through the hosted page (each costs an
//! Argon2id verify, which the target excludes), then exchanged one at a time
//! over one kept-alive HTTPS connection on loopback; latencies are the
//! client's, so they bound the server's time from above. Release build, SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_testkit::{Db, TestServer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "correct horse battery staple 42";
const REDIRECT: &str = "http://127.0.0.1/callback";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn admin(server: &TestServer, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = server
        .raw()
        .request(method, server.url(path))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}");
    response.json().await.unwrap_or(Value::Null)
}

fn browser(server: &TestServer) -> reqwest::Client {
    let verifier =
        std::sync::Arc::new(gatehouse_client::PinnedVerifier::new(&server.fingerprint).unwrap());
    reqwest::Client::builder()
        .use_preconfigured_tls(gatehouse_client::client_config(Some(verifier)).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A code for `app` through the hosted page, and its verifier.
async fn code(server: &TestServer, http: &reqwest::Client, app: &str, n: u64) -> (String, String) {
    let verifier = format!("{n:08}-{}", "v".repeat(48));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let page = http
        .get(server.url(&format!(
            "/oauth2/authorize?response_type=code&client_id={app}&redirect_uri=\
             http%3A%2F%2F127.0.0.1%2Fcallback&scope=openid%20profile&state=s\
             &code_challenge={challenge}&code_challenge_method=S256"
        )))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let request = html
        .split("name=\"request\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let answer = http
        .post(server.url("/oauth2/authorize"))
        .header("cookie", cookie)
        .form(&[
            ("request", request.as_str()),
            ("step", "password"),
            ("email", "sam@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    // The console's own client asks no consent: straight back with the code.
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned();
    (code, verifier)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} |",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99)
    );
}

fn main() {
    let n = env("BENCH_CODES", 300);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = TestServer::start_with(Db::Sqlite, |c| {
            c.anonymous.requests_per_window = 0;
        })
        .await;
        admin(
            &server,
            reqwest::Method::PUT,
            "/v1/user-types/staff",
            json!({"name": "staff", "sign_in": ["password"], "second_factor": "optional"}),
        )
        .await;
        let user = admin(
            &server,
            reqwest::Method::POST,
            "/v1/users",
            json!({"user_type": "staff", "display_name": "Sam", "email": "sam@example.com"}),
        )
        .await;
        admin(
            &server,
            reqwest::Method::POST,
            &format!("/v1/users/{}/password", user["id"].as_str().unwrap()),
            json!({"password": PASSWORD}),
        )
        .await;
        // The console's own client asks no consent; a public client like any app.
        let app = "gatehouse-console";
        let machine = admin(
            &server,
            reqwest::Method::POST,
            "/v1/clients",
            json!({"name": "billing", "role": "service", "grant_types": ["client_credentials"],
                   "scopes": ["audit:write"]}),
        )
        .await;
        let machine_id = machine["client"]["client_id"].as_str().unwrap().to_owned();
        let machine_secret = machine["client_secret"].as_str().unwrap().to_owned();
        let http = browser(&server);
        let started = Instant::now();
        let mut codes = Vec::new();
        for i in 0..n {
            codes.push(code(&server, &http, app, i).await);
        }
        println!(
            "{n} codes made through the hosted page in {:.1} s (each with an Argon2id verify)",
            started.elapsed().as_secs_f64()
        );
        let client = server.raw();
        // Warm the connection and the caches.
        for _ in 0..20 {
            client.get(server.url("/healthz")).send().await.unwrap();
        }
        let mut exchange = Vec::new();
        for (code, verifier) in &codes {
            let t = Instant::now();
            let answer = client
                .post(server.url("/oauth2/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", app),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", verifier.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = answer.status();
            let _ = answer.bytes().await.unwrap();
            exchange.push(t.elapsed());
            assert_eq!(status, 200);
        }
        let mut credentials = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            let answer = client
                .post(server.url("/oauth2/token"))
                .basic_auth(&machine_id, Some(&machine_secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            let status = answer.status();
            let _ = answer.bytes().await.unwrap();
            credentials.push(t.elapsed());
            assert_eq!(status, 200);
        }
        let mut health = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            let answer = client.get(server.url("/healthz")).send().await.unwrap();
            let _ = answer.bytes().await.unwrap();
            health.push(t.elapsed());
        }
        println!("| request | n | p50 ms | p95 ms | p99 ms |");
        println!("|---|---:|---:|---:|---:|");
        report(
            "code + PKCE exchange (session, refresh, access and ID tokens)",
            exchange,
        );
        report("client_credentials grant (peer)", credentials);
        report("GET /healthz (the round trip)", health);
        server.stop().await;
    });
}
