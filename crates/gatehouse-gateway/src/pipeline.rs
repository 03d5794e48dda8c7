//! One request through the gateway, in this order (each stage named by what
//! it refuses; the first refusal ends the request, is answered in the one
//! error shape and recorded once, and the upstream never sees it):
//!
//! 1. **limits** — an unknown method (405), a head over its size (431), a
//!    path that does not normalise (400, `bad_input`), a honeypot (404 to
//!    the caller, its source flagged: `honeypot`), a flagged source (403,
//!    `honeypot`), no route (404, `unknown_route`), a declared body over
//!    the route's limit (413) or of a type it does not take (415);
//! 2. **rate** — a bad bot (403, `bot`), a source over its quota (429,
//!    `rate_limit`, with `Retry-After`);
//! 3. **authenticate** — no token or one that does not verify (401,
//!    `authentication`), unless the route is anonymous or the sign-up; an
//!    identity over its quota (429);
//! 4. **authorize** — the host's Cedar decision with the caller's posture
//!    (403, `authorization`);
//! 5. **WAF** — the body read within the route's limit and the listener's
//!    minimum rate (413; 408, `timeout`), then the Core Rule Set (403,
//!    `waf`; 503 when it is overloaded: nothing passes uninspected);
//! 6. **proxy** — client identity and hop-by-hop headers stripped, the
//!    verified identity signed in, the request sent (502 down, 504 slow);
//! 7. **headers** — the security headers on every response, the gateway's
//!    own refusals included.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Limited};

use gatehouse_listener::{is_body_too_slow, PeerAddr, TlsHello};
use gatehouse_types::ErrorCode;

use crate::bots::BotVerdict;
use crate::headers::{secure_response, strip_request, IDENTITY_HEADER, REQUEST_ID_HEADER};
use crate::host::{BlockReason, Caller, Outcome, Posture, Question, RateState};
use crate::normalize::{is_under, normalize};
use crate::proxy::ProxyError;
use crate::rate::{source_key, RateVerdict};
use crate::refusal::{error_response, refuse, Refusal};
use crate::waf::{WafError, WafMode, WafRequest};
use crate::Gateway;

/// Every response body the gateway sends.
pub type GatewayBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// The largest request head the gateway reads (431 beyond).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

fn head_bytes(parts: &http::request::Parts) -> usize {
    parts.uri.path_and_query().map_or(0, |p| p.as_str().len())
        + parts
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum::<usize>()
}

fn media_type(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// Whether a request has a body: a declared length over 0, or a chunked one.
fn has_body(parts: &http::request::Parts, declared: Option<u64>) -> bool {
    declared.is_some_and(|n| n > 0) || parts.headers.contains_key(header::TRANSFER_ENCODING)
}

impl Gateway {
    /// Serves one request; never fails (every failure is a response).
    /// (The listener hands it a `RequestBody`; any body will do, so that the
    /// pipeline can be measured without sockets.)
    pub async fn handle<B>(self: Arc<Self>, request: Request<B>) -> Response<GatewayBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let now_us = self.host.now_us();
        let request_id = uuid::Uuid::now_v7().to_string();
        let peer = request
            .extensions()
            .get::<PeerAddr>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |p| p.0);
        let hello = request.extensions().get::<Arc<TlsHello>>().cloned();
        let (parts, body) = request.into_parts();
        let mut outcome = Outcome {
            method: parts.method.as_str().chars().take(16).collect(),
            path: String::from_utf8_lossy(parts.uri.path().as_bytes())
                .chars()
                .take(512)
                .collect(),
            tls_fingerprint: hello.as_ref().map(|h| h.fingerprint.clone()),
            user_agent: parts.headers.get(header::USER_AGENT).map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .chars()
                    .take(256)
                    .collect()
            }),
            ..Outcome::new(request_id.clone(), now_us, peer.ip())
        };
        let mut response = match self
            .run(parts, body, peer, hello.as_deref(), now_us, &mut outcome)
            .await
        {
            Ok(response) => response,
            Err(refusal) => {
                outcome.blocked = Some(refusal.reason);
                outcome.detail = refusal.message.clone();
                let mut response =
                    error_response(refusal.status, refusal.code, &refusal.message, &request_id);
                if let Some(seconds) = refusal.retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
            }
        };
        secure_response(response.headers_mut());
        if let Ok(id) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, id);
        }
        outcome.status = response.status().as_u16();
        outcome.duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.bots
            .note(&source_key(peer.ip()), outcome.status, now_us);
        self.stats
            .count(outcome.route.as_deref(), outcome.blocked.is_some(), now_us);
        if let Err(e) = self.host.record(&outcome).await {
            // Nothing is answered unrecorded (as for the server's own routes).
            tracing::error!(error = %e, "a gateway request could not be recorded");
            let mut refused = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "the audit trail cannot be written, retry later",
                &request_id,
            );
            secure_response(refused.headers_mut());
            return refused;
        }
        response
    }

    async fn run<B>(
        &self,
        mut parts: http::request::Parts,
        body: B,
        peer: SocketAddr,
        hello: Option<&TlsHello>,
        now_us: i64,
        outcome: &mut Outcome,
    ) -> Result<Response<GatewayBody>, Refusal>
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // 1. limits
        if !METHODS.contains(&parts.method) {
            return Err(refuse(
                ErrorCode::MethodNotAllowed,
                BlockReason::BadInput,
                "this method is not served",
            ));
        }
        if head_bytes(&parts) > MAX_HEAD_BYTES {
            return Err(refuse(
                ErrorCode::HeadersTooLarge,
                BlockReason::BadInput,
                "the request head is too large",
            ));
        }
        let clean = normalize(parts.uri.path())
            .map_err(|p| refuse(ErrorCode::BadRequest, BlockReason::BadInput, p.as_str()))?;
        outcome.path = clean.decoded.clone();
        let source = source_key(peer.ip());
        if let Some(decoy) = self.honeypots.decoy_of(&clean.decoded) {
            self.honeypots
                .flag(peer.ip(), &clean.decoded, decoy, now_us);
            outcome.matched = Some(decoy.to_owned());
            let mut refusal = refuse(
                ErrorCode::NotFound,
                BlockReason::Honeypot,
                "nothing is served here",
            );
            refusal.status = StatusCode::NOT_FOUND;
            return Err(refusal);
        }
        let route = self
            .config
            .routes
            .iter()
            .filter(|r| is_under(&clean.decoded, &r.path_prefix))
            .max_by_key(|r| r.path_prefix.len());
        outcome.route = route.map(|r| r.name.clone());
        if let Some(flag) = self.honeypots.check(peer.ip(), now_us) {
            outcome.matched = Some(flag.decoy);
            return Err(refuse(
                ErrorCode::Forbidden,
                BlockReason::Honeypot,
                "this source is blocked: it asked for a decoy",
            ));
        }
        let route = route.ok_or_else(|| {
            refuse(
                ErrorCode::NotFound,
                BlockReason::UnknownRoute,
                "no route serves this path",
            )
        })?;
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > route.max_body_bytes) {
            return Err(refuse(
                ErrorCode::PayloadTooLarge,
                BlockReason::BadInput,
                "the body is over this route's limit",
            ));
        }
        if has_body(&parts, declared) {
            let allowed = media_type(&parts.headers).is_some_and(|t| {
                route
                    .content_types
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&t))
            });
            if !allowed {
                return Err(refuse(
                    ErrorCode::UnsupportedMediaType,
                    BlockReason::BadInput,
                    "this route does not take bodies of this type",
                ));
            }
        }

        // 2. rate (and bots)
        let bot = self.bots.classify(&parts.headers, hello, &source, now_us);
        outcome.bot = bot.verdict;
        outcome.bot_score = bot.score;
        outcome.is_bot_checked = true;
        if bot.verdict == BotVerdict::BadBot {
            outcome.matched = bot
                .tool
                .or_else(|| bot.signals.first().copied())
                .map(str::to_owned);
            return Err(refuse(
                ErrorCode::Forbidden,
                BlockReason::Bot,
                format!("refused as a bad bot: {}", bot.signals.join(", ")),
            ));
        }
        let source_quota = route
            .rate_per_minute
            .unwrap_or(self.config.rate.per_source_per_minute);
        let mut rate = RateState {
            source_count: 0.0,
            source_quota,
            identity_count: None,
            identity_quota: None,
        };
        match self.sources.hit(&source, source_quota, now_us) {
            RateVerdict::Allowed { count } => rate.source_count = count,
            RateVerdict::Limited {
                count,
                retry_after_s,
            } => {
                rate.source_count = count;
                outcome.rate = Some(rate);
                self.limited.hit(&source, u32::MAX, now_us);
                let mut refusal = refuse(
                    ErrorCode::RateLimited,
                    BlockReason::RateLimit,
                    "too many requests from this source",
                );
                refusal.retry_after = Some(retry_after_s);
                return Err(refusal);
            }
        }

        // 3. authenticate
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let caller: Option<Caller> = match (token, route.is_anonymous, route.is_signup) {
            (_, true, _) | (None, false, true) => None,
            (None, false, false) => {
                outcome.rate = Some(rate);
                outcome.token_check = Some("no bearer token".into());
                return Err(refuse(
                    ErrorCode::Unauthenticated,
                    BlockReason::Authentication,
                    "a bearer token is needed",
                ));
            }
            (Some(token), false, _) => match self.host.verify(token).await {
                Ok(caller) => Some(caller),
                Err(why) => {
                    outcome.rate = Some(rate);
                    outcome.token_check = Some(why);
                    return Err(refuse(
                        ErrorCode::InvalidToken,
                        BlockReason::Authentication,
                        "the token is not valid",
                    ));
                }
            },
        };
        outcome.caller = caller.clone();
        if let Some(caller) = &caller {
            let quota = route
                .identity_rate_per_minute
                .unwrap_or(self.config.rate.per_identity_per_minute);
            rate.identity_quota = Some(quota);
            let key = format!("{}:{}", caller.kind, caller.id);
            match self.identities.hit(key.as_bytes(), quota, now_us) {
                RateVerdict::Allowed { count } => rate.identity_count = Some(count),
                RateVerdict::Limited {
                    count,
                    retry_after_s,
                } => {
                    rate.identity_count = Some(count);
                    outcome.rate = Some(rate);
                    self.limited.hit(&source, u32::MAX, now_us);
                    let mut refusal = refuse(
                        ErrorCode::RateLimited,
                        BlockReason::RateLimit,
                        "too many requests from this caller",
                    );
                    refusal.retry_after = Some(retry_after_s);
                    return Err(refusal);
                }
            }
        }
        outcome.rate = Some(rate);

        // 4. authorize
        let question = Question {
            caller: caller.clone(),
            method: parts.method.as_str().to_owned(),
            route: route.name.clone(),
            path_prefix: route.path_prefix.clone(),
            is_open: route.is_anonymous || route.is_signup,
            exposure: route.exposure,
            classification: route.classification,
            path: clean.decoded.clone(),
            source: peer.ip(),
            time_us: now_us,
            posture: Posture {
                amr: caller.as_ref().map(|c| c.amr.clone()).unwrap_or_default(),
                is_mfa: caller
                    .as_ref()
                    .is_some_and(|c| c.amr.iter().any(|m| m == "mfa")),
                seconds_since_auth: caller
                    .as_ref()
                    .and_then(|c| c.auth_time_us)
                    .map(|t| (now_us - t) / 1_000_000),
                bot: bot.verdict,
                bot_score: bot.score,
                // A flagged source was refused above: never flagged here.
                is_source_flagged: false,
                // Estimated by a sketch: never missed, rarely over-counted.
                was_rate_limited: self.limited.estimate(&source, now_us) >= 1.0,
            },
        };
        let decision = self.host.decide(&question).await;
        let is_allowed = decision.is_allowed;
        let why = decision.reason.clone();
        outcome.decision = Some(decision);
        if !is_allowed {
            let message = match why {
                Some(check) => format!("the access policy refuses this call: {check}"),
                None => "the access policy refuses this call".to_owned(),
            };
            return Err(refuse(
                ErrorCode::Forbidden,
                BlockReason::Authorization,
                message,
            ));
        }

        // 5. WAF (the body read within its limit first)
        let limit = usize::try_from(route.max_body_bytes).unwrap_or(usize::MAX);
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                if is_body_too_slow(e.as_ref()) {
                    return Err(refuse(
                        ErrorCode::RequestTimeout,
                        BlockReason::Timeout,
                        "the body arrived too slowly",
                    ));
                }
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    return Err(refuse(
                        ErrorCode::PayloadTooLarge,
                        BlockReason::BadInput,
                        "the body is over this route's limit",
                    ));
                }
                return Err(refuse(
                    ErrorCode::BadRequest,
                    BlockReason::BadInput,
                    "the body could not be read",
                ));
            }
        };
        let query = parts
            .uri
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let path_and_query = format!("{}{query}", clean.encoded);
        if self.waf.mode() != WafMode::Off {
            let headers = parts
                .headers
                .iter()
                .map(|(n, v)| {
                    let value = if n == header::AUTHORIZATION {
                        "Bearer [verified]".to_owned()
                    } else {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    };
                    (n.as_str().to_owned(), value)
                })
                .collect();
            let version = if parts.version == http::Version::HTTP_2 {
                "2.0"
            } else {
                "1.1"
            };
            let verdict = self
                .waf
                .inspect(WafRequest {
                    method: parts.method.as_str().to_owned(),
                    uri: path_and_query.clone(),
                    http_version: version,
                    headers,
                    body: body.clone(),
                    client: peer,
                    server: self.local,
                    request_id: outcome.request_id.clone(),
                })
                .await;
            match verdict {
                Ok(verdict) => {
                    let is_blocked = verdict.is_blocked;
                    let status = verdict.status;
                    if is_blocked {
                        outcome.matched = verdict.deciding_rule().map(|id| id.to_string());
                    }
                    outcome.waf = Some(verdict);
                    if is_blocked {
                        // The rules' status: 400 for a body that does not parse,
                        // 413 for one over their limit, 403 for an attack.
                        let code = match status {
                            400 => ErrorCode::BadRequest,
                            413 => ErrorCode::PayloadTooLarge,
                            _ => ErrorCode::Forbidden,
                        };
                        return Err(refuse(
                            code,
                            BlockReason::Waf,
                            "the request was refused by the web application firewall",
                        ));
                    }
                }
                Err(WafError::Overloaded(_)) => {
                    return Err(refuse(
                        ErrorCode::Unavailable,
                        BlockReason::Waf,
                        "the gateway is overloaded; try again",
                    ));
                }
                Err(e) => {
                    tracing::error!(error = %e, "the WAF could not inspect a request");
                    return Err(refuse(
                        ErrorCode::Unavailable,
                        BlockReason::Waf,
                        "the request could not be inspected; try again",
                    ));
                }
            }
        }

        // 6. proxy
        strip_request(&mut parts.headers);
        if let Ok(id) = HeaderValue::from_str(&outcome.request_id) {
            parts.headers.insert(REQUEST_ID_HEADER, id);
        }
        if let Ok(forwarded) = HeaderValue::from_str(&format!("for=\"{}\";proto=https", peer.ip()))
        {
            parts.headers.insert(header::FORWARDED, forwarded);
        }
        if let Some(caller) = &caller {
            if let Some(token) = self
                .host
                .sign_identity(caller, &route.name, &outcome.request_id)
            {
                if let Ok(value) = HeaderValue::from_str(&token) {
                    parts.headers.insert(IDENTITY_HEADER, value);
                }
            }
        }
        let answered = self
            .upstreams
            .forward(route, &parts, &path_and_query, body)
            .await;
        match answered {
            Ok(response) => {
                let (head, incoming) = response.into_parts();
                let body = incoming
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
                    .boxed_unsync();
                Ok(Response::from_parts(head, body))
            }
            Err(ProxyError::Timeout(ms)) => Err(refuse(
                ErrorCode::GatewayTimeout,
                BlockReason::Timeout,
                format!("the service did not answer within {ms} ms"),
            )),
            Err(ProxyError::Unreachable(why)) => {
                outcome.detail = why;
                let mut response = error_response(
                    StatusCode::BAD_GATEWAY,
                    ErrorCode::BadGateway,
                    "the service behind this route cannot be reached; try again later",
                    &outcome.request_id,
                );
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                Ok(response)
            }
        }
    }
}
