//! `/v1/auth/…`: people signing in (ID-4), refreshing (TK-4) and signing out
//! (ID-9). Public routes: each authenticates by what it is given (a password,
//! a refresh token, the access token to end), never by the pipeline's bearer.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use gatehouse_identity::session::EndReason;
use gatehouse_types::{
    ChallengeResponse, DirectorySignInRequest, MfaRequest, OtpStartRequest, OtpVerifyRequest,
    PasswordSignInRequest, RefreshRequest, SignInResponse, SignInStep,
};

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::pipeline::{ApiJson, Audit};
use crate::sign_in::Via;
use crate::{challenges, sessions, sign_in};

/// `POST /v1/auth/password`: an access token and a refresh token, a
/// challenge for the second factor, or the one refusal.
pub async fn password(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(request): ApiJson<PasswordSignInRequest>,
) -> Result<Json<SignInStep>, ApiFailure> {
    Ok(Json(
        sign_in::with_password(&state, &audit, request, &Via::Api)
            .await?
            .into_api()?,
    ))
}

/// `POST /v1/auth/otp/start`: a code by email or SMS, and its challenge.
pub async fn otp_start(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(request): ApiJson<OtpStartRequest>,
) -> Result<Json<ChallengeResponse>, ApiFailure> {
    Ok(Json(
        challenges::start_otp(&state, &audit, request, &Via::Api).await?,
    ))
}

/// `POST /v1/auth/otp/verify`: the code; signed in, or a second factor due.
pub async fn otp_verify(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(request): ApiJson<OtpVerifyRequest>,
) -> Result<Json<SignInStep>, ApiFailure> {
    Ok(Json(
        challenges::verify_otp(&state, &audit, request, &Via::Api)
            .await?
            .into_api()?,
    ))
}

/// `POST /v1/auth/mfa`: the second factor.
pub async fn mfa(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(request): ApiJson<MfaRequest>,
) -> Result<Json<SignInStep>, ApiFailure> {
    Ok(Json(
        challenges::mfa(&state, &audit, request, &Via::Api)
            .await?
            .into_api()?,
    ))
}

/// `POST /v1/auth/refresh`: the next pair; a spent refresh token ends its
/// session.
pub async fn refresh(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<SignInResponse>, ApiFailure> {
    Ok(Json(
        sessions::refresh(
            &state,
            &audit,
            &request.refresh_token,
            sessions::FIRST_PARTY_CLIENT,
        )
        .await?,
    ))
}

/// `POST /v1/auth/logout` with the session's access token as the bearer:
/// ends the session; its tokens are refused everywhere within a second.
pub async fn logout(
    State(state): State<AppState>,
    audit: Audit,
    headers: HeaderMap,
) -> Result<StatusCode, ApiFailure> {
    let principal = state
        .auth
        .authenticate(&headers)
        .await
        .map_err(|refused| refused.failure)?;
    let grant = principal
        .user_grant()
        .ok_or_else(ApiFailure::invalid_token)?
        .clone();
    audit.resource("user", grant.user_id.clone());
    audit
        .commit_change(&state.audit, StatusCode::NO_CONTENT, |change| {
            let state = &state;
            async move {
                sessions::end(
                    state,
                    &grant.user_id,
                    std::slice::from_ref(&grant.session_id),
                    EndReason::Logout,
                    &change,
                )
                .await
            }
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/auth/directory`: a bind to the configured directory.
pub async fn directory(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(request): ApiJson<DirectorySignInRequest>,
) -> Result<Json<SignInStep>, ApiFailure> {
    Ok(Json(
        crate::directory::sign_in(&state, &audit, request, &Via::Api)
            .await?
            .into_api()?,
    ))
}
