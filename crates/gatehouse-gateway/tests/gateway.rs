//! The gateway end to end: real TLS clients, a real upstream, the real Core
//! Rule Set in libmodsecurity, real attack traffic and legitimate traffic.
//! Every refusal is answered in the one error shape, recorded once with its
//! reason, and never reaches the upstream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use std::sync::atomic::Ordering;

use harness::{route, start, Harness, BOB_MFA};
use serde_json::{json, Value};

use gatehouse_gateway::{BlockReason, Classification};

fn two_routes(upstream: std::net::SocketAddr) -> Vec<gatehouse_gateway::RouteConfig> {
    let mut admin = route("admin", "/api/admin", upstream);
    admin.classification = Classification::Restricted;
    vec![route("records", "/api", upstream), admin]
}

/// Asserts a refusal: status, error code, one record with `reason`, and the
/// upstream untouched.
async fn refused(
    h: &Harness,
    request: reqwest::RequestBuilder,
    status: u16,
    code: &str,
    reason: BlockReason,
) -> Value {
    let before = h.upstream.hits.load(Ordering::SeqCst);
    let (got, body, headers) = h.send(request).await;
    assert_eq!(got, status, "{body}");
    let error: Value =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("not the error shape: {body}"));
    assert_eq!(error["code"], code, "{body}");
    let request_id = error["request_id"].as_str().unwrap().to_owned();
    assert_eq!(headers["x-request-id"], request_id.as_str());
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let record = h.record_of(&request_id).await;
    assert_eq!(record.blocked, Some(reason), "{record:?}");
    assert_eq!(record.status, status);
    assert_eq!(
        h.records()
            .iter()
            .filter(|o| o.request_id == request_id)
            .count(),
        1,
        "recorded once"
    );
    assert_eq!(
        h.upstream.hits.load(Ordering::SeqCst),
        before,
        "the upstream saw it"
    );
    serde_json::to_value(&record).unwrap()
}

// proves: GW-2, GW-4, GW-10 (legitimate traffic passes untouched; the upstream
// gets the verified identity, never the client's credential or claims)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legitimate_traffic_passes_untouched() {
    let h = start(two_routes, |_| {}).await;
    let bodies = [
        json!({"name": "O'Brien", "note": "it's fine; really -- it is"}),
        json!({"comment": "# Title\n\n* a list\n* with `code` and **bold**\n\n> quoted"}),
        json!({"email": "zoë.ng+tag@example.co.uk", "name": "Zoë Ng"}),
        json!({"name": "王小明", "city": "東京", "greeting": "Здравствуйте", "ar": "مرحبا"}),
        json!({"query": "select the best option from the list", "drop": "off at 5"}),
    ];
    for body in bodies {
        let (status, text, headers) = h
            .send(
                h.post("/api/patients")
                    .header("x-forwarded-for", "10.9.9.9")
                    .header("x-gatehouse-identity", "forged")
                    .json(&body),
            )
            .await;
        assert_eq!(status, 200, "{body} -> {text}");
        let echo = Harness::echo(&text);
        let sent: Value = serde_json::from_str(echo["body"].as_str().unwrap()).unwrap();
        assert_eq!(sent, body, "the body reached the upstream unchanged");
        let identity = echo["headers"]["x-gatehouse-identity"].as_str().unwrap();
        assert!(identity.starts_with("signed.alice.records."), "{identity}");
        assert!(echo["headers"].get("authorization").is_none());
        assert!(echo["headers"].get("x-forwarded-for").is_none());
        assert!(echo["headers"]["forwarded"]
            .as_str()
            .unwrap()
            .starts_with("for=\"127.0.0.1\""));
        assert_eq!(
            headers["strict-transport-security"],
            "max-age=63072000; includeSubDomains"
        );
        assert!(headers.get("server").is_none());
    }
    let (status, text, _) = h
        .send(
            h.post("/api/search")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("q=O%27Neil+%26+sons&city=S%C3%A3o+Paulo"),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let (status, text, _) = h
        .send(h.get("/api/people/Zo%C3%AB%20Ng?sort=name&page=2"))
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        Harness::echo(&text)["uri"],
        "/api/people/Zo%C3%AB%20Ng?sort=name&page=2"
    );
    assert!(h.records().iter().all(|o| o.blocked.is_none()));
}

// proves: GW-4, GW-6 (SQL injection, XSS, command injection refused by the CRS;
// the record names the rules, never the matched data)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attacks_are_refused_by_the_core_rule_set() {
    let h = start(two_routes, |_| {}).await;
    let attacks = [
        h.get("/api/patients?id=1%27%20OR%20%271%27%3D%271"),
        h.get("/api/patients?id=1%20UNION%20SELECT%20password%20FROM%20users--"),
        h.post("/api/notes")
            .json(&json!({"text": "<script>alert(document.cookie)</script>"})),
        h.post("/api/notes")
            .json(&json!({"q": "1 UNION SELECT username, password FROM users"})),
        h.get("/api/files?name=x;cat%20/etc/passwd"),
        h.get("/api/files?path=/etc/shadow"),
        h.post("/api/notes")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("comment=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"),
        h.get("/api/x")
            .header("user-agent", "() { :; }; /bin/bash -c 'id'"),
        h.post("/api/notes")
            .header("content-type", "text/plain")
            .body("<?php system($_GET['c']); ?>"),
    ];
    for attack in attacks {
        let record = refused(&h, attack, 403, "forbidden", BlockReason::Waf).await;
        let rules = record["waf"]["matches"].as_array().unwrap();
        assert!(rules.iter().any(|r| r["id"] == 949110), "{record}");
        assert!(rules.len() >= 2, "{record}");
        let kept = record.to_string();
        assert!(
            !kept.contains("passwd") && !kept.contains("alert("),
            "matched data kept: {kept}"
        );
    }
}

// proves: GW-4 (path traversal, encoded and double-encoded, overlong UTF-8; CVE-2024-1019)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_and_ambiguous_paths_are_malformed() {
    let h = start(two_routes, |_| {}).await;
    // Sent byte for byte (an HTTP client library would normalise them first).
    for path in [
        "/api/../admin",
        "/api/%2e%2e/admin",
        "/api/%252e%252e/%252e%252e/etc/passwd",
        "/api/%c0%ae%c0%ae/admin",
        "/api/x%3f.php",
        "/api/..%5c..%5cwindows",
        "/api//admin",
        "/api/x%00.json",
    ] {
        let before = h.upstream.hits.load(Ordering::SeqCst);
        let (status, body) = h
            .raw(&format!(
                "GET {path} HTTP/1.1\r\nAuthorization: Bearer {}",
                harness::ALICE
            ))
            .await;
        assert_eq!(status, 400, "{path}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["code"], "bad_request");
        let record = h.record_of(error["request_id"].as_str().unwrap()).await;
        assert_eq!(record.blocked, Some(BlockReason::BadInput), "{path}");
        assert_eq!(
            h.upstream.hits.load(Ordering::SeqCst),
            before,
            "{path} reached the upstream"
        );
    }
}

// proves: GW-4 (oversized or malformed input, disallowed content types)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_413_415_431_405_and_404() {
    let h = start(two_routes, |_| {}).await;
    let big = "x".repeat(70 * 1024);
    refused(
        &h,
        h.post("/api/notes")
            .header("content-type", "text/plain")
            .body(big),
        413,
        "payload_too_large",
        BlockReason::BadInput,
    )
    .await;
    refused(
        &h,
        h.post("/api/notes")
            .header("content-type", "application/x-php")
            .body("<?php"),
        415,
        "unsupported_media_type",
        BlockReason::BadInput,
    )
    .await;
    refused(
        &h,
        h.post("/api/notes").body("no type"),
        415,
        "unsupported_media_type",
        BlockReason::BadInput,
    )
    .await;
    refused(
        &h,
        h.get("/api/x").header("x-filler", "a".repeat(17 * 1024)),
        431,
        "headers_too_large",
        BlockReason::BadInput,
    )
    .await;
    refused(
        &h,
        h.client.request(
            reqwest::Method::from_bytes(b"TRACE").unwrap(),
            format!("{}/api/x", h.url),
        ),
        405,
        "method_not_allowed",
        BlockReason::BadInput,
    )
    .await;
    refused(
        &h,
        h.get("/elsewhere"),
        404,
        "not_found",
        BlockReason::UnknownRoute,
    )
    .await;
    // A malformed JSON body is refused by the WAF's body parser.
    refused(
        &h,
        h.post("/api/notes")
            .header("content-type", "application/json")
            .body("{\"a\": "),
        400,
        "bad_request",
        BlockReason::Waf,
    )
    .await;
}

// proves: GW-2, GW-8 (no token, a bad token, and a policy that demands two factors)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_policies_are_checked_before_the_upstream() {
    let h = start(two_routes, |_| {}).await;
    let url = format!("{}/api/patients", h.url);
    refused(
        &h,
        h.client.get(&url),
        401,
        "unauthenticated",
        BlockReason::Authentication,
    )
    .await;
    let record = refused(
        &h,
        h.client.get(&url).bearer_auth("forged"),
        401,
        "invalid_token",
        BlockReason::Authentication,
    )
    .await;
    assert_eq!(record["token_check"], "signature does not verify");
    let record = refused(
        &h,
        h.get("/api/admin/settings"),
        403,
        "forbidden",
        BlockReason::Authorization,
    )
    .await;
    assert_eq!(record["decision"]["determining"][0], "restricted-needs-mfa");
    assert!(record["detail"].as_str().unwrap().contains("two factors"));
    let (status, _, _) = h
        .send(
            h.client
                .get(format!("{}/api/admin/settings", h.url))
                .bearer_auth(BOB_MFA),
        )
        .await;
    assert_eq!(status, 200);
}

// proves: GW-3 (per source), GW-4 (bots, honeypots)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_bots_and_honeypots() {
    let h = start(two_routes, |c| {
        c.routes[0].rate_per_minute = Some(5);
    })
    .await;
    for _ in 0..5 {
        assert_eq!(h.send(h.get("/api/a")).await.0, 200);
    }
    let before = h.upstream.hits.load(Ordering::SeqCst);
    let (status, body, headers) = h.send(h.get("/api/a")).await;
    assert_eq!(status, 429, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(h.upstream.hits.load(Ordering::SeqCst), before);
    // proves: GW-8 (the source's reputation reaches the access decision)
    let was_limited = || {
        h.host
            .postures
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .was_rate_limited
    };
    assert!(!was_limited(), "not limited before");
    let admin = h
        .client
        .get(format!("{}/api/admin/x", h.url))
        .bearer_auth(BOB_MFA);
    assert_eq!(h.send(admin).await.0, 200);
    assert!(was_limited(), "the decision on another route knows");
    let h = start(two_routes, |_| {}).await;
    refused(
        &h,
        h.get("/api/a")
            .header("user-agent", "sqlmap/1.7.2#stable (https://sqlmap.org)"),
        403,
        "forbidden",
        BlockReason::Bot,
    )
    .await;
    // A honeypot: answered as nothing, then the source is refused everywhere.
    refused(&h, h.get("/.env"), 404, "not_found", BlockReason::Honeypot).await;
    let record = refused(
        &h,
        h.get("/api/patients"),
        403,
        "forbidden",
        BlockReason::Honeypot,
    )
    .await;
    assert!(record["detail"].as_str().unwrap().contains("decoy"));
    assert_eq!(h.gateway.honeypots().list(0).len(), 1);
    assert!(h.gateway.honeypots().unflag("127.0.0.1".parse().unwrap()));
    assert_eq!(h.send(h.get("/api/patients")).await.0, 200);
}

// proves: GW-2 (an upstream down: 502; slow: 504; both recorded once)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_or_slow_upstream_is_answered_clearly() {
    let h = start(
        |up| {
            let mut down = route("down", "/down", up);
            down.upstreams = vec!["http://127.0.0.1:9".into()];
            vec![route("records", "/api", up), down]
        },
        |c| c.upstream.response_timeout_ms = 500,
    )
    .await;
    let (status, body, _) = h.send(h.get("/down/x")).await;
    assert_eq!(status, 502, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["code"], "bad_gateway");
    let record = h.record_of(error["request_id"].as_str().unwrap()).await;
    assert_eq!(record.status, 502);
    // A slow answer: the upstream got the request, the caller gets 504 in time.
    let (status, body, _) = h.send(h.get("/api/slow")).await;
    assert_eq!(status, 504, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["code"], "gateway_timeout");
    let record = h.record_of(error["request_id"].as_str().unwrap()).await;
    assert_eq!(record.blocked, Some(BlockReason::Timeout));
}

// proves: GW-4 (detect-only mode; a configuration that does not load keeps the previous generation)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_only_passes_and_records_and_a_broken_configuration_changes_nothing() {
    let h = start(two_routes, |c| {
        c.waf.mode = gatehouse_gateway::WafMode::DetectOnly
    })
    .await;
    let (status, _, headers) = h
        .send(h.get("/api/patients?id=1%27%20OR%20%271%27%3D%271"))
        .await;
    assert_eq!(status, 200);
    let record = h.record_of(headers["x-request-id"].to_str().unwrap()).await;
    let waf = record.waf.unwrap();
    assert!(waf.would_block && !waf.is_blocked, "{waf:?}");
    let (before, generation) = h.gateway.waf().settings();
    let broken = gatehouse_gateway::WafSettings {
        crs_dir: "/nonexistent".into(),
        ..before.clone()
    };
    let error = h.gateway.waf().reconfigure(broken).await.unwrap_err();
    assert!(error.to_string().contains("/nonexistent"), "{error}");
    assert_eq!(h.gateway.waf().settings(), (before.clone(), generation));
    let blocking = gatehouse_gateway::WafSettings {
        mode: gatehouse_gateway::WafMode::Blocking,
        ..before
    };
    let next = h.gateway.waf().reconfigure(blocking).await.unwrap();
    assert!(next > generation);
    refused(
        &h,
        h.get("/api/patients?id=1%27%20OR%20%271%27%3D%271"),
        403,
        "forbidden",
        BlockReason::Waf,
    )
    .await;
}

// proves: GW-4 (bot identification by TLS client-hello features: a client
// is known by how it says hello, whatever user agent it claims)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_hello_fingerprint_names_a_client_and_can_be_denied() {
    const BROWSER: &str = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\r\nAccept: */*";
    let last = |h: &Harness| h.records().last().cloned().unwrap();
    let h = start(two_routes, |_| {}).await;
    // No token: refused at authentication, after the bot check.
    let (status, _) = h.raw(&format!("GET /api/a HTTP/1.1\r\n{BROWSER}")).await;
    assert_eq!(status, 401);
    let scripted = last(&h).tls_fingerprint.expect("a fingerprint");
    assert_eq!(last(&h).bot, gatehouse_gateway::bots::BotVerdict::Human);
    // The same library offering h2 first says hello differently.
    assert_eq!(h.send(h.get("/api/a")).await.0, 200);
    let client = last(&h).tls_fingerprint.expect("a fingerprint");
    assert_ne!(scripted, client);
    assert!(scripted.starts_with("d"), "named by SNI: {scripted}");

    // Denied: refused as a bad bot, browser user agent or not; the other
    // client passes.
    let denied = scripted.clone();
    let h = start(two_routes, move |c| {
        c.bots.deny_tls_fingerprints = vec![denied]
    })
    .await;
    let before = h.upstream.hits.load(Ordering::SeqCst);
    let (status, body) = h.raw(&format!("GET /api/a HTTP/1.1\r\n{BROWSER}")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(Harness::echo(&body)["code"], "forbidden");
    let record = last(&h);
    assert_eq!(record.blocked, Some(BlockReason::Bot), "{record:?}");
    assert_eq!(record.matched.as_deref(), Some("a denied TLS fingerprint"));
    assert_eq!(h.upstream.hits.load(Ordering::SeqCst), before);
    assert_eq!(h.send(h.get("/api/a")).await.0, 200);
    // A fingerprint that is not one is refused at start, naming its key.
    let mut config = h.gateway.config().clone();
    config.bots.deny_tls_fingerprints = vec!["Not A Fingerprint".into()];
    let error = config.check().unwrap_err().to_string();
    assert!(
        error.starts_with("gateway.bots.deny_tls_fingerprints[0]"),
        "{error}"
    );
}

/// A TLS connection to the gateway, for writing a request by hand.
async fn connect(h: &Harness) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let (addr, tls) = h.raw_parts();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .unwrap()
}

// proves: GW-4 (slow loris: a head trickled in is cut at the header deadline,
// and never reaches the upstream)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_head_is_cut_at_the_header_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = start(two_routes, |_| {}).await;
    let mut stream = connect(&h).await;
    let started = std::time::Instant::now();
    let head = b"GET /api/a HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    let mut buf = [0u8; 256];
    let mut closed = false;
    for byte in head.iter().cycle().take(40) {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        match tokio::time::timeout(std::time::Duration::from_millis(300), stream.read(&mut buf))
            .await
        {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => break,
            Err(_) => {}
        }
    }
    let elapsed = started.elapsed();
    assert!(closed, "the connection is closed");
    // The harness's header deadline is 2 s; cut within it and a second.
    assert!(
        elapsed >= std::time::Duration::from_millis(1_500)
            && elapsed <= std::time::Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(h.upstream.hits.load(Ordering::SeqCst), 0);
}

// proves: GW-4 (a body trickled in below the minimum rate: 408, `timeout`,
// recorded once, never sent on)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_answered_408_and_recorded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = start(two_routes, |_| {}).await;
    let mut stream = connect(&h).await;
    let head = format!(
        "POST /api/a HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{\"note\": \"",
        harness::ALICE
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..40 {
        if stream.write_all(b"a").await.is_err() {
            break;
        }
        match tokio::time::timeout(std::time::Duration::from_millis(200), stream.read(&mut buf))
            .await
        {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_millis(500),
                        stream.read_to_end(&mut answer),
                    )
                    .await;
                    break;
                }
            }
            Err(_) => {}
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    let record = h
        .records()
        .into_iter()
        .find(|o| o.status == 408)
        .expect("recorded");
    assert_eq!(record.blocked, Some(BlockReason::Timeout));
    assert_eq!(h.records().iter().filter(|o| o.status == 408).count(), 1);
    assert_eq!(h.upstream.hits.load(Ordering::SeqCst), 0);
}

// proves: GW-4, GW-6 (a malformed request line or header is refused by the
// parser, recorded once as bad input, and never reaches the upstream)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_request_heads_are_refused_and_recorded() {
    let h = start(two_routes, |_| {}).await;
    for head in [
        "GET /api/a HTTP/1.1\r\nA header without its colon",
        "GET /api/a HTTP/7.3",
        "GET /api/a HTTP/1.1\r\nX-Bad: one\u{0}two",
    ] {
        let before = h.records().len();
        let (status, _) = h.raw(head).await;
        assert_eq!(status, 400, "{head:?}");
        let records = h.records_after(before).await;
        assert_eq!(records.len(), 1, "recorded once: {head:?}");
        assert_eq!(records[0].blocked, Some(BlockReason::BadInput));
        assert_eq!(records[0].status, 400);
        assert!(records[0]
            .detail
            .starts_with("the request could not be parsed"));
    }
    assert_eq!(h.upstream.hits.load(Ordering::SeqCst), 0);
}
