//! A person signed in to a server (CO-1): by email, password and second
//! factor through the identity API, or through the system browser with
//! OAuth's code grant and PKCE (`crate::browser`). The tokens stay here: the
//! access token in the session's client, the refresh token in the vault
//! (the OS keyring, or the 0600 file) under its own key. The access token is
//! refreshed before it expires, when a command next needs it; a refresh the
//! server refuses ends the sign-in (`session_expired`: the window asks the
//! person to sign in again and keeps its view). Signing out ends the session
//! on the server too.

use std::time::{Duration, Instant};

use gatehouse_client::Client;
use gatehouse_types::{
    ApiError, ChallengeMethod, ErrorCode, MfaRequest, PasswordSignInRequest, SignInStep,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::connect::{client_for, open, resolve, Resolved, Trust};
use crate::error::{from_client, local};
use crate::servers::normalize_url;
use crate::state::ConsoleState;
use crate::types::{SessionInfo, Verification};

/// Refresh this long before the access token expires
/// (`GATEHOUSE_CONSOLE_REFRESH_MARGIN_SECONDS` changes it: tests refresh at
/// every command).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

fn refresh_margin() -> Duration {
    std::env::var("GATEHOUSE_CONSOLE_REFRESH_MARGIN_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(REFRESH_MARGIN, Duration::from_secs)
}
const MAX_FIELD: usize = 1024;

/// A person's tokens, kept on this side only.
pub struct PersonTokens {
    pub refresh_token: String,
    pub expires_at: Instant,
    /// The OAuth client the tokens were issued to (`None`: `/v1/auth`).
    pub oauth_client: Option<String>,
    /// The server, without a token: refreshes go through it.
    pub anonymous: Client,
}

/// A sign-in waiting for its second factor.
pub struct PendingSignIn {
    url: String,
    trust: Trust,
    challenge_id: String,
}

/// The vault key of a person's refresh token for `url` (not the API token's).
pub fn person_key(url: &str) -> String {
    format!("{url}#person")
}

/// What a sign-in step came to, as the window sees it (the challenge id
/// stays here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignInOutcome {
    Connected {
        session: SessionInfo,
    },
    /// First contact: confirm the certificate's fingerprint, then sign in again.
    NeedsConfirmation {
        server_url: String,
        fingerprint: String,
    },
    /// A second factor is due, by one of `methods`.
    SecondFactor {
        methods: Vec<ChallengeMethod>,
        sent_to: Option<String>,
    },
}

fn field(name: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.len() > MAX_FIELD {
        return Err(local(
            ErrorCode::InvalidInput,
            format!("{name}: enter it (at most {MAX_FIELD} characters)"),
        ));
    }
    Ok(())
}

/// Email and password; signed in, or a second factor due.
pub async fn sign_in_password(
    state: &ConsoleState,
    url: &str,
    email: &str,
    password: &str,
    verification: Verification,
) -> Result<SignInOutcome, ApiError> {
    field("email", email)?;
    field("password", password)?;
    let url = normalize_url(url)?;
    let trust = match resolve(state, &url, verification).await? {
        Resolved::Trust(trust) => trust,
        Resolved::Confirm(crate::types::ConnectOutcome::NeedsConfirmation {
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
    let request = PasswordSignInRequest {
        email: email.trim().to_owned(),
        password: password.to_owned(),
    };
    let step = anonymous
        .sign_in_password(&request)
        .await
        .map_err(from_client)?;
    finish_step(state, url, trust, anonymous, step).await
}

/// The second factor of the pending sign-in (no code with `sms`: send it again).
pub async fn sign_in_second_factor(
    state: &ConsoleState,
    method: ChallengeMethod,
    code: Option<String>,
) -> Result<SignInOutcome, ApiError> {
    if let Some(code) = &code {
        field("code", code)?;
    }
    let pending = state.pending_sign_in.lock().await.take().ok_or_else(|| {
        local(
            ErrorCode::ChallengeExpired,
            "there is no sign-in waiting for a second factor: start again",
        )
    })?;
    let anonymous = client_for(state, &pending.url, &pending.trust, None)?;
    let request = MfaRequest {
        challenge_id: pending.challenge_id.clone(),
        method,
        code: code.map(|c| c.trim().to_owned()),
    };
    match anonymous.sign_in_second_factor(&request).await {
        Ok(step) => finish_step(state, pending.url, pending.trust, anonymous, step).await,
        Err(e) => {
            let error = from_client(e);
            // A wrong code leaves tries: the same challenge goes on.
            if error.code == ErrorCode::InvalidCode {
                *state.pending_sign_in.lock().await = Some(pending);
            }
            Err(error)
        }
    }
}

async fn finish_step(
    state: &ConsoleState,
    url: String,
    trust: Trust,
    anonymous: Client,
    step: SignInStep,
) -> Result<SignInOutcome, ApiError> {
    match step {
        SignInStep::ChallengeRequired(challenge) => {
            let outcome = SignInOutcome::SecondFactor {
                methods: challenge.methods.clone(),
                sent_to: challenge.sent_to.clone(),
            };
            *state.pending_sign_in.lock().await = Some(PendingSignIn {
                url,
                trust,
                challenge_id: challenge.challenge_id,
            });
            Ok(outcome)
        }
        SignInStep::SignedIn(signed_in) => {
            let tokens = PersonTokens {
                refresh_token: signed_in.refresh_token,
                expires_at: Instant::now() + Duration::from_secs(signed_in.expires_in),
                oauth_client: None,
                anonymous,
            };
            let session = open(state, &url, &signed_in.access_token, trust, Some(tokens)).await?;
            Ok(SignInOutcome::Connected { session })
        }
    }
}

/// Tokens from the browser sign-in, for `client_id`.
pub struct OAuthTokens<'a> {
    pub client_id: &'a str,
    pub access: &'a str,
    pub refresh: Option<String>,
    pub expires_in: u64,
}

/// Opens the session for tokens from the browser sign-in.
pub async fn open_oauth(
    state: &ConsoleState,
    url: &str,
    trust: Trust,
    anonymous: Client,
    tokens: OAuthTokens<'_>,
) -> Result<SessionInfo, ApiError> {
    let refresh = tokens.refresh.ok_or_else(|| {
        local(
            ErrorCode::BadServerResponse,
            "the server issued no refresh token to the console's client",
        )
    })?;
    let kept = PersonTokens {
        refresh_token: refresh,
        expires_at: Instant::now() + Duration::from_secs(tokens.expires_in),
        oauth_client: Some(tokens.client_id.to_owned()),
        anonymous,
    };
    open(state, url, tokens.access, trust, Some(kept)).await
}

/// The session's client, its person's access token refreshed first when it
/// is about to expire. A refused refresh ends the sign-in: `session_expired`.
pub async fn fresh_client(state: &ConsoleState) -> Result<Client, ApiError> {
    let mut guard = state.session.lock().await;
    let session = guard
        .as_mut()
        .ok_or_else(|| local(ErrorCode::NotConnected, "not connected to a server"))?;
    let Some(person) = session.person.as_mut() else {
        return Ok(session.client.clone());
    };
    if Instant::now() + refresh_margin() < person.expires_at {
        return Ok(session.client.clone());
    }
    let refreshed = match &person.oauth_client {
        None => person
            .anonymous
            .refresh_session(&person.refresh_token)
            .await
            .map(|r| (r.access_token, Some(r.refresh_token), r.expires_in)),
        Some(client_id) => person
            .anonymous
            .refresh_oauth(client_id, &person.refresh_token)
            .await
            .map(|r| (r.access_token, r.refresh_token, r.expires_in)),
    };
    match refreshed {
        Ok((access, refresh, expires_in)) => {
            if let Some(refresh) = refresh {
                state
                    .vault
                    .set(&person_key(&session.info.server_url), &refresh)?;
                person.refresh_token = refresh;
            }
            person.expires_at = Instant::now() + Duration::from_secs(expires_in);
            session.client = session.client.with_token(access);
            Ok(session.client.clone())
        }
        Err(e) if e.code() == Some(ErrorCode::InvalidToken) => {
            let url = session.info.server_url.clone();
            *guard = None;
            drop(guard);
            state.vault.delete(&person_key(&url))?;
            state.forget_session_data().await;
            Err(local(
                ErrorCode::SessionExpired,
                "your sign-in has ended (it expired or was ended on the server): sign in again",
            ))
        }
        Err(e) => Err(from_client(e)),
    }
}

/// Ends a person's session on the server (best effort: the local sign-out
/// happens whatever the server says) and forgets the refresh token.
pub async fn sign_out_person(
    state: &ConsoleState,
    url: &str,
    client: &Client,
    person: &PersonTokens,
) {
    let ended = match &person.oauth_client {
        None => client.sign_out_session().await,
        Some(client_id) => {
            person
                .anonymous
                .revoke_oauth(client_id, &person.refresh_token)
                .await
        }
    };
    if let Err(e) = ended {
        tracing::warn!(error = %e, "the server did not confirm the sign-out");
    }
    let _ = state.vault.delete(&person_key(url));
}
