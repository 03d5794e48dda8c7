//! Sessions (ID-9) and refresh tokens (TK-4): opened by a successful sign-in,
//! refreshed by rotating the refresh token (a spent one presented again ends
//! the session: whoever holds a copy is cut off with the thief), ended by
//! logout, by an administrator, or by a lock or disable of the user. An ended
//! session's access tokens are refused on every replica within a second (a
//! `session` event); a user cut off, all of theirs (a `user` event).

use gatehouse_identity::session::{
    decide_refresh, EndReason, RefreshDecision, RefreshToken, SessionEnd as DomainEnd,
    SessionState, StoredRefresh,
};
use gatehouse_store::{RefreshRow, SessionEnd, SessionRow, UserRow};
use gatehouse_tokens::{AccessClaims, SubjectKind};
use gatehouse_types::{ErrorCode, SessionResponse, SignInResponse};
use serde_json::json;

use crate::app::AppState;
use crate::clock::{from_micros, to_micros};
use crate::error::ApiFailure;
use crate::pipeline::{Audit, RecordChange, SystemChange};

const US: i64 = 1_000_000;

/// The client id of tokens Gatehouse issues to people signing in directly
/// (not through an OAuth client).
pub const FIRST_PARTY_CLIENT: &str = "gatehouse";

fn refresh_refused() -> ApiFailure {
    ApiFailure::new(
        ErrorCode::InvalidToken,
        "the refresh token is not valid: sign in again",
    )
}

pub fn to_response(row: &SessionRow) -> SessionResponse {
    SessionResponse {
        id: row.id.clone(),
        user_id: row.user_id.clone(),
        amr: serde_json::from_str(&row.amr).unwrap_or_default(),
        source_ip: row.source_ip.clone(),
        user_agent: row.user_agent.clone(),
        started_at: from_micros(row.created_at_us),
        last_seen_at: from_micros(row.last_seen_at_us),
        ended_at: row.ended_at_us.map(from_micros),
        end_reason: row.end_reason.clone(),
    }
}

/// Who a session's tokens are issued to, and what they may do.
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    pub client_id: &'a str,
    /// Space-separated; empty for the first-party client's tokens.
    pub scope: &'a str,
}

impl Audience<'static> {
    /// Signed in through `/v1/auth` directly.
    pub const FIRST_PARTY: Audience<'static> = Audience {
        client_id: FIRST_PARTY_CLIENT,
        scope: "",
    };
}

/// An access token for `user` in session `sid`.
fn access_token(
    state: &AppState,
    user: &UserRow,
    role: &str,
    sid: &str,
    audience: Audience<'_>,
    now_s: i64,
) -> Result<(String, u64), ApiFailure> {
    let ttl = state.tokens.access_ttl_seconds;
    let claims = AccessClaims {
        iss: state.tokens.issuer.clone(),
        sub: user.id.clone(),
        aud: state.tokens.audience.clone(),
        exp: now_s.saturating_add(ttl),
        nbf: now_s,
        iat: now_s,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: audience.client_id.into(),
        scope: audience.scope.into(),
        sub_kind: SubjectKind::User,
        name: user.display_name.clone(),
        role: Some(role.to_owned()),
        sid: Some(sid.to_owned()),
        user_type: Some(user.user_type.clone()),
    };
    let keys = state.auth.keys.current();
    let signer = keys.signer.as_ref().ok_or_else(|| {
        ApiFailure::new(
            ErrorCode::Unavailable,
            "no signing key is available; try again",
        )
    })?;
    let token = signer.issue(&claims).map_err(|e| {
        tracing::error!(error = %e, "cannot sign an access token");
        ApiFailure::internal()
    })?;
    Ok((token, u64::try_from(ttl).unwrap_or(0)))
}

/// The longest an access token of a session ended now can still be used.
fn event_horizon_us(state: &AppState, now_us: i64) -> i64 {
    let skew = state.auth.keys.current().verifier.skew();
    now_us.saturating_add(
        state
            .tokens
            .access_ttl_seconds
            .saturating_add(skew)
            .saturating_mul(US),
    )
}

/// What opening a session gave.
pub struct Opened {
    pub session_id: String,
    pub access_token: String,
    pub expires_in: u64,
    /// None for a client that may not refresh.
    pub refresh_token: Option<String>,
}

/// How a session opens.
pub struct Opening<'a> {
    pub user: &'a UserRow,
    pub role: &'a str,
    pub amr: &'a [&'a str],
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub audience: Audience<'a>,
    /// The id chosen beforehand (an authorization code names its session
    /// before it is exchanged), or a new one.
    pub session_id: Option<String>,
    pub with_refresh: bool,
}

/// Opens a session for `user` (the password checked), with its record.
pub async fn open(
    state: &AppState,
    user: &UserRow,
    role: &str,
    amr: &[&str],
    source_ip: &str,
    user_agent: &str,
    change: &dyn RecordChange,
) -> Result<SignInResponse, ApiFailure> {
    let opening = Opening {
        user,
        role,
        amr,
        source_ip,
        user_agent,
        audience: Audience::FIRST_PARTY,
        session_id: None,
        with_refresh: true,
    };
    let opened = open_with(state, &opening, change).await?;
    Ok(SignInResponse {
        access_token: opened.access_token,
        token_type: "Bearer".into(),
        expires_in: opened.expires_in,
        refresh_token: opened.refresh_token.unwrap_or_default(),
        session_id: opened.session_id,
        user_id: user.id.clone(),
    })
}

/// Opens a session as `opening` says, with its record.
pub async fn open_with(
    state: &AppState,
    opening: &Opening<'_>,
    change: &dyn RecordChange,
) -> Result<Opened, ApiFailure> {
    let user = opening.user;
    let now_us = to_micros(state.clock.now());
    let now_s = now_us / US;
    let rules = &state.identity.sessions;
    let session = SessionRow {
        id: opening
            .session_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        user_id: user.id.clone(),
        amr: serde_json::to_string(opening.amr).map_err(|_| ApiFailure::internal())?,
        source_ip: opening.source_ip.to_owned(),
        user_agent: opening.user_agent.chars().take(256).collect(),
        created_at_us: now_us,
        last_seen_at_us: now_us,
        ended_at_us: None,
        end_reason: None,
        client_id: opening.audience.client_id.to_owned(),
        scope: opening.audience.scope.to_owned(),
    };
    let (refresh, refresh_row) = if opening.with_refresh {
        let (refresh, hash) = RefreshToken::issue(&mut rand::rngs::OsRng);
        let row = RefreshRow {
            hash: hash.to_vec(),
            session_id: session.id.clone(),
            issued_at_us: now_us,
            expires_at_us: now_us.saturating_add(rules.refresh_seconds.saturating_mul(US)),
            spent_at_us: None,
        };
        (Some(refresh), Some(row))
    } else {
        (None, None)
    };
    let (access, expires_in) = access_token(
        state,
        user,
        opening.role,
        &session.id,
        opening.audience,
        now_s,
    )?;
    let others = rules.is_single_session.then(|| {
        (
            EndReason::Replaced.as_str(),
            now_us,
            event_horizon_us(state, now_us),
        )
    });
    let record = change.record(
        now_us,
        ("user", &user.id),
        None,
        Some(json!({
            "sid": session.id,
            "amr": opening.amr,
            "source_ip": opening.source_ip,
            "client_id": opening.audience.client_id,
        })),
    );
    let session_id = session.id.clone();
    let ended = state
        .session_writes
        .open(session, refresh_row, others, record)
        .await?;
    for sid in ended {
        state
            .auth
            .state
            .end_session(&sid, event_horizon_us(state, now_us) / US);
    }
    Ok(Opened {
        session_id,
        access_token: access,
        expires_in,
        refresh_token: refresh,
    })
}

/// Rotates a refresh token (TK-4). A spent one presented again ends its
/// session: the server's own change, recorded as such; the request's record
/// says it was refused and why.
pub async fn refresh(
    state: &AppState,
    audit: &Audit,
    presented: &str,
    client_id: &str,
) -> Result<SignInResponse, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let now_s = now_us / US;
    let rules = &state.identity.sessions;
    let hash = RefreshToken::hash_presented(presented).ok_or_else(refresh_refused)?;
    let stored = state.store.sessions().find_refresh(&hash).await?;
    let Some(stored) = stored else {
        audit.detail("refresh_outcome", json!("unknown"));
        return Err(refresh_refused());
    };
    let session = state
        .store
        .sessions()
        .find_session(&stored.session_id)
        .await?
        .ok_or_else(refresh_refused)?;
    audit.resource("user", session.user_id.clone());
    if session.client_id != client_id {
        // A refresh token is good only for the client it was issued to
        // (RFC 6749 §6): a third-party app's must not buy first-party tokens.
        audit.detail("refresh_outcome", json!("another_client"));
        return Err(refresh_refused());
    }
    let domain_state = SessionState {
        created_at: session.created_at_us / US,
        last_seen_at: session.last_seen_at_us / US,
        ended: match (session.ended_at_us, session.end_reason.as_deref()) {
            (Some(at), Some(reason)) => Some(DomainEnd {
                at: at / US,
                reason: EndReason::ALL
                    .into_iter()
                    .find(|r| r.as_str() == reason)
                    .unwrap_or(EndReason::Admin),
            }),
            _ => None,
        },
    };
    let domain_stored = StoredRefresh {
        family: stored.session_id.clone(),
        session_id: stored.session_id.clone(),
        issued_at: stored.issued_at_us / US,
        expires_at: stored.expires_at_us / US,
        spent_at: stored.spent_at_us.map(|t| t / US),
    };
    let expires_at = match decide_refresh(rules, Some(&domain_stored), &domain_state, now_s) {
        RefreshDecision::Rotate { expires_at } => expires_at,
        RefreshDecision::Reused => return reused(state, audit, &session).await,
        other => {
            audit.detail(
                "refresh_outcome",
                json!(format!("{other:?}").to_lowercase()),
            );
            return Err(refresh_refused());
        }
    };
    let user = state
        .store
        .users()
        .find(&session.user_id)
        .await?
        .filter(|u| u.status == "active" && u.locked_until_us.is_none_or(|t| t <= now_us))
        .ok_or_else(refresh_refused)?;
    let kind = crate::users::load_type(state.store.as_ref(), &user.user_type).await?;
    let role = kind.role.clone().unwrap_or_else(|| "user".into());
    let (token, next_hash) = RefreshToken::issue(&mut rand::rngs::OsRng);
    let next = RefreshRow {
        hash: next_hash.to_vec(),
        session_id: session.id.clone(),
        issued_at_us: now_us,
        expires_at_us: expires_at.saturating_mul(US),
        spent_at_us: None,
    };
    let audience = Audience {
        client_id: &session.client_id,
        scope: &session.scope,
    };
    let (access, expires_in) = access_token(state, &user, &role, &session.id, audience, now_s)?;
    let lost = std::sync::atomic::AtomicBool::new(false);
    let rotated = audit
        .commit_change(&state.audit, http::StatusCode::OK, |change| {
            let (hash, next, lost, session) = (&hash, &next, &lost, &session);
            async move {
                let record = change.record(
                    now_us,
                    ("user", &session.user_id),
                    None,
                    Some(json!({"sid": session.id, "rotated": true})),
                );
                let is_rotated = state.session_writes.rotate(hash, next, record).await?;
                if !is_rotated {
                    lost.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Err(refresh_refused());
                }
                Ok(())
            }
        })
        .await;
    if lost.load(std::sync::atomic::Ordering::Relaxed) {
        // Spent between the read and the write: a second use.
        return reused(state, audit, &session).await;
    }
    rotated?;
    Ok(SignInResponse {
        access_token: access,
        token_type: "Bearer".into(),
        expires_in,
        refresh_token: token,
        session_id: session.id,
        user_id: user.id,
    })
}

/// A spent refresh token came back: its whole family (the session) ends.
async fn reused(
    state: &AppState,
    audit: &Audit,
    session: &SessionRow,
) -> Result<SignInResponse, ApiFailure> {
    audit.detail("refresh_outcome", json!("reused"));
    let change = SystemChange {
        actor_kind: "system",
        actor_id: "refresh reuse detection".into(),
        actor_name: "gatehouse".into(),
        action: "users.sessions.end",
        sealer: state.audit.shared_sealer(),
    };
    let ended = end(
        state,
        &session.user_id,
        std::slice::from_ref(&session.id),
        EndReason::RefreshReuse,
        &change,
    )
    .await?;
    state.audit.notify_appended();
    audit.detail("ended_sids", json!(ended));
    Err(refresh_refused())
}

/// Ends `ids` (sessions of `user_id`) for `reason`, with the record; their
/// tokens are refused here at once and everywhere within a second.
pub async fn end(
    state: &AppState,
    user_id: &str,
    ids: &[String],
    reason: EndReason,
    change: &dyn RecordChange,
) -> Result<Vec<String>, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let horizon = event_horizon_us(state, now_us);
    let end = SessionEnd {
        reason: reason.as_str(),
        at_us: now_us,
        event_not_after_us: horizon,
    };
    let record = change.record(
        now_us,
        ("user", user_id),
        None,
        Some(json!({"ended": ids, "reason": reason.as_str()})),
    );
    let ended = state
        .store
        .sessions()
        .end_sessions(ids, &end, &record, change.sealer())
        .await?;
    for sid in &ended {
        state.auth.state.end_session(sid, horizon / US);
    }
    Ok(ended)
}

/// Ends every session of `user_id` and cuts off every token issued to them
/// until now (a lock, a disable, an administrator's "end all").
pub async fn end_all(
    state: &AppState,
    user_id: &str,
    reason: EndReason,
    change: &dyn RecordChange,
) -> Result<Vec<String>, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let horizon = event_horizon_us(state, now_us);
    let end = SessionEnd {
        reason: reason.as_str(),
        at_us: now_us,
        event_not_after_us: horizon,
    };
    let record = change.record(
        now_us,
        ("user", user_id),
        None,
        Some(json!({"ended": "all", "reason": reason.as_str()})),
    );
    let ended = state
        .store
        .sessions()
        .end_user_sessions(user_id, &end, &record, change.sealer())
        .await?;
    for sid in &ended {
        state.auth.state.end_session(sid, horizon / US);
    }
    state.auth.state.cut_user(user_id, now_us);
    Ok(ended)
}

/// Sets `user_id`'s password (an administrator's reset, or the operator's):
/// checked against the rules (15 characters when it is the user's only
/// factor), hashed with Argon2id, stored; every session of the user ends and
/// every token issued to them until now is refused (ID-9).
pub async fn set_password(
    state: &AppState,
    user_id: &str,
    password: &str,
    change: &dyn RecordChange,
) -> Result<(), ApiFailure> {
    let user = state
        .store
        .users()
        .find(user_id)
        .await?
        .ok_or_else(|| ApiFailure::not_found("user"))?;
    let kind = crate::users::load_type(state.store.as_ref(), &user.user_type).await?;
    let is_only_factor = kind.second_factor == gatehouse_types::SecondFactor::Optional
        && !kind
            .sign_in
            .contains(&gatehouse_types::SignInMethod::PasswordAndPhoneCode);
    let context: Vec<&str> = [Some(user.display_name.as_str()), user.email.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    state
        .identity
        .passwords
        .check(password, &context, is_only_factor)
        .map_err(|e| ApiFailure::new(ErrorCode::ValidationFailed, format!("password: {e}")))?;
    let phc = state
        .identity
        .hasher
        .hash(password.to_owned(), &mut rand::rngs::OsRng)
        .await
        .map_err(|_| ApiFailure::internal())?;
    let now_us = to_micros(state.clock.now());
    let row = gatehouse_store::CredentialRow {
        user_id: user.id.clone(),
        kind: "password".into(),
        secret: phc.into_bytes(),
        last_step: None,
        is_confirmed: true,
        created_at_us: now_us,
        updated_at_us: now_us,
    };
    let horizon = event_horizon_us(state, now_us);
    let record = change.record(
        now_us,
        ("user", &user.id),
        None,
        Some(json!({"factor": "pwd", "is_set": true})),
    );
    state
        .store
        .credentials()
        .put_credential(&row, Some((now_us, horizon)), &record, change.sealer())
        .await?;
    state.auth.state.cut_user(&user.id, now_us);
    Ok(())
}
