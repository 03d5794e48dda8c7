//! The route table: every route is registered with the access it needs, and the
//! pipeline's guard looks each request up here. Registering a handler without an
//! access rule is not possible through [`Routes`].

mod api_tokens;
mod audit;
mod auth;
mod blocked;
mod clients;
mod gateway;
mod health;
mod keys;
mod me;
mod messaging;
mod policies;
mod server_info;
mod sign_up;
mod users;

pub(crate) use audit::{parse_cursor, parse_time};

use axum::handler::Handler;
use axum::routing::{on, MethodFilter};
use axum::Router;
use http::Method;

use crate::app::AppState;
use crate::authz::Action;
use crate::oauth;

/// What a route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential (DESIGN.md's short list: health, sign-up, sign-in, discovery);
    /// the name is the action its audit records carry.
    Public(&'static str),
    /// An authenticated caller whom the authorizer permits this action.
    Private(Action),
}

#[derive(Debug, Clone)]
pub struct RouteEntry {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

pub enum Lookup {
    Found(Access),
    OtherMethods(Vec<String>),
    Unknown,
}

/// Every route the server serves, with its access rule.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    entries: Vec<RouteEntry>,
}

impl RouteTable {
    pub fn entries(&self) -> &[RouteEntry] {
        &self.entries
    }

    pub fn lookup(&self, method: &Method, path: &str) -> Lookup {
        let mut others = Vec::new();
        for entry in self.entries.iter().filter(|e| e.path == path) {
            if entry.method == *method {
                return Lookup::Found(entry.access);
            }
            others.push(entry.method.to_string());
        }
        if others.is_empty() {
            Lookup::Unknown
        } else {
            Lookup::OtherMethods(others)
        }
    }
}

struct Routes {
    router: Router<AppState>,
    table: RouteTable,
}

impl Routes {
    fn add<H, T>(mut self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        self.router = self.router.route(path, on(filter, handler));
        self.table.entries.push(RouteEntry {
            method,
            path,
            access,
        });
        self
    }

    fn public<H: Handler<T, AppState>, T: 'static>(
        self,
        m: Method,
        p: &'static str,
        name: &'static str,
        h: H,
    ) -> Self {
        self.add(m, p, Access::Public(name), h)
    }

    fn private<H, T>(self, m: Method, p: &'static str, action: Action, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(m, p, Access::Private(action), h)
    }
}

/// All routes, and the table the guard enforces.
pub fn build() -> (Router<AppState>, RouteTable) {
    let routes = Routes {
        router: Router::new(),
        table: RouteTable::default(),
    }
    .public(Method::GET, "/healthz", "health.read", health::healthz)
    .private(
        Method::GET,
        "/v1/server",
        Action::ReadServer,
        server_info::show,
    )
    .private(
        Method::GET,
        "/v1/openapi.json",
        Action::DescribeApi,
        crate::openapi::serve,
    )
    .private(
        Method::GET,
        "/v1/api-tokens",
        Action::ListApiTokens,
        api_tokens::list,
    )
    .private(
        Method::POST,
        "/v1/api-tokens",
        Action::CreateApiToken,
        api_tokens::create,
    )
    .private(
        Method::DELETE,
        "/v1/api-tokens/{id}",
        Action::RevokeApiToken,
        api_tokens::revoke,
    )
    .private(
        Method::POST,
        "/v1/audit/events",
        Action::IngestAuditEvents,
        audit::ingest,
    )
    .private(
        Method::GET,
        "/v1/audit/events",
        Action::SearchAudit,
        audit::search,
    )
    .private(
        Method::GET,
        "/v1/audit/export",
        Action::ExportAudit,
        audit::export,
    )
    .private(
        Method::GET,
        "/v1/audit/verify",
        Action::VerifyAudit,
        audit::verify,
    )
    .private(
        Method::GET,
        "/v1/audit/stream",
        Action::StreamAudit,
        audit::stream,
    )
    .private(
        Method::GET,
        "/v1/policies",
        Action::ReadPolicies,
        policies::active,
    )
    .private(
        Method::GET,
        "/v1/policies/schema",
        Action::ReadPolicySchema,
        policies::schema,
    )
    .private(
        Method::POST,
        "/v1/policies/validate",
        Action::ValidatePolicies,
        policies::validate,
    )
    .private(
        Method::GET,
        "/v1/policies/versions",
        Action::ListPolicyVersions,
        policies::versions,
    )
    .private(
        Method::POST,
        "/v1/policies/versions",
        Action::CreatePolicyVersion,
        policies::create_version,
    )
    .private(
        Method::GET,
        "/v1/policies/versions/{n}",
        Action::ReadPolicyVersion,
        policies::version,
    )
    .private(
        Method::GET,
        "/v1/policies/diff",
        Action::DiffPolicyVersions,
        policies::diff,
    )
    .private(
        Method::POST,
        "/v1/policies/rollback",
        Action::RollbackPolicies,
        policies::rollback,
    )
    .private(
        Method::POST,
        "/v1/policies/simulate",
        Action::SimulatePolicies,
        policies::simulate,
    )
    .private(
        Method::GET,
        "/v1/policies/matrix",
        Action::ReadPolicyMatrix,
        policies::matrix,
    )
    .private(
        Method::POST,
        "/v1/authorize",
        Action::Authorize,
        policies::authorize,
    )
    .private(
        Method::GET,
        "/v1/blocked",
        Action::ListBlocked,
        blocked::list,
    )
    .private(
        Method::GET,
        "/v1/blocked/summary",
        Action::SummarizeBlocked,
        blocked::summary,
    )
    .private(
        Method::GET,
        "/v1/clients",
        Action::ListClients,
        clients::list,
    )
    .private(
        Method::POST,
        "/v1/clients",
        Action::CreateClient,
        clients::create,
    )
    .private(
        Method::GET,
        "/v1/clients/{id}",
        Action::ReadClient,
        clients::read,
    )
    .private(
        Method::PATCH,
        "/v1/clients/{id}",
        Action::UpdateClient,
        clients::update,
    )
    .private(
        Method::DELETE,
        "/v1/clients/{id}",
        Action::DisableClient,
        clients::disable,
    )
    .private(
        Method::POST,
        "/v1/clients/{id}/secret",
        Action::RotateClientSecret,
        clients::rotate_secret,
    )
    .private(Method::GET, "/v1/users", Action::ListUsers, users::list)
    .private(Method::POST, "/v1/users", Action::CreateUser, users::create)
    .private(
        Method::GET,
        "/v1/users/export",
        Action::ExportUsers,
        users::export,
    )
    .private(Method::GET, "/v1/users/{id}", Action::ReadUser, users::read)
    .private(
        Method::PATCH,
        "/v1/users/{id}",
        Action::UpdateUser,
        users::update,
    )
    .private(
        Method::DELETE,
        "/v1/users/{id}",
        Action::DisableUser,
        users::disable,
    )
    .private(
        Method::POST,
        "/v1/users/{id}/lock",
        Action::LockUser,
        users::lock,
    )
    .private(
        Method::DELETE,
        "/v1/users/{id}/lock",
        Action::UnlockUser,
        users::unlock,
    )
    .private(
        Method::GET,
        "/v1/users/{id}/sessions",
        Action::ListUserSessions,
        users::list_sessions,
    )
    .private(
        Method::GET,
        "/v1/users/{id}/factors",
        Action::ListUserFactors,
        users::list_factors,
    )
    .private(
        Method::GET,
        "/v1/users/{id}/sessions/export",
        Action::ExportUserSessions,
        users::export_sessions,
    )
    .private(
        Method::DELETE,
        "/v1/users/{id}/sessions",
        Action::EndUserSessions,
        users::end_sessions,
    )
    .private(
        Method::POST,
        "/v1/users/{id}/password",
        Action::SetUserPassword,
        users::set_password,
    )
    .private(
        Method::DELETE,
        "/v1/sessions/{id}",
        Action::EndSession,
        users::end_session,
    )
    .public(
        Method::POST,
        "/v1/auth/password",
        "auth.password",
        auth::password,
    )
    .public(
        Method::POST,
        "/v1/auth/refresh",
        "auth.refresh",
        auth::refresh,
    )
    .public(Method::POST, "/v1/auth/logout", "auth.logout", auth::logout)
    .public(
        Method::POST,
        "/v1/auth/otp/start",
        "auth.otp_start",
        auth::otp_start,
    )
    .public(
        Method::POST,
        "/v1/auth/otp/verify",
        "auth.otp_verify",
        auth::otp_verify,
    )
    .public(Method::POST, "/v1/auth/mfa", "auth.mfa", auth::mfa)
    .public(
        Method::POST,
        "/v1/auth/directory",
        "auth.directory",
        auth::directory,
    )
    .public(Method::POST, "/v1/signup", "signup.start", sign_up::start)
    .public(
        Method::POST,
        "/v1/signup/{id}/verify",
        "signup.verify",
        sign_up::verify,
    )
    .public(
        Method::POST,
        "/v1/messaging/sms-status",
        "messaging.sms_status",
        messaging::sms_status,
    )
    .private(Method::GET, "/v1/me", Action::ReadMe, me::read)
    .private(Method::GET, "/v1/outbox", Action::ListOutbox, me::outbox)
    .private(
        Method::GET,
        "/v1/gateway/routes",
        Action::ReadGateway,
        gateway::read,
    )
    .private(
        Method::PUT,
        "/v1/gateway/waf",
        Action::UpdateWaf,
        gateway::update_waf,
    )
    .private(
        Method::GET,
        "/v1/gateway/sources",
        Action::ListFlaggedSources,
        gateway::sources,
    )
    .private(
        Method::DELETE,
        "/v1/gateway/sources",
        Action::UnflagSource,
        gateway::unflag,
    )
    .private(
        Method::GET,
        "/v1/blocked/{request_id}/why",
        Action::ExplainBlocked,
        gateway::why,
    )
    .private(
        Method::GET,
        "/v1/me/sessions",
        Action::ListMySessions,
        me::list_sessions,
    )
    .private(
        Method::DELETE,
        "/v1/me/sessions",
        Action::EndMySessions,
        me::end_sessions,
    )
    .private(
        Method::GET,
        "/v1/me/factors",
        Action::ListMyFactors,
        me::list_factors,
    )
    .private(
        Method::POST,
        "/v1/me/factors/totp",
        Action::EnrolMyFactor,
        me::enrol_totp,
    )
    .private(
        Method::POST,
        "/v1/me/factors/totp/confirm",
        Action::ConfirmMyFactor,
        me::confirm_totp,
    )
    .private(
        Method::DELETE,
        "/v1/me/factors/totp",
        Action::RemoveMyFactor,
        me::remove_totp,
    )
    .private(
        Method::POST,
        "/v1/me/password",
        Action::ChangeMyPassword,
        me::change_password,
    )
    .private(
        Method::POST,
        "/v1/users/{id}/approve",
        Action::ApproveUser,
        users::approve,
    )
    .private(
        Method::POST,
        "/v1/users/{id}/reject",
        Action::RejectUser,
        users::reject,
    )
    .private(
        Method::GET,
        "/v1/user-types",
        Action::ListUserTypes,
        users::list_types,
    )
    .private(
        Method::PUT,
        "/v1/user-types/{name}",
        Action::PutUserType,
        users::put_type,
    )
    .private(
        Method::GET,
        "/v1/registration-flows",
        Action::ListRegistrationFlows,
        users::list_flows,
    )
    .private(
        Method::PUT,
        "/v1/registration-flows/{user_type}",
        Action::PutRegistrationFlow,
        users::put_flow,
    )
    .private(Method::GET, "/v1/keys", Action::ListKeys, keys::list)
    .private(
        Method::POST,
        "/v1/keys/rotate",
        Action::RotateKeys,
        keys::rotate,
    )
    // OAuth 2.0: callers authenticate with client credentials, not a bearer;
    // the authorization endpoint is a person's browser signing in.
    .public(
        Method::GET,
        "/oauth2/authorize",
        "oauth2.authorize",
        oauth::authorize::authorize,
    )
    .public(
        Method::POST,
        "/oauth2/authorize",
        "oauth2.authorize_step",
        oauth::authorize::step,
    )
    .public(
        Method::POST,
        "/oauth2/token",
        "oauth2.token",
        oauth::token::token,
    )
    .public(
        Method::POST,
        "/oauth2/revoke",
        "oauth2.revoke",
        oauth::revoke::revoke,
    )
    .public(
        Method::POST,
        "/oauth2/introspect",
        "oauth2.introspect",
        oauth::introspect::introspect,
    )
    .private(
        Method::GET,
        "/oauth2/userinfo",
        Action::ReadUserInfo,
        oauth::userinfo::userinfo,
    )
    .public(
        Method::GET,
        "/.well-known/oauth-authorization-server",
        "discovery.read",
        oauth::discovery::server_metadata,
    )
    .public(
        Method::GET,
        "/.well-known/openid-configuration",
        "discovery.read",
        oauth::discovery::server_metadata,
    )
    .public(
        Method::GET,
        "/.well-known/jwks.json",
        "discovery.jwks",
        oauth::discovery::jwks,
    );
    (routes.router, routes.table)
}
