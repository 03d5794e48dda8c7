//! The gateway run by the server (`[gateway]`): the server's tokens, Cedar
//! policies, audit trail and blocked log behind a real gateway, in front of a
//! real upstream, over real TLS.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use gatehouse_gateway::config::{Classification, Exposure, GatewayConfig, RouteConfig};
use gatehouse_testkit::{Db, TestServer};
use gatehouse_types::{CreatePolicyVersionRequest, Role};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

mod inventory;

/// An upstream that answers with the headers it got, counting requests.
async fn upstream() -> (SocketAddr, Arc<AtomicUsize>) {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = tcp.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let counter = counter.clone();
                        async move {
                            counter.fetch_add(1, Ordering::SeqCst);
                            let headers: serde_json::Map<String, Value> = request
                                .headers()
                                .iter()
                                .map(|(n, v)| {
                                    (n.as_str().to_owned(), json!(v.to_str().unwrap_or("")))
                                })
                                .collect();
                            let _ = request.into_body().collect().await;
                            let body = json!({"headers": headers}).to_string();
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(
                                bytes::Bytes::from(body),
                            )))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, hits)
}

fn route(
    name: &str,
    prefix: &str,
    upstream: SocketAddr,
    classification: Classification,
) -> RouteConfig {
    RouteConfig {
        name: name.into(),
        path_prefix: prefix.into(),
        upstreams: vec![format!("http://{upstream}")],
        exposure: Exposure::Partner,
        classification,
        description: String::new(),
        is_signup: false,
        is_anonymous: false,
        max_body_bytes: 64 * 1024,
        content_types: vec!["application/json".into()],
        rate_per_minute: None,
        identity_rate_per_minute: None,
    }
}

async fn start(db: Db) -> (TestServer, Arc<AtomicUsize>) {
    let (up, hits) = upstream().await;
    let server = TestServer::start_with(db, |c| {
        c.gateway = Some(GatewayConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            routes: vec![
                route("records", "/api/records", up, Classification::Confidential),
                route("admin", "/api/admin", up, Classification::Restricted),
            ],
            waf: Default::default(),
            waf_threads: 1,
            rate: Default::default(),
            honeypots: Default::default(),
            bots: Default::default(),
            upstream: Default::default(),
        });
    })
    .await;
    (server, hits)
}

const ROUTE_POLICIES: &str = r#"
@id("users_call_partner_routes")
permit (principal in Role::"user", action in Action::"call", resource is Route)
when { resource.exposure == "partner" };

@id("restricted_needs_two_factors")
@reason("two factors are needed for restricted routes")
forbid (principal, action in Action::"call", resource is Route)
when { resource.classification == "restricted" && !context.posture.is_mfa };
"#;

async fn add_route_policies(server: &TestServer) {
    let admin = server.client();
    let active = admin.active_policies().await.unwrap();
    admin
        .create_policy_version(&CreatePolicyVersionRequest {
            text: format!("{}\n{ROUTE_POLICIES}", active.text),
            reason: "the services behind the gateway".into(),
            base_version: active.version,
        })
        .await
        .unwrap();
}

async fn audit_of(server: &TestServer, request_id: &str) -> Value {
    let response = server
        .raw()
        .get(server.url(&format!("/v1/audit/events?request_id={request_id}")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    let page: Value = response.json().await.unwrap();
    page["items"][0].clone()
}

// proves: GW-2, GW-6, GW-10 (deny by default; a permitting policy lets the
// call through with a signed identity; every call in the audit trail, every
// refusal in the blocked log)
async fn calls_through_the_gateway_are_decided_recorded_and_signed(db: Db) {
    let (server, hits) = start(db).await;
    let user = server.mint(Role::User).await;
    let url = |path: &str| format!("{}{path}", server.gateway_url());
    // No policy opens the services yet: refused, recorded, the upstream untouched.
    let response = server
        .raw()
        .get(url("/api/records/1"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "forbidden");
    let request_id = error["request_id"].as_str().unwrap().to_owned();
    let record = audit_of(&server, &request_id).await;
    assert_eq!(record["action"], "route.read");
    assert_eq!(record["resource"]["type"], "route", "{record}");
    assert_eq!(record["resource"]["id"], "records");
    assert_eq!(record["outcome"], "denied");
    assert_eq!(record["details"]["blocked"], "authorization", "{record}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    let blocked: Value = server
        .raw()
        .get(server.url("/v1/blocked?route=gateway:records"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        blocked["items"][0]["request_id"],
        request_id.as_str(),
        "{blocked}"
    );
    assert_eq!(blocked["items"][0]["reason"], "authorization", "{blocked}");
    assert_eq!(blocked["items"][0]["route"], "gateway:records");

    // A policy opens partner routes to users: the call goes through, with the
    // caller's identity signed by the server's current key.
    add_route_policies(&server).await;
    let response = server
        .raw()
        .get(url("/api/records/1"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echo: Value = response.json().await.unwrap();
    let identity = echo["headers"]["x-gatehouse-identity"].as_str().unwrap();
    let mut parts = identity.split('.');
    let decode = |part: Option<&str>| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part.unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    let (header, claims) = (decode(parts.next()), decode(parts.next()));
    assert_eq!(header["typ"], "gatehouse-identity+jwt");
    let jwks: Value = server
        .raw()
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == header["kid"]));
    assert_eq!(claims["aud"], "gatehouse-route:records");
    assert_eq!(claims["sub_kind"], "api_token");
    assert!(echo["headers"].get("authorization").is_none());
    // The restricted route needs two factors; an API token has none.
    let response = server
        .raw()
        .get(url("/api/admin/x"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("two factors are needed"),
        "{error}"
    );
    // A bad token: 401; an attack: the WAF's refusal, with its rules in the trail.
    let response = server
        .raw()
        .get(url("/api/records/1"))
        .bearer_auth("gh_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = server
        .raw()
        .get(url("/api/records?id=1%27%20OR%20%271%27%3D%271"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let error: Value = response.json().await.unwrap();
    let record = audit_of(&server, error["request_id"].as_str().unwrap()).await;
    let text = record.to_string();
    assert!(text.contains("942100") && text.contains("949110"), "{text}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "only the permitted call reached the upstream"
    );
    server.stop().await;
}

async fn admin(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server
        .raw()
        .request(method, server.url(path))
        .bearer_auth(&server.admin_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

gatehouse_testkit::on_both_databases!(calls_through_the_gateway_are_decided_recorded_and_signed);
