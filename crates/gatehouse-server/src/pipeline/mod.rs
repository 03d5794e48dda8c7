//! The request pipeline every route goes through, in this order:
//!
//! 1. [`finalize`] (outermost): handles the request on a task of its own (a
//!    client that resets its stream cannot cut the record off), assigns the request
//!    id, refuses a source past its limit of requests without a valid credential
//!    ([`throttle`]: 429, recorded once per window), refuses bodies over the limit
//!    by their declared length, adds the security headers, and renders every error,
//!    wherever it arose, into the one error shape.
//! 2. [`guard`] (on every matched route): looks the route up in the route table,
//!    authenticates the caller, parses the item the path names into its canonical
//!    form and describes it from the store ([`target`]), and asks the policies
//!    about exactly that; a route missing from the table is refused (deny by
//!    default), and so is a call a policy errored on.
//! 3. [`limit`] (inside the guard): a heavy route (search, export, verification,
//!    the blocked log, the permissions matrix) serves a bounded number of
//!    requests at once; beyond that, a short wait, then 503 with `Retry-After`.
//! 4. The handler, which reads the caller through the [`Caller`] extractor.
//! 5. Back in [`finalize`]: the request's audit record and, if the request was
//!    refused, its blocked-request entry ([`record`]). A response whose record
//!    cannot be written becomes `unavailable`: nothing is answered unrecorded.
//!
//! The stages are layers on the whole router, so no route can skip them.

mod change;
mod extract;
mod finalize;
mod guard;
mod limit;
mod record;
mod target;
mod throttle;

pub use change::{ChangeRecord, RecordChange, SystemChange};
pub use extract::{
    ApiJson, ApiPath, ApiQuery, Caller, PathClient, PathRequest, PathSession, PathToken, PathUser,
    PathUserType, PathVersion,
};
pub use finalize::finalize;
pub use guard::guard;
pub use limit::{limit, RouteLimits};
pub use record::{Audit, AuditNote, AuditSlot, RequestFacts, UNKNOWN_ROUTE};
pub use throttle::SourceLimiter;

use gatehouse_types::{ApiTokenId, Role};

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub kind: PrincipalKind,
}

/// The credential the caller presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An opaque API token.
    ApiToken(ApiTokenId),
    /// An OAuth client's access token (a JWT), as verified.
    Client(Box<ClientGrant>),
    /// A person's access token (a JWT), as verified, with the user as stored.
    User(Box<UserGrant>),
}

/// What a person's access token says, and the user it names as read when the
/// request began (status and attributes are the store's, not the token's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGrant {
    pub user_id: String,
    pub session_id: String,
    /// The scopes a client's token for the person is limited to; `None` for
    /// Gatehouse's own (signed in through `/v1/auth`), which the policies
    /// alone limit.
    pub scopes: Option<Vec<String>>,
    pub jti: String,
    pub user_type: String,
    /// The `User` entity's attributes, for the policies.
    pub attributes: Vec<(&'static str, gatehouse_authz::AttrValue)>,
    /// Unix seconds.
    pub issued_at: i64,
    pub expires_at: i64,
}

/// What an access token says of the client calling with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientGrant {
    pub client_id: String,
    pub jti: String,
    /// The token's scopes: the most it may do, whatever the policies allow.
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub issued_at: i64,
    pub expires_at: i64,
}

impl Principal {
    /// The id audit records and limits know the caller by: the API token's id
    /// or the client's.
    pub fn id(&self) -> String {
        match &self.kind {
            PrincipalKind::ApiToken(id) => id.to_string(),
            PrincipalKind::Client(grant) => grant.client_id.clone(),
            PrincipalKind::User(grant) => grant.user_id.clone(),
        }
    }

    /// The audit record's actor kind.
    pub fn actor_kind(&self) -> &'static str {
        match (&self.kind, self.role) {
            (PrincipalKind::User(_), _) => "user",
            (PrincipalKind::Client(_), _) => "client",
            (PrincipalKind::ApiToken(_), Role::Service) => "service",
            (PrincipalKind::ApiToken(_), _) => "api_token",
        }
    }

    pub fn api_token_id(&self) -> Option<ApiTokenId> {
        match &self.kind {
            PrincipalKind::ApiToken(id) => Some(*id),
            PrincipalKind::Client(_) | PrincipalKind::User(_) => None,
        }
    }

    pub fn client_grant(&self) -> Option<&ClientGrant> {
        match &self.kind {
            PrincipalKind::Client(grant) => Some(grant),
            PrincipalKind::ApiToken(_) | PrincipalKind::User(_) => None,
        }
    }

    pub fn user_grant(&self) -> Option<&UserGrant> {
        match &self.kind {
            PrincipalKind::User(grant) => Some(grant),
            PrincipalKind::ApiToken(_) | PrincipalKind::Client(_) => None,
        }
    }

    /// Whether the caller's credential covers `action`: an API token's role
    /// is all it carries, a client's access token also its scopes; a person
    /// does what the policies allow.
    pub fn has_scope_for(&self, action: crate::authz::Action) -> bool {
        let covers = |scopes: &[String]| {
            scopes.iter().any(|s| {
                s == action.scope()
                    // OpenID Connect's userinfo is what `openid` is for.
                    || (action == crate::authz::Action::ReadUserInfo && s == "openid")
            })
        };
        match &self.kind {
            PrincipalKind::Client(grant) => covers(&grant.scopes),
            PrincipalKind::User(grant) => grant.scopes.as_deref().is_none_or(covers),
            PrincipalKind::ApiToken(_) => true,
        }
    }
}

/// The request's id, in the request's extensions from the first stage on.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);
