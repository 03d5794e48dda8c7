//! `GET /oauth2/authorize` (RFC 6749 §4.1.1) and the hosted page's steps
//! (`POST /oauth2/authorize`): the request checked and stored, then each
//! form the person submits run through the same sign-in as the API
//! ([`Via::Authorization`]), and the browser sent back to the client with a
//! code or an error. What the page shows is in [`super::page`].

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use gatehouse_tokens::oauth::{url_decode_pairs, Params};
use gatehouse_types::{
    ChallengeMethod, DirectorySignInRequest, ErrorCode, MfaRequest, OtpStartRequest,
    OtpVerifyRequest, PasswordSignInRequest,
};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use super::page::{self, Channel, Frame, View};
use crate::app::AppState;
use crate::authorization::{self, Pending, Refused, BROWSER_COOKIE};
use crate::challenges;
use crate::error::ApiFailure;
use crate::pipeline::Audit;
use crate::sign_in::{self, Step, Via};

const EXPIRED: &str = "This sign-in has expired or was already finished. Go back to the \
                       application and start again.";
const UNAVAILABLE: &str = "Gatehouse cannot complete sign-ins just now. Try again in a minute.";

/// What a step leads to.
enum Screen {
    Show(View, Option<String>),
    Redirect(String),
    Problem(StatusCode, String),
}

/// `GET /oauth2/authorize`: the request checked; the sign-in page, or the
/// browser sent back with the error.
pub async fn authorize(
    State(state): State<AppState>,
    audit: Audit,
    RawQuery(query): RawQuery,
) -> Response {
    let params =
        url_decode_pairs(query.as_deref().unwrap_or("")).and_then(|pairs| Params::new(pairs).ok());
    let Some(params) = params else {
        return problem(
            StatusCode::BAD_REQUEST,
            "The application's sign-in request is malformed (a parameter is broken or repeated).",
        );
    };
    match authorization::begin(&state, &audit, &params).await {
        Ok(begun) => {
            let frame = Frame {
                client_name: &begun.client_name,
                request_id: &begun.request_id,
                has_directory: state.identity.directory.is_some(),
                error: None,
            };
            let view = View::Password {
                email: begun.login_hint.clone().unwrap_or_default(),
            };
            let cookie = format!(
                "{BROWSER_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
                begun.cookie,
                gatehouse_tokens::authorization::REQUEST_TTL_SECONDS
            );
            let mut response = html(
                StatusCode::OK,
                page::render(&frame, &view),
                page::origin_of(&begun.redirect_uri).as_deref(),
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(Refused::Page(reason)) => problem(StatusCode::BAD_REQUEST, reason.message()),
        Err(Refused::Redirect(to)) => see_other(&to),
        Err(Refused::Unavailable) => problem(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
    }
}

/// `POST /oauth2/authorize`: one step of the hosted page.
pub async fn step(
    State(state): State<AppState>,
    audit: Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(params) = super::form(&headers, &body) else {
        return problem(StatusCode::BAD_REQUEST, EXPIRED);
    };
    let request_id = params.get("request").unwrap_or("");
    let cookie = browser_cookie(&headers);
    let pending = match authorization::pending(&state, request_id, cookie.as_deref()).await {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            audit.detail("request_outcome", json!("expired_or_foreign"));
            return problem(StatusCode::BAD_REQUEST, EXPIRED);
        }
        Err(_) => return problem(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
    };
    audit.detail("client_id", json!(pending.client.id));
    let screen = run(&state, &audit, &pending, &params).await;
    let origin = page::origin_of(&pending.row.redirect_uri);
    match screen {
        Screen::Redirect(to) => see_other(&to),
        Screen::Problem(status, message) => problem(status, &message),
        Screen::Show(view, error) => {
            let frame = Frame {
                client_name: &pending.client.name,
                request_id,
                has_directory: state.identity.directory.is_some(),
                error: error.as_deref(),
            };
            html(
                StatusCode::OK,
                page::render(&frame, &view),
                origin.as_deref(),
            )
        }
    }
}

/// The browser's request cookie, if it sent exactly one.
fn browser_cookie(headers: &HeaderMap) -> Option<String> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == BROWSER_COOKIE)
        .map(|(_, value)| value.to_owned());
    let first = found.next();
    found.next().is_none().then_some(first).flatten()
}

fn field(params: &Params, name: &str) -> String {
    params.get(name).unwrap_or("").to_owned()
}

async fn run(state: &AppState, audit: &Audit, pending: &Pending, params: &Params) -> Screen {
    let step = params.get("step").unwrap_or("");
    audit.detail(
        "page_step",
        json!(step.chars().take(32).collect::<String>()),
    );
    if step == "cancel" {
        return Screen::Redirect(authorization::deny(state, audit, pending));
    }
    if pending.is_authenticated() {
        // Signed in already: only the decision remains.
        return match (step, params.get("decision")) {
            ("consent", Some("allow")) => finish(state, audit, pending).await,
            ("consent", Some("deny")) => {
                Screen::Redirect(authorization::deny(state, audit, pending))
            }
            _ => consent(state, pending).await,
        };
    }
    let via = Via::Authorization(pending.id_hash.clone());
    let show = |view| Screen::Show(view, None);
    match step {
        "choose_phone" => show(View::CodeStart {
            channel: Channel::Phone,
            address: String::new(),
        }),
        "choose_email" => show(View::CodeStart {
            channel: Channel::Email,
            address: String::new(),
        }),
        "choose_directory" if state.identity.directory.is_some() => show(View::Directory {
            login: String::new(),
        }),
        "password" => {
            let email = field(params, "email");
            let request = PasswordSignInRequest {
                email: email.clone(),
                password: field(params, "password"),
            };
            let outcome = sign_in::with_password(state, audit, request, &via).await;
            after(state, audit, pending, outcome, View::Password { email }).await
        }
        "directory" if state.identity.directory.is_some() => {
            let login = field(params, "login");
            let request = DirectorySignInRequest {
                login: login.clone(),
                password: field(params, "password"),
            };
            let outcome = crate::directory::sign_in(state, audit, request, &via).await;
            after(state, audit, pending, outcome, View::Directory { login }).await
        }
        "otp_start" => start_code(state, audit, params, &via).await,
        "otp_verify" => {
            let retry = View::CodeVerify {
                channel: channel_of(params),
                challenge: field(params, "challenge"),
                sent_to: field(params, "sent_to"),
            };
            let request = OtpVerifyRequest {
                challenge_id: field(params, "challenge"),
                code: field(params, "code"),
            };
            let outcome = challenges::verify_otp(state, audit, request, &via).await;
            after(state, audit, pending, outcome, retry).await
        }
        "mfa" | "mfa_send" => {
            let methods: Vec<ChallengeMethod> = field(params, "methods")
                .split(',')
                .filter_map(method_of)
                .collect();
            let retry = View::SecondFactor {
                challenge: field(params, "challenge"),
                methods,
                sent_to: params.get("sent_to").map(str::to_owned),
            };
            let Some(method) = params.get("method").and_then(method_of) else {
                return Screen::Show(retry, Some("Choose how to confirm it is you.".into()));
            };
            let request = MfaRequest {
                challenge_id: field(params, "challenge"),
                method,
                code: (step == "mfa").then(|| field(params, "code")),
            };
            let outcome = challenges::mfa(state, audit, request, &via).await;
            after(state, audit, pending, outcome, retry).await
        }
        _ => show(View::Password {
            email: String::new(),
        }),
    }
}

fn method_of(name: &str) -> Option<ChallengeMethod> {
    [
        ChallengeMethod::Totp,
        ChallengeMethod::RecoveryCode,
        ChallengeMethod::Sms,
        ChallengeMethod::Email,
    ]
    .into_iter()
    .find(|m| m.as_str() == name)
}

fn channel_of(params: &Params) -> Channel {
    if params.get("channel") == Some("email") {
        Channel::Email
    } else {
        Channel::Phone
    }
}

async fn start_code(state: &AppState, audit: &Audit, params: &Params, via: &Via) -> Screen {
    let channel = channel_of(params);
    let address = field(params, "address");
    let request = match channel {
        Channel::Email => OtpStartRequest {
            email: Some(address.clone()),
            phone: None,
        },
        Channel::Phone => OtpStartRequest {
            email: None,
            // People type spaces and dashes; E.164 has none.
            phone: Some(
                address
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '-'))
                    .collect(),
            ),
        },
    };
    match challenges::start_otp(state, audit, request, via).await {
        Ok(challenge) => Screen::Show(
            View::CodeVerify {
                channel,
                challenge: challenge.challenge_id,
                sent_to: challenge.sent_to.unwrap_or_default(),
            },
            None,
        ),
        Err(failure) => Screen::Show(
            View::CodeStart { channel, address },
            Some(sentence(&failure)),
        ),
    }
}

/// A sign-in step's outcome as the next screen.
async fn after(
    state: &AppState,
    audit: &Audit,
    pending: &Pending,
    outcome: Result<Step, ApiFailure>,
    retry: View,
) -> Screen {
    match outcome {
        Ok(Step::Authenticated) => {
            let Ok(Some(signed_in)) = authorization::reload(state, pending).await else {
                return Screen::Problem(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE.into());
            };
            if signed_in.needs_consent() {
                consent(state, &signed_in).await
            } else {
                finish(state, audit, &signed_in).await
            }
        }
        Ok(Step::Challenge(c)) => Screen::Show(
            View::SecondFactor {
                challenge: c.challenge_id,
                methods: c.methods,
                sent_to: c.sent_to,
            },
            None,
        ),
        Ok(Step::SignedIn(_)) => Screen::Problem(StatusCode::INTERNAL_SERVER_ERROR, EXPIRED.into()),
        Err(failure) if failure.code == ErrorCode::ChallengeExpired => Screen::Show(
            View::Password {
                email: String::new(),
            },
            Some(sentence(&failure)),
        ),
        Err(failure) => Screen::Show(retry, Some(sentence(&failure))),
    }
}

async fn consent(state: &AppState, pending: &Pending) -> Screen {
    let user_id = pending.row.user_id.clone().unwrap_or_default();
    let person = match state.store.users().find(&user_id).await {
        Ok(Some(user)) => user.email.map_or(user.display_name.clone(), |e| {
            format!("{} ({e})", user.display_name)
        }),
        _ => return Screen::Problem(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE.into()),
    };
    let scopes = pending.row.scope.split(' ').map(str::to_owned).collect();
    Screen::Show(View::Consent { person, scopes }, None)
}

async fn finish(state: &AppState, audit: &Audit, pending: &Pending) -> Screen {
    match authorization::approve(state, audit, pending).await {
        Ok(to) => Screen::Redirect(to),
        Err(failure) if failure.code == ErrorCode::ChallengeExpired => {
            Screen::Problem(StatusCode::BAD_REQUEST, EXPIRED.into())
        }
        Err(_) => Screen::Problem(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE.into()),
    }
}

/// An API message as a sentence for the page.
fn sentence(failure: &ApiFailure) -> String {
    let mut chars = failure.message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn html(status: StatusCode, body: String, redirect_origin: Option<&str>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&page::content_security_policy(redirect_origin)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

fn problem(status: StatusCode, message: &str) -> Response {
    let frame = Frame {
        client_name: "",
        request_id: "",
        has_directory: false,
        error: Some(message),
    };
    let mut response = html(status, page::render(&frame, &View::Problem), None);
    // The page is the answer: finalize records the failure and keeps the body.
    let code = if status.is_server_error() {
        ErrorCode::Unavailable
    } else {
        ErrorCode::InvalidParameter
    };
    response
        .extensions_mut()
        .insert(ApiFailure::new(code, "the sign-in request was refused"));
    response.extensions_mut().insert(crate::error::OwnShape);
    response
}

fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => problem(StatusCode::BAD_REQUEST, EXPIRED),
    }
}
