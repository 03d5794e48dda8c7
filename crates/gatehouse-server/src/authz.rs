//! Authorization: one interface, deny by default. For now a fixed rule on the
//! caller's role; the access-control issue replaces the rule with Cedar policies
//! behind the same [`Authorizer`] trait.

use gatehouse_types::Role;

use crate::pipeline::Principal;

/// One operation of the API. Every private route names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ReadServer,
    ListApiTokens,
    CreateApiToken,
    RevokeApiToken,
    IngestAuditEvents,
    SearchAudit,
    ExportAudit,
    VerifyAudit,
    StreamAudit,
    ListBlocked,
    SummarizeBlocked,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::ReadServer,
        Action::ListApiTokens,
        Action::CreateApiToken,
        Action::RevokeApiToken,
        Action::IngestAuditEvents,
        Action::SearchAudit,
        Action::ExportAudit,
        Action::VerifyAudit,
        Action::StreamAudit,
        Action::ListBlocked,
        Action::SummarizeBlocked,
    ];

    /// The action's stable name (Cedar action ids will use the same names).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadServer => "server.read",
            Self::ListApiTokens => "api_tokens.list",
            Self::CreateApiToken => "api_tokens.create",
            Self::RevokeApiToken => "api_tokens.revoke",
            Self::IngestAuditEvents => "audit.ingest",
            Self::SearchAudit => "audit.search",
            Self::ExportAudit => "audit.export",
            Self::VerifyAudit => "audit.verify",
            Self::StreamAudit => "audit.stream",
            Self::ListBlocked => "blocked.list",
            Self::SummarizeBlocked => "blocked.summary",
        }
    }

    /// Reads change nothing; only these are open to a read-only role.
    pub fn is_read_only(self) -> bool {
        match self {
            Self::ReadServer
            | Self::ListApiTokens
            | Self::SearchAudit
            | Self::ExportAudit
            | Self::VerifyAudit
            | Self::StreamAudit
            | Self::ListBlocked
            | Self::SummarizeBlocked => true,
            Self::CreateApiToken | Self::RevokeApiToken | Self::IngestAuditEvents => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub is_allowed: bool,
    /// Which rule decided; named in logs (and later in the audit trail).
    pub reason: &'static str,
}

pub trait Authorizer: Send + Sync + 'static {
    fn authorize(&self, principal: &Principal, action: Action) -> Decision;
}

/// Administrators may do everything, auditors may only read, services may only
/// report audit events, anyone else nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct RoleAuthorizer;

impl Authorizer for RoleAuthorizer {
    fn authorize(&self, principal: &Principal, action: Action) -> Decision {
        match principal.role {
            Role::Administrator => Decision {
                is_allowed: true,
                reason: "administrator-all",
            },
            Role::Auditor if action.is_read_only() => Decision {
                is_allowed: true,
                reason: "auditor-read-only",
            },
            Role::Service if action == Action::IngestAuditEvents => Decision {
                is_allowed: true,
                reason: "service-ingest",
            },
            _ => Decision {
                is_allowed: false,
                reason: "default-deny",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_types::ApiTokenId;

    fn principal(role: Role) -> Principal {
        Principal {
            token_id: ApiTokenId(uuid::Uuid::nil()),
            name: "t".into(),
            role,
        }
    }

    #[test]
    fn role_table() {
        let a = RoleAuthorizer;
        for action in Action::ALL {
            assert!(
                a.authorize(&principal(Role::Administrator), action)
                    .is_allowed
            );
            assert_eq!(
                a.authorize(&principal(Role::Auditor), action).is_allowed,
                action.is_read_only(),
                "{action:?}"
            );
            assert!(!a.authorize(&principal(Role::User), action).is_allowed);
            assert_eq!(
                a.authorize(&principal(Role::Service), action).is_allowed,
                action == Action::IngestAuditEvents,
                "{action:?}"
            );
        }
    }
}
