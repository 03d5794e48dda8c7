//! The gateway: the enforcement point in front of the services (GW-1 …
//! GW-10). A reverse proxy on hyper over the hardened listener (TLS 1.3
//! only, deadlines against slow clients, connection caps), whose every
//! request goes through [`pipeline`]'s stages in order: limits → rate (and
//! bots) → authenticate → authorize → WAF → proxy → headers, each refusal
//! recorded once by the host.
//!
//! It must never pass a request a stage refused or could not judge, never
//! forward a client's claim of identity, never keep per-caller state that
//! grows with the number of callers, and never run WAF rules on the async
//! workers. It holds no keys, policies or stores: the [`host::Host`] it runs
//! in verifies, decides and records.

pub mod bots;
pub mod config;
pub mod headers;
pub mod honeypot;
pub mod host;
pub mod normalize;
pub mod pipeline;
pub mod proxy;
pub mod rate;
mod refusal;
pub mod waf;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde::Serialize;

pub use config::{Classification, ConfigError, Exposure, GatewayConfig, RouteConfig};
pub use host::{BlockReason, Caller, Decision, Host, Outcome, Posture, Question};
pub use pipeline::GatewayBody;
pub use waf::{WafEngine, WafMode, WafSettings, WafVerdict};

use bots::Bots;
use honeypot::Honeypots;
use proxy::Upstreams;
use rate::RateSketch;

/// A route as the inventory shows it, with its traffic over the last minute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteSummary {
    #[serde(flatten)]
    pub route: RouteConfig,
    pub requests_last_minute: u64,
    pub blocked_last_minute: u64,
}

/// One second of a route's traffic: (the second, requests, refusals).
type Second = (i64, u32, u32);

/// Requests and refusals per route, per second, for the last minute.
#[derive(Default)]
struct Stats {
    routes: Mutex<HashMap<String, [Second; 60]>>,
}

impl Stats {
    fn count(&self, route: Option<&str>, is_blocked: bool, now_us: i64) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        // Unknown paths count under no route: the map holds configured routes only.
        let Some(seconds) = route.and_then(|r| routes.get_mut(r)) else {
            return;
        };
        let second = now_us / 1_000_000;
        let slot = &mut seconds[usize::try_from(second.rem_euclid(60)).unwrap_or(0)];
        if slot.0 != second {
            *slot = (second, 0, 0);
        }
        slot.1 += 1;
        slot.2 += u32::from(is_blocked);
    }

    fn last_minute(&self, route: &str, now_us: i64) -> (u64, u64) {
        let second = now_us / 1_000_000;
        self.routes
            .lock()
            .ok()
            .and_then(|routes| {
                routes.get(route).map(|seconds| {
                    seconds
                        .iter()
                        .filter(|(at, _, _)| second - at < 60)
                        .fold((0, 0), |(r, b), (_, req, blk)| {
                            (r + u64::from(*req), b + u64::from(*blk))
                        })
                })
            })
            .unwrap_or((0, 0))
    }
}

/// A configured gateway, ready to serve.
pub struct Gateway {
    config: GatewayConfig,
    waf: Arc<dyn WafEngine>,
    sources: RateSketch,
    identities: RateSketch,
    /// Rate-limit refusals per source over the last window (its reputation).
    limited: RateSketch,
    honeypots: Honeypots,
    bots: Bots,
    upstreams: Upstreams,
    host: Arc<dyn Host>,
    stats: Stats,
    local: SocketAddr,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("local", &self.local)
            .field("routes", &self.config.routes.len())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// `local` is the address the gateway listens on (the WAF's server address).
    pub fn new(
        config: GatewayConfig,
        waf: Arc<dyn WafEngine>,
        host: Arc<dyn Host>,
        local: SocketAddr,
    ) -> Result<Arc<Gateway>, ConfigError> {
        config.check()?;
        let width = config.rate.sketch_width;
        let stats = Stats::default();
        if let Ok(mut routes) = stats.routes.lock() {
            for route in &config.routes {
                routes.insert(route.name.clone(), [(0, 0, 0); 60]);
            }
        }
        Ok(Arc::new(Gateway {
            sources: RateSketch::new(4, width, 60),
            identities: RateSketch::new(4, width / 4, 60),
            limited: RateSketch::new(4, width / 4, 60),
            honeypots: Honeypots::new(&config.honeypots),
            bots: Bots::new(width / 4, config.bots.deny_tls_fingerprints.clone()),
            upstreams: Upstreams::new(config.upstream.clone())?,
            config,
            waf,
            host,
            stats,
            local,
        }))
    }

    /// The API inventory (GW-7) with each route's last minute.
    pub fn routes(&self) -> Vec<RouteSummary> {
        let now_us = self.host.now_us();
        self.config
            .routes
            .iter()
            .map(|route| {
                let (requests, blocked) = self.stats.last_minute(&route.name, now_us);
                RouteSummary {
                    route: route.clone(),
                    requests_last_minute: requests,
                    blocked_last_minute: blocked,
                }
            })
            .collect()
    }

    pub fn honeypots(&self) -> &Honeypots {
        &self.honeypots
    }

    pub fn waf(&self) -> &Arc<dyn WafEngine> {
        &self.waf
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Bytes of the rate limits' and bot signals' sketches (fixed at start).
    pub fn sketch_bytes(&self) -> usize {
        self.sources.bytes() + self.identities.bytes()
    }

    /// Records a request the parser refused: `bad_input`, once, with its source.
    async fn record_malformed(&self, peer: SocketAddr, refused: gatehouse_listener::Malformed) {
        let now_us = self.host.now_us();
        let outcome = host::Outcome {
            status: refused.status,
            blocked: Some(host::BlockReason::BadInput),
            detail: format!("the request could not be parsed: {}", refused.why),
            ..host::Outcome::new(uuid::Uuid::now_v7().to_string(), now_us, peer.ip())
        };
        self.bots
            .note(&rate::source_key(peer.ip()), refused.status, now_us);
        self.stats.count(None, true, now_us);
        if let Err(e) = self.host.record(&outcome).await {
            tracing::error!(error = %e, "a malformed request could not be recorded");
        }
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self: Arc<Self>,
        listener: gatehouse_listener::Listener,
        shutdown: impl Future<Output = ()>,
    ) {
        // What the HTTP/1 parser refused before any stage saw it is recorded
        // too (hyper has answered it 400 or 431 and closed the connection), on
        // the connection's task, which holds its place under the caps meanwhile.
        let recorder = self.clone();
        let listener = listener.on_malformed(Arc::new(move |peer, refused| {
            let gateway = recorder.clone();
            Box::pin(async move { gateway.record_malformed(peer, refused).await })
        }));
        let service = tower::service_fn(move |request| {
            let gateway = self.clone();
            async move { Ok::<_, Infallible>(gateway.handle(request).await) }
        });
        listener.serve(service, shutdown).await;
    }
}
