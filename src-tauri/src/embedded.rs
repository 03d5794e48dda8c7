//! The embedded default (CO-2): a Gatehouse server in-process on 127.0.0.1 (a
//! random port), SQLite under the console's data directory, initialised on first
//! start; its administrator token kept in the vault.

use std::path::Path;
use std::sync::Arc;

use gatehouse_server::clock::SystemClock;
use gatehouse_server::config::Config;
use gatehouse_server::demo_gateway;
use gatehouse_server::RunningServer;
use gatehouse_types::{ApiError, ErrorCode};

use crate::error::local;
use crate::servers::EMBEDDED;
use crate::vault::Vault;

pub struct Embedded {
    pub server: RunningServer,
    pub token: String,
}

pub async fn start(data_dir: &Path, vault: &Vault) -> Result<Embedded, ApiError> {
    let mut config = Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.join("server"),
        ..Config::default()
    };
    // The development server of this computer: codes and notices go to the
    // outbox the console shows, not to anyone.
    config.messaging.outbox = true;
    // And a gateway in front of a demo service, so the Gateway page and the
    // blocked dashboard show a living system (`GATEHOUSE_CONSOLE_GATEWAY=off`:
    // none; `GATEHOUSE_CONSOLE_DEMO_TRAFFIC=off`: no traffic on first start).
    let is_gateway_on = std::env::var("GATEHOUSE_CONSOLE_GATEWAY").map_or(true, |v| v != "off");
    let is_traffic_on =
        std::env::var("GATEHOUSE_CONSOLE_DEMO_TRAFFIC").map_or(true, |v| v != "off");
    if is_gateway_on {
        let service = demo_gateway::start_service().await.map_err(|e| {
            local(
                ErrorCode::StorageFailed,
                format!("cannot start the demo service: {e}"),
            )
        })?;
        config.gateway = Some(demo_gateway::config(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            service,
        ));
    }
    let fail = |e: gatehouse_server::ServerError| {
        local(
            ErrorCode::StorageFailed,
            format!("cannot start the embedded server: {e}"),
        )
    };
    let prepared = gatehouse_server::prepare(config).await.map_err(fail)?;
    let clock = Arc::new(SystemClock);
    // Reuse the kept token while it is still active; otherwise (first start, an
    // expired token, a vault that lost it) mint a fresh administrator token.
    let kept = vault.get(EMBEDDED)?;
    let (token, is_first_start) = match kept {
        Some(t) if gatehouse_server::is_token_active(&prepared, clock.as_ref(), &t).await => {
            (t, false)
        }
        _ => {
            let report = gatehouse_server::init(&prepared, clock.as_ref(), true)
                .await
                .map_err(fail)?;
            vault.set(EMBEDDED, &report.admin_token)?;
            (report.admin_token, true)
        }
    };
    let callers = if is_gateway_on && is_traffic_on && is_first_start {
        Some(
            demo_gateway::callers(&prepared, clock.as_ref())
                .await
                .map_err(fail)?,
        )
    } else {
        None
    };
    let server = gatehouse_server::start(prepared, clock)
        .await
        .map_err(fail)?;
    tracing::info!(url = %server.base_url(), fingerprint = %server.fingerprint, "embedded server started");
    if let (Some(callers), Some(gateway)) = (callers, server.gateway_addr) {
        let url = server.base_url();
        tokio::spawn(async move {
            let gateway = format!("https://{gateway}");
            match demo_gateway::traffic(&callers, &url, &gateway).await {
                Ok(t) => tracing::info!(
                    sent = t.sent,
                    refused = t.refused,
                    "demo traffic sent through the gateway"
                ),
                Err(e) => tracing::warn!(error = %e, "the demo traffic failed"),
            }
        });
    }
    Ok(Embedded { server, token })
}
