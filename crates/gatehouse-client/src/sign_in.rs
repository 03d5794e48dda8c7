//! A person signing in (CO-1): through the identity API (password, then a
//! second factor), or as a native app through OAuth 2.0's code grant with
//! PKCE (the code exchanged, refreshed and revoked here; the browser part is
//! the caller's). The tokens are returned to the caller, never logged.

use gatehouse_types::{
    ApiError, ErrorCode, MfaRequest, PasswordSignInRequest, RefreshRequest, SignInResponse,
    SignInStep, TokenResponse,
};
use reqwest::Method;
use serde::Deserialize;

use crate::{read_limited, Client, ClientError};

/// RFC 6749 §5.2's error, as the OAuth endpoints answer it.
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl Client {
    /// `POST /v1/auth/password`: signed in, or a second factor due.
    pub async fn sign_in_password(
        &self,
        request: &PasswordSignInRequest,
    ) -> Result<SignInStep, ClientError> {
        self.call(Method::POST, "/v1/auth/password", Some(request))
            .await
    }

    /// `POST /v1/auth/mfa`: the second factor (no code with `sms`: send it again).
    pub async fn sign_in_second_factor(
        &self,
        request: &MfaRequest,
    ) -> Result<SignInStep, ClientError> {
        self.call(Method::POST, "/v1/auth/mfa", Some(request)).await
    }

    /// `POST /v1/auth/refresh`: the next pair (the one presented is spent).
    pub async fn refresh_session(
        &self,
        refresh_token: &str,
    ) -> Result<SignInResponse, ClientError> {
        let body = RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        };
        self.call(Method::POST, "/v1/auth/refresh", Some(&body))
            .await
    }

    /// `POST /v1/auth/logout` with this client's (a person's) token: the
    /// session ends everywhere.
    pub async fn sign_out_session(&self) -> Result<(), ClientError> {
        let builder = self.request(Method::POST, "/v1/auth/logout")?;
        let response = builder.send().await.map_err(|e| self.transport(e))?;
        self.succeeded(response).await.map(|_| ())
    }

    /// `POST /oauth2/token` with `grant_type=authorization_code` for a public
    /// client: the code, its redirect URI and the PKCE verifier.
    pub async fn exchange_code(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<TokenResponse, ClientError> {
        self.oauth_form(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// `POST /oauth2/token` with `grant_type=refresh_token` for a public client.
    pub async fn refresh_oauth(
        &self,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<TokenResponse, ClientError> {
        self.oauth_form(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", client_id),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// `POST /oauth2/revoke` (RFC 7009) for a public client: a refresh token's
    /// revocation ends its session.
    pub async fn revoke_oauth(&self, client_id: &str, token: &str) -> Result<(), ClientError> {
        let builder = self
            .anonymous(Method::POST, "/oauth2/revoke")?
            .form(&[("client_id", client_id), ("token", token)]);
        let response = builder.send().await.map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let bytes = read_limited(response)
            .await
            .map_err(|e| self.transport(e))?;
        Err(oauth_error(status, &bytes))
    }

    async fn oauth_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, ClientError> {
        let builder = self.anonymous(Method::POST, path)?.form(form);
        let response = builder.send().await.map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        let bytes = read_limited(response)
            .await
            .map_err(|e| self.transport(e))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::UnexpectedResponse {
                status,
                detail: format!("not a token response: {e}"),
            });
        }
        Err(oauth_error(status, &bytes))
    }
}

/// An OAuth error as the one shape: a refused grant is an invalid token.
fn oauth_error(status: u16, bytes: &[u8]) -> ClientError {
    let Ok(e) = serde_json::from_slice::<OAuthError>(bytes) else {
        return ClientError::UnexpectedResponse {
            status,
            detail: "not an OAuth error response".into(),
        };
    };
    let code = match e.error.as_str() {
        "invalid_grant" | "invalid_client" => ErrorCode::InvalidToken,
        "temporarily_unavailable" => ErrorCode::Unavailable,
        "server_error" => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    let message = e
        .error_description
        .map_or_else(|| e.error.clone(), |d| format!("{}: {d}", e.error));
    ClientError::Api {
        status,
        error: ApiError {
            code,
            message,
            request_id: String::new(),
        },
    }
}
