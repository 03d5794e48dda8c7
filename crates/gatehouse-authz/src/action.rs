//! Gatehouse's operations: one Cedar action per API operation, the entity type
//! each acts on, and whether it only reads. The schema declares the same actions;
//! a test checks that the two lists agree.

macro_rules! actions {
    ($($variant:ident => $name:literal, $kind:ident, $rtype:literal, $rid:literal, $item:literal;)*) => {
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
    ReadServer => "server.read", read, "Server", "gatehouse", "";
    DescribeApi => "api.describe", read, "Server", "gatehouse", "";
    ListApiTokens => "api_tokens.list", read, "TokenRegistry", "api-tokens", "";
    CreateApiToken => "api_tokens.create", write, "TokenRegistry", "api-tokens", "";
    RevokeApiToken => "api_tokens.revoke", write, "ApiToken", "", "ApiToken";
    IngestAuditEvents => "audit.ingest", write, "AuditTrail", "audit", "";
    SearchAudit => "audit.search", read, "AuditTrail", "audit", "";
    ExportAudit => "audit.export", read, "AuditTrail", "audit", "";
    VerifyAudit => "audit.verify", read, "AuditTrail", "audit", "";
    StreamAudit => "audit.stream", read, "AuditTrail", "audit", "";
    ListBlocked => "blocked.list", read, "BlockedLog", "blocked", "";
    SummarizeBlocked => "blocked.summary", read, "BlockedLog", "blocked", "";
    ReadPolicies => "policies.read", read, "PolicyStore", "policies", "";
    ReadPolicySchema => "policies.schema", read, "PolicyStore", "policies", "";
    ValidatePolicies => "policies.validate", read, "PolicyStore", "policies", "";
    SimulatePolicies => "policies.simulate", read, "PolicyStore", "policies", "";
    ReadPolicyMatrix => "policies.matrix", read, "PolicyStore", "policies", "";
    ListPolicyVersions => "policies.versions.list", read, "PolicyStore", "policies", "";
    ReadPolicyVersion => "policies.versions.read", read, "PolicyStore", "policies", "PolicyVersion";
    DiffPolicyVersions => "policies.diff", read, "PolicyStore", "policies", "";
    CreatePolicyVersion => "policies.versions.create", write, "PolicyStore", "policies", "";
    RollbackPolicies => "policies.rollback", write, "PolicyStore", "policies", "";
    Authorize => "decisions.authorize", write, "DecisionPoint", "authorize", "";
    ReadUser => "users.read", read, "User", "", "User";
    UpdateUser => "users.update", write, "User", "", "User";
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
