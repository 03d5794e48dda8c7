//! Signing in through the system browser (CO-1, TK-6): the console is a
//! native app of RFC 8252. It listens on a loopback port of its own, opens
//! the server's hosted sign-in page with PKCE (`S256`), `state` and `nonce`,
//! and waits for the browser to come back to `http://127.0.0.1:<port>/callback`
//! with a code, which it exchanges for the tokens directly with the server.
//! It stops waiting after [`WAIT`] (or when asked), and says so.
//!
//! `GATEHOUSE_CONSOLE_BROWSER` names a program to open the page with instead
//! of the desktop's (`xdg-open`); `GATEHOUSE_CONSOLE_SIGN_IN_WAIT_SECONDS`
//! shortens the wait (tests).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_types::{ApiError, ErrorCode};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::connect::{client_for, resolve, Resolved};
use crate::error::{from_client, local};
use crate::person::{open_oauth, OAuthTokens, SignInOutcome};
use crate::servers::normalize_url;
use crate::state::ConsoleState;
use crate::types::{ConnectOutcome, Verification};

/// The console's own client on every server (registered by the server).
pub const CONSOLE_CLIENT: &str = "gatehouse-console";
/// How long the console waits for the browser.
const WAIT: Duration = Duration::from_secs(300);
const MAX_REQUEST: usize = 8 * 1024;

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn abandoned(message: impl Into<String>) -> ApiError {
    local(ErrorCode::SignInAbandoned, message)
}

/// The whole browser sign-in.
pub async fn sign_in(
    state: &ConsoleState,
    url: &str,
    verification: Verification,
) -> Result<SignInOutcome, ApiError> {
    let url = normalize_url(url)?;
    let trust = match resolve(state, &url, verification).await? {
        Resolved::Trust(trust) => trust,
        Resolved::Confirm(ConnectOutcome::NeedsConfirmation {
            server_url,
            fingerprint,
        }) => {
            return Ok(SignInOutcome::NeedsConfirmation {
                server_url,
                fingerprint,
            })
        }
        Resolved::Confirm(_) => return Err(local(ErrorCode::Internal, "unexpected answer")),
    };
    let anonymous = client_for(state, &url, &trust, None)?;
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
        local(
            ErrorCode::Internal,
            format!("cannot listen for the browser: {e}"),
        )
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| local(ErrorCode::Internal, e.to_string()))?
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let verifier = random();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let (expected_state, nonce) = (random(), random());
    let page = format!(
        "{}/oauth2/authorize?response_type=code&client_id={CONSOLE_CLIENT}&redirect_uri={}\
         &state={expected_state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        url.trim_end_matches('/'),
        enc(&redirect)
    );
    open_browser(&page)?;
    let wait = std::env::var("GATEHOUSE_CONSOLE_SIGN_IN_WAIT_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(WAIT, Duration::from_secs);
    let query = tokio::select! {
        answer = tokio::time::timeout(wait, callback(&listener)) => match answer {
            Ok(query) => query?,
            Err(_) => return Err(abandoned(format!(
                "the sign-in in the browser was not finished within {} minutes, so the console \
                 stopped waiting: sign in again",
                wait.as_secs().div_ceil(60)
            ))),
        },
        () = state.browser_cancel.notified() => {
            return Err(abandoned("the sign-in in the browser was cancelled"));
        }
    };
    let code = check_callback(&query, &expected_state, &url)?;
    let tokens = anonymous
        .exchange_code(CONSOLE_CLIENT, &code, &redirect, &verifier)
        .await
        .map_err(from_client)?;
    check_nonce(tokens.id_token.as_deref(), &nonce)?;
    let issued = OAuthTokens {
        client_id: CONSOLE_CLIENT,
        access: &tokens.access_token,
        refresh: tokens.refresh_token,
        expires_in: tokens.expires_in,
    };
    let session = open_oauth(state, &url, trust, anonymous, issued).await?;
    Ok(SignInOutcome::Connected { session })
}

/// The code the browser brought back, once the answer is this sign-in's own:
/// the `state` this console sent, no `error`, the `iss` of this server.
fn check_callback(query: &str, expected_state: &str, server: &str) -> Result<String, ApiError> {
    let param = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(expected_state) {
        return Err(abandoned(
            "the browser came back with a state this console did not send, so nothing was \
             exchanged: sign in again",
        ));
    }
    if let Some(error) = param("error") {
        let said = param("error_description").unwrap_or_default();
        return Err(abandoned(format!(
            "the sign-in did not finish ({error}): {said}"
        )));
    }
    if param("iss").is_some_and(|iss| iss.trim_end_matches('/') != server.trim_end_matches('/')) {
        return Err(abandoned(
            "the answer names another server as its issuer, so nothing was exchanged",
        ));
    }
    param("code").ok_or_else(|| abandoned("the browser came back without a code"))
}

/// The ID token answers this sign-in (its `nonce`) and names the console as
/// its audience. It came straight from the verified server, over TLS.
fn check_nonce(id_token: Option<&str>, nonce: &str) -> Result<(), ApiError> {
    let bad = || {
        local(
            ErrorCode::BadServerResponse,
            "the ID token does not answer this sign-in",
        )
    };
    let payload = id_token
        .and_then(|t| t.split('.').nth(1))
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .ok_or_else(bad)?;
    if payload["nonce"] == nonce && payload["aud"] == CONSOLE_CLIENT {
        Ok(())
    } else {
        Err(bad())
    }
}

fn open_browser(page: &str) -> Result<(), ApiError> {
    let program = std::env::var("GATEHOUSE_CONSOLE_BROWSER").unwrap_or_else(|_| "xdg-open".into());
    std::process::Command::new(&program)
        .arg(page)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| {
            local(
                ErrorCode::Internal,
                format!("cannot open the browser with {program}: {e}"),
            )
        })
}

/// Serves the loopback port until the browser brings the callback; its query.
async fn callback(listener: &TcpListener) -> Result<String, ApiError> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| abandoned(format!("the loopback listener failed: {e}")))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(Duration::from_secs(5), async {
            while head.len() < MAX_REQUEST && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        if read.is_err() {
            continue;
        }
        let text = String::from_utf8_lossy(&head);
        let target = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("");
        let Some(query) = target.strip_prefix("/callback?") else {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            continue;
        };
        let body = "<!doctype html><meta charset=utf-8><title>Gatehouse</title>\
                    <p style=\"font:16px system-ui;margin:3rem\">You can close this tab and return \
                    to the Gatehouse console.</p>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
             cache-control: no-store\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        return Ok(query.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // proves: TK-6, CO-1 (a callback that is not this sign-in's is refused
    // and nothing is exchanged)
    #[test]
    fn only_this_sign_ins_answer_is_exchanged() {
        let server = "https://gh.example:8443";
        let ok = "code=ghac_x&state=s1&iss=https%3A%2F%2Fgh.example%3A8443";
        assert_eq!(check_callback(ok, "s1", server).unwrap(), "ghac_x");
        for (query, why) in [
            ("code=ghac_x&state=s2", "state"),
            ("code=ghac_x", "state"),
            (
                "error=access_denied&error_description=no&state=s1",
                "access_denied",
            ),
            (
                "code=ghac_x&state=s1&iss=https%3A%2F%2Fevil.example",
                "issuer",
            ),
            ("state=s1", "without a code"),
        ] {
            let refused = check_callback(query, "s1", server).unwrap_err();
            assert_eq!(refused.code, ErrorCode::SignInAbandoned, "{query}");
            assert!(
                refused.message.contains(why),
                "{query}: {}",
                refused.message
            );
        }
    }

    #[test]
    fn the_id_token_must_answer_this_sign_in() {
        let token = |payload: serde_json::Value| {
            format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload.to_string()))
        };
        let good = token(serde_json::json!({"nonce": "n1", "aud": CONSOLE_CLIENT}));
        assert!(check_nonce(Some(&good), "n1").is_ok());
        assert!(check_nonce(Some(&good), "n2").is_err());
        let other = token(serde_json::json!({"nonce": "n1", "aud": "another-app"}));
        assert!(check_nonce(Some(&other), "n1").is_err());
        assert!(check_nonce(None, "n1").is_err());
        assert!(check_nonce(Some("not a token"), "n1").is_err());
    }
}
