//! The API describes itself: an OpenAPI 3.1 document generated from the code
//! (utoipa), served at `GET /v1/openapi.json` and committed as `docs/openapi.json`.
//!
//! Each route of [`crate::routes::build`] is declared here as a `#[utoipa::path]`
//! stub (never called: only its attribute is read), with the wire types of
//! `gatehouse-types` as its bodies. The error responses every operation shares
//! (the one shape, [`ApiError`]) and the bearer scheme are added by [`Shared`].
//! Tests hold the document to the route table, and the committed file to the
//! document.

mod core;
mod errors;
mod gateway;
mod oauth;
mod params;
mod policies;
mod records;
mod sign_in;
#[cfg(test)]
mod tests;
mod users;

use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use gatehouse_types::ApiError;
use http::{header, HeaderValue};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ApiFailure;

/// The name of the security scheme private operations require.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse API",
        description = "Gatehouse's HTTPS API (TLS 1.3 only). Every route but `/healthz`, the OAuth endpoints and discovery needs a bearer credential (an API token, or an OAuth access token) that the policies, and an access token's scopes, permit the route's action; every error is an `ApiError` in the one shape, and every response carries its `x-request-id`.",
    ),
    paths(
        core::healthz,
        core::server_info,
        core::openapi_document,
        core::list_api_tokens,
        core::create_api_token,
        core::revoke_api_token,
        records::ingest_audit_events,
        records::search_audit,
        records::export_audit,
        records::verify_audit,
        records::stream_audit,
        records::list_blocked,
        records::summarize_blocked,
        policies::active_policies,
        policies::policy_schema,
        policies::validate_policies,
        policies::list_policy_versions,
        policies::create_policy_version,
        policies::policy_version,
        policies::diff_policy_versions,
        policies::rollback_policies,
        policies::simulate_policies,
        policies::policy_matrix,
        policies::authorize,
        oauth::list_clients,
        oauth::create_client,
        oauth::read_client,
        oauth::update_client,
        oauth::disable_client,
        oauth::rotate_client_secret,
        users::list_users,
        users::create_user,
        users::read_user,
        users::update_user,
        users::disable_user,
        users::lock_user,
        users::unlock_user,
        users::set_user_password,
        users::list_user_sessions,
        users::list_user_factors,
        users::export_users,
        users::export_user_sessions,
        users::end_user_sessions,
        users::end_session,
        users::sign_in_with_password,
        users::refresh,
        users::logout,
        users::list_user_types,
        users::put_user_type,
        users::list_registration_flows,
        users::put_registration_flow,
        sign_in::otp_start,
        sign_in::otp_verify,
        sign_in::mfa,
        sign_in::directory,
        sign_in::sign_up,
        sign_in::sign_up_verify,
        sign_in::sms_status,
        sign_in::approve_user,
        sign_in::reject_user,
        sign_in::read_me,
        sign_in::list_my_sessions,
        sign_in::end_my_sessions,
        sign_in::list_my_factors,
        sign_in::enrol_totp,
        sign_in::confirm_totp,
        sign_in::remove_totp,
        sign_in::change_my_password,
        sign_in::outbox,
        oauth::list_keys,
        oauth::rotate_keys,
        oauth::authorize,
        oauth::authorize_step,
        oauth::token,
        oauth::revoke,
        oauth::userinfo,
        oauth::introspect,
        oauth::oauth_metadata,
        oauth::openid_configuration,
        oauth::jwks,
        gateway::read_gateway,
        gateway::update_waf,
        gateway::list_flagged_sources,
        gateway::unflag_source,
        gateway::explain_blocked,
    ),
    components(schemas(ApiError)),
    modifiers(&Shared),
    tags(
        (name = "server", description = "Health, the server's identity and this document"),
        (name = "api-tokens", description = "API tokens: minted once, listed without secrets, revoked"),
        (name = "audit", description = "The hash-chained audit trail (AU-1 to AU-9)"),
        (name = "blocked", description = "Requests the pipeline refused (GW-6)"),
        (name = "policies", description = "Versioned Cedar policies, simulation, the permissions matrix (AZ-1 to AZ-9)"),
        (name = "decisions", description = "Authorization decisions for services"),
        (name = "clients", description = "OAuth clients: machine identities with scopes (ID-10)"),
        (name = "sign-in", description = "People signing in, refreshing and signing out (ID-4, ID-7, ID-9, TK-4)"),
        (name = "users", description = "Users, user types and registration flows (ID-1 to ID-3)"),
        (name = "sign-up", description = "Signing up: the one public route that creates users, and its proofs (ID-1, ID-2)"),
        (name = "me", description = "A signed-in person's own profile, sessions, factors and password; the development outbox"),
        (name = "keys", description = "Token signing keys: published, rotated, retired (TK-2)"),
        (name = "gateway", description = "The gateway in front of the services: its inventory, WAF and honeypots (GW-1 to GW-10)"),
        (name = "oauth", description = "OAuth 2.0: the token, revocation and introspection endpoints, discovery and the key set (TK-1 to TK-5)"),
    )
)]
pub struct ApiDoc;

/// What every operation shares: the bearer scheme, and the error responses.
struct Shared;

impl Modify for Shared {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.security_schemes.insert(
            BEARER.to_owned(),
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`gh_...`; `gatehouse init` prints the first one), or an access token from `/oauth2/token`.",
                    ))
                    .build(),
            ),
        );
        errors::add(api);
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as committed in `docs/openapi.json` and served.
pub fn document_json() -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&document()).map(|mut text| {
        text.push('\n');
        text
    })
}

static DOCUMENT: LazyLock<Option<String>> = LazyLock::new(|| match document_json() {
    Ok(text) => Some(text),
    Err(e) => {
        tracing::error!(error = %e, "the OpenAPI document does not serialise");
        None
    }
});

/// `GET /v1/openapi.json`: this document.
pub async fn serve() -> Result<Response, ApiFailure> {
    let text = DOCUMENT.as_ref().ok_or_else(ApiFailure::internal)?;
    let mut response = text.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
