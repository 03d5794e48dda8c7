//! Gatehouse's operations: one Cedar action per API operation, the entity type
//! each acts on, and whether it only reads. The schema declares the same actions;
//! a test checks that the two lists agree.

macro_rules! actions {
    ($($variant:ident => $name:literal, $kind:ident, $rtype:literal, $rid:literal, $item:literal, $scope:literal;)*) => {
        /// One operation of the API. Every private route names exactly one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// Every action, in the schema's order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The Cedar action id (`Action::"audit.search"`), also the action
            /// name in audit records.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// Reads change nothing; they are in the `read` action group.
            pub fn is_read_only(self) -> bool {
                match self {
                    $(Self::$variant => stringify!($kind) == "read",)*
                }
            }

            /// The entity type a route of this action acts on, and the id of the
            /// one collection entity it uses (empty when the route names an item).
            pub fn resource(self) -> (&'static str, &'static str) {
                match self {
                    $(Self::$variant => ($rtype, $rid),)*
                }
            }

            /// The entity type of the item a route of this action names in its
            /// path (`/v1/api-tokens/{id}`), if it names one.
            pub fn item_type(self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => {
                        let item: &'static str = $item;
                        if item.is_empty() { None } else { Some(item) }
                    })*
                }
            }

            /// The OAuth scope an access token needs for this action (`area:read`
            /// or `area:write`): a client's token does no more than both its
            /// scopes and the policies allow.
            pub fn scope(self) -> &'static str {
                match self {
                    $(Self::$variant => $scope,)*
                }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    ReadServer => "server.read", read, "Server", "gatehouse", "", "server:read";
    DescribeApi => "api.describe", read, "Server", "gatehouse", "", "server:read";
    ListApiTokens => "api_tokens.list", read, "TokenRegistry", "api-tokens", "", "api_tokens:read";
    CreateApiToken => "api_tokens.create", write, "TokenRegistry", "api-tokens", "", "api_tokens:write";
    RevokeApiToken => "api_tokens.revoke", write, "ApiToken", "", "ApiToken", "api_tokens:write";
    IngestAuditEvents => "audit.ingest", write, "AuditTrail", "audit", "", "audit:write";
    SearchAudit => "audit.search", read, "AuditTrail", "audit", "", "audit:read";
    ExportAudit => "audit.export", read, "AuditTrail", "audit", "", "audit:read";
    VerifyAudit => "audit.verify", read, "AuditTrail", "audit", "", "audit:read";
    StreamAudit => "audit.stream", read, "AuditTrail", "audit", "", "audit:read";
    ListBlocked => "blocked.list", read, "BlockedLog", "blocked", "", "blocked:read";
    SummarizeBlocked => "blocked.summary", read, "BlockedLog", "blocked", "", "blocked:read";
    ExplainBlocked => "blocked.why", read, "BlockedLog", "blocked", "BlockedRequest", "blocked:read";
    ReadPolicies => "policies.read", read, "PolicyStore", "policies", "", "policies:read";
    ReadPolicySchema => "policies.schema", read, "PolicyStore", "policies", "", "policies:read";
    ValidatePolicies => "policies.validate", read, "PolicyStore", "policies", "", "policies:read";
    SimulatePolicies => "policies.simulate", read, "PolicyStore", "policies", "", "policies:read";
    ReadPolicyMatrix => "policies.matrix", read, "PolicyStore", "policies", "", "policies:read";
    ListPolicyVersions => "policies.versions.list", read, "PolicyStore", "policies", "", "policies:read";
    ReadPolicyVersion => "policies.versions.read", read, "PolicyStore", "policies", "PolicyVersion", "policies:read";
    DiffPolicyVersions => "policies.diff", read, "PolicyStore", "policies", "", "policies:read";
    CreatePolicyVersion => "policies.versions.create", write, "PolicyStore", "policies", "", "policies:write";
    RollbackPolicies => "policies.rollback", write, "PolicyStore", "policies", "", "policies:write";
    Authorize => "decisions.authorize", write, "DecisionPoint", "authorize", "", "decisions:write";
    ListUsers => "users.list", read, "UserDirectory", "users", "", "users:read";
    CreateUser => "users.create", write, "UserDirectory", "users", "", "users:write";
    ReadUser => "users.read", read, "User", "", "User", "users:read";
    UpdateUser => "users.update", write, "User", "", "User", "users:write";
    DisableUser => "users.disable", write, "User", "", "User", "users:write";
    LockUser => "users.lock", write, "User", "", "User", "users:write";
    UnlockUser => "users.unlock", write, "User", "", "User", "users:write";
    SetUserPassword => "users.set_password", write, "User", "", "User", "users:write";
    ListUserSessions => "users.sessions.list", read, "User", "", "User", "users:read";
    ListUserFactors => "users.factors.list", read, "User", "", "User", "users:read";
    ExportUsers => "users.export", read, "UserDirectory", "users", "", "users:read";
    ExportUserSessions => "users.sessions.export", read, "User", "", "User", "users:read";
    EndUserSessions => "users.sessions.end", write, "User", "", "User", "users:write";
    EndSession => "sessions.end", write, "Session", "", "Session", "sessions:write";
    ApproveUser => "users.approve", write, "User", "", "User", "users:write";
    RejectUser => "users.reject", write, "User", "", "User", "users:write";
    ReadMe => "me.read", read, "UserDirectory", "users", "", "me:read";
    ListMySessions => "me.sessions.list", read, "UserDirectory", "users", "", "me:read";
    EndMySessions => "me.sessions.end", write, "UserDirectory", "users", "", "me:write";
    ListMyFactors => "me.factors.list", read, "UserDirectory", "users", "", "me:read";
    EnrolMyFactor => "me.factors.enrol", write, "UserDirectory", "users", "", "me:write";
    ConfirmMyFactor => "me.factors.confirm", write, "UserDirectory", "users", "", "me:write";
    RemoveMyFactor => "me.factors.remove", write, "UserDirectory", "users", "", "me:write";
    ChangeMyPassword => "me.password.change", write, "UserDirectory", "users", "", "me:write";
    ReadUserInfo => "me.userinfo", read, "UserDirectory", "users", "", "me:read";
    ListUserTypes => "user_types.list", read, "UserDirectory", "users", "", "user_types:read";
    PutUserType => "user_types.put", write, "UserType", "", "UserType", "user_types:write";
    ListRegistrationFlows => "registration_flows.list", read, "UserDirectory", "users", "", "registration_flows:read";
    PutRegistrationFlow => "registration_flows.put", write, "UserType", "", "UserType", "registration_flows:write";
    ListClients => "clients.list", read, "ClientRegistry", "clients", "", "clients:read";
    CreateClient => "clients.create", write, "ClientRegistry", "clients", "", "clients:write";
    ReadClient => "clients.read", read, "Client", "", "Client", "clients:read";
    UpdateClient => "clients.update", write, "Client", "", "Client", "clients:write";
    RotateClientSecret => "clients.rotate_secret", write, "Client", "", "Client", "clients:write";
    DisableClient => "clients.disable", write, "Client", "", "Client", "clients:write";
    ListKeys => "keys.list", read, "KeyRing", "keys", "", "keys:read";
    ListOutbox => "outbox.list", read, "Server", "gatehouse", "", "outbox:read";
    RotateKeys => "keys.rotate", write, "KeyRing", "keys", "", "keys:write";
    ReadGateway => "gateway.read", read, "Gateway", "gateway", "", "gateway:read";
    ListFlaggedSources => "gateway.sources.list", read, "Gateway", "gateway", "", "gateway:read";
    UnflagSource => "gateway.sources.unflag", write, "Gateway", "gateway", "", "gateway:write";
    UpdateWaf => "gateway.waf.update", write, "Gateway", "gateway", "", "gateway:write";
}

impl Action {
    /// Whether the action grants a role (a mint, a client registration): its
    /// context is `MintContext`, carrying the role asked for, so a policy can
    /// refuse granting more than the caller has.
    pub fn asks_for_role(self) -> bool {
        matches!(self, Action::CreateApiToken | Action::CreateClient)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
