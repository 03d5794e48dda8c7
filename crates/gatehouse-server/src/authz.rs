//! Authorization (AZ-2): every private route is decided by the active Cedar
//! policy set (gatehouse-authz), deny by default. The set lives in the policy
//! store; this process holds the newest version it has seen, swaps it in right
//! after its own changes commit, and polls for versions other replicas wrote.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use gatehouse_audit::{Record, Sealer};
pub use gatehouse_authz::Action;
use gatehouse_authz::{
    first_problem, parse_policies, AttrKind, CallContext, Catalog, Decision, Engine, Target,
    TokenCaller,
};
use gatehouse_store::{PolicyVersionRow, PolicyWrite, Store};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::error::ServerError;
use crate::pipeline::Principal;

/// The attributes the user types declare: name and kind.
type UserAttributes = Vec<(String, AttrKind)>;

/// How often a replica looks for versions written elsewhere.
const REFRESH: Duration = Duration::from_secs(2);

/// A stored version, parsed and ready to answer.
pub struct ActivePolicies {
    pub row: PolicyVersionRow,
    pub engine: Engine,
}

impl ActivePolicies {
    pub fn version(&self) -> u64 {
        u64::try_from(self.row.version).unwrap_or(0)
    }
}

/// The schema and the active set, shared by every request.
pub struct Policies {
    /// The schema with the attributes the user types declare, and those.
    catalog: RwLock<(UserAttributes, Arc<Catalog>)>,
    active: RwLock<Arc<ActivePolicies>>,
    /// The authorization epoch: bumped when another version is installed or a
    /// token is revoked here, so long-lived requests check themselves again.
    rechecks: watch::Sender<u64>,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies")
            .field("version", &self.current().version())
            .finish_non_exhaustive()
    }
}

fn parse_stored(catalog: &Catalog, row: PolicyVersionRow) -> Result<ActivePolicies, ServerError> {
    let parsed = parse_policies(catalog, &row.text).map_err(|problems| {
        ServerError::Init(format!(
            "policy version {} does not validate against this release's schema ({}); \
             roll back to a version that does with a release that accepts it",
            row.version,
            first_problem(&problems)
        ))
    })?;
    let engine = Engine::new(catalog, parsed).map_err(|e| ServerError::Init(e.to_string()))?;
    Ok(ActivePolicies { row, engine })
}

/// The attributes the stored user types declare (a type the store cannot
/// give, or a conflict, leaves the schema as it can be made: first kind wins).
async fn declared_in(store: &dyn Store) -> Vec<(String, AttrKind)> {
    let types = match crate::user_types::stored_types(store).await {
        Ok(types) => types,
        Err(_) => {
            tracing::warn!("cannot read the user types; the schema keeps no user attributes");
            return Vec::new();
        }
    };
    match crate::user_types::declared_attributes(&types) {
        Ok(attributes) => attributes,
        Err(_) => {
            let mut seen = std::collections::BTreeMap::new();
            for t in &types {
                let one = std::slice::from_ref(t);
                for (name, kind) in crate::user_types::declared_attributes(one).unwrap_or_default()
                {
                    seen.entry(name).or_insert(kind);
                }
            }
            seen.into_iter().collect()
        }
    }
}

pub fn sha256(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

/// The audit record of the first version, written by the server itself.
fn seed_record(row: &PolicyVersionRow) -> Record {
    Record {
        time_us: row.created_at_us,
        event_id: None,
        actor_kind: "operator".into(),
        actor_id: "gatehouse".into(),
        actor_name: "gatehouse".into(),
        on_behalf_of: None,
        action: Action::CreatePolicyVersion.as_str().into(),
        resource_type: "policy_set".into(),
        resource_id: row.version.to_string(),
        outcome: "success".into(),
        status: 0,
        source_ip: String::new(),
        user_agent: String::new(),
        request_id: format!("seed-policies-{}", row.version),
        before: None,
        after: Some(version_value(row).to_string()),
        details: Some(serde_json::json!({"reason": row.reason}).to_string()),
    }
}

/// The built-in user policy of earlier releases: it let a person
/// `users.update` themselves, and that sets type, entitlements and status.
const SELF_UPDATE: &str = r#"@id("builtin.user")
@description("users read and update their own profile and nothing else")
permit (
  principal in Role::"user",
  action in [Action::"users.read", Action::"users.update"],
  resource
)
when { resource == principal };"#;

/// When the active version still holds [`SELF_UPDATE`] word for word, writes
/// the next version with it replaced by this release's `builtin.user` and
/// `builtin.self_service` (recorded as the server's own change, with the
/// reason); any other text is the administrators' and is left alone.
async fn fix_self_update(
    store: &dyn Store,
    sealer: &Sealer,
    now_us: i64,
    row: PolicyVersionRow,
) -> Result<PolicyVersionRow, ServerError> {
    if !row.text.contains(SELF_UPDATE) {
        return Ok(row);
    }
    let builtin = gatehouse_authz::BUILTIN_POLICIES;
    let (Some(start), Some(end)) = (
        builtin.find("@id(\"builtin.user\")"),
        builtin.find("@id(\"builtin.service\")"),
    ) else {
        return Ok(row);
    };
    let text = row
        .text
        .replace(SELF_UPDATE, builtin[start..end].trim_end());
    let next = PolicyVersionRow {
        version: row.version + 1,
        sha256: sha256(&text),
        text,
        author: "gatehouse".into(),
        reason: "security fix: people no longer update their own user (which sets type, \
                 entitlements and status); they manage themselves through the me.* actions"
            .into(),
        created_at_us: now_us,
        rolled_back_from: None,
    };
    let audit = |_: Option<&PolicyVersionRow>, row: &PolicyVersionRow| seed_record(row);
    let base = u64::try_from(row.version).unwrap_or(0);
    match store.policies().create(&next, base, &audit, sealer).await? {
        PolicyWrite::Created(created) => Ok(created),
        PolicyWrite::Conflict { .. } => store
            .policies()
            .latest()
            .await?
            .ok_or_else(|| ServerError::Init("the policy store is empty".into())),
    }
}

/// A version as the audit trail keeps it in `before` and `after`.
pub fn version_value(row: &PolicyVersionRow) -> serde_json::Value {
    serde_json::json!({
        "version": row.version,
        "sha256": hex::encode(&row.sha256),
        "author": row.author,
        "reason": row.reason,
        "rolled_back_from": row.rolled_back_from,
        "text": row.text,
    })
}

impl Policies {
    /// Loads the newest version, writing the built-in roles as version 1 on a
    /// database that has none (with its audit record).
    pub async fn load(
        store: &dyn Store,
        sealer: &Sealer,
        now_us: i64,
    ) -> Result<Self, ServerError> {
        let attributes = declared_in(store).await;
        let catalog =
            Catalog::load_with(&attributes).map_err(|e| ServerError::Init(e.to_string()))?;
        let row = match store.policies().latest().await? {
            Some(row) => row,
            None => {
                let seed = PolicyVersionRow {
                    version: 1,
                    text: gatehouse_authz::BUILTIN_POLICIES.to_owned(),
                    sha256: sha256(gatehouse_authz::BUILTIN_POLICIES),
                    author: "gatehouse".into(),
                    reason: "built-in roles".into(),
                    created_at_us: now_us,
                    rolled_back_from: None,
                };
                let audit = |_: Option<&PolicyVersionRow>, row: &PolicyVersionRow| seed_record(row);
                match store.policies().create(&seed, 0, &audit, sealer).await? {
                    PolicyWrite::Created(row) => row,
                    // Another process seeded first: use what it wrote.
                    PolicyWrite::Conflict { .. } => store
                        .policies()
                        .latest()
                        .await?
                        .ok_or_else(|| ServerError::Init("the policy store is empty".into()))?,
                }
            }
        };
        let row = fix_self_update(store, sealer, now_us, row).await?;
        let active = parse_stored(&catalog, row)?;
        Ok(Self {
            catalog: RwLock::new((attributes, Arc::new(catalog))),
            active: RwLock::new(Arc::new(active)),
            rechecks: watch::Sender::new(0),
        })
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(c) => c.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    /// Whether the active policies still validate with a schema whose users
    /// carry `attributes`, and no policy becomes one that can never apply (an
    /// attribute it reads, behind `has`, declared by no type any more); the
    /// first problem when not.
    pub fn check_attributes(&self, attributes: &[(String, AttrKind)]) -> Result<(), String> {
        let candidate = Catalog::load_with(attributes).map_err(|e| e.to_string())?;
        let text = &self.current().row.text;
        let after =
            parse_policies(&candidate, text).map_err(|problems| first_problem(&problems))?;
        let before = parse_policies(&self.catalog(), text)
            .map(|p| p.warnings)
            .unwrap_or_default();
        match after.warnings.iter().find(|w| !before.contains(w)) {
            Some(new) => Err(format!(
                "{}: {}",
                new.policy_id.as_deref().unwrap_or("a policy"),
                new.message
            )),
            None => Ok(()),
        }
    }

    /// Rebuilds the schema when the attributes the stored user types declare
    /// changed (here or on another replica).
    pub async fn refresh_catalog(&self, store: &dyn Store) {
        let attributes = declared_in(store).await;
        let is_same = match self.catalog.read() {
            Ok(c) => c.0 == attributes,
            Err(poisoned) => poisoned.into_inner().0 == attributes,
        };
        if is_same {
            return;
        }
        match Catalog::load_with(&attributes) {
            Ok(catalog) => {
                let mut slot = match self.catalog.write() {
                    Ok(s) => s,
                    Err(poisoned) => poisoned.into_inner(),
                };
                *slot = (attributes, Arc::new(catalog));
            }
            Err(e) => tracing::error!(error = %e, "the user types' attributes make no schema"),
        }
    }

    pub fn current(&self) -> Arc<ActivePolicies> {
        match self.active.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Makes `active` the set that answers, unless a newer one already does.
    pub fn install(&self, active: ActivePolicies) {
        let mut slot = match self.active.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if active.row.version > slot.row.version {
            *slot = Arc::new(active);
            drop(slot);
            self.recheck_all();
        }
    }

    /// Wakes every long-lived request (the live tail) to check its authorization
    /// again now: a token was revoked, or the policies changed.
    pub fn recheck_all(&self) {
        self.rechecks.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes with every [`Policies::recheck_all`].
    pub fn rechecks(&self) -> watch::Receiver<u64> {
        self.rechecks.subscribe()
    }

    /// Runs `f` (parsing, validating or compiling policy text) on the blocking
    /// pool: a draft of a megabyte takes long enough to stall every request that
    /// shares an async worker with it.
    pub async fn off_workers<T, F>(self: &Arc<Self>, f: F) -> Result<T, crate::ApiFailure>
    where
        T: Send + 'static,
        F: FnOnce(&Catalog) -> T + Send + 'static,
    {
        let policies = self.clone();
        tokio::task::spawn_blocking(move || f(&policies.catalog()))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "a policy parsing task failed");
                crate::ApiFailure::internal()
            })
    }

    /// Parses a version read from the store.
    pub fn parse_version(&self, row: PolicyVersionRow) -> Result<ActivePolicies, ServerError> {
        parse_stored(&self.catalog(), row)
    }

    /// Decides a call to one of Gatehouse's routes.
    pub fn decide(
        &self,
        principal: &Principal,
        action: Action,
        target: Option<&Target>,
        source_ip: &str,
        now_s: i64,
        requested_role: Option<String>,
    ) -> (Decision, u64) {
        let active = self.current();
        let caller = caller_of(principal);
        let ctx = CallContext {
            source_ip: source_ip
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            time: now_s,
            requested_role,
        };
        let decision = active
            .engine
            .decide_call(&self.catalog(), &caller, action, target, &ctx);
        (decision, active.version())
    }

    /// Keeps this replica on the newest version written by any replica.
    pub fn spawn_refresh(self: &Arc<Self>, store: Arc<dyn Store>) {
        let policies = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(policies) = policies.upgrade() else {
                    return;
                };
                policies.refresh_catalog(store.as_ref()).await;
                let current = policies.current().version();
                match store.policies().latest_version().await {
                    Ok(v) if v > current => match store.policies().find(v).await {
                        Ok(Some(row)) => match policies.parse_version(row) {
                            Ok(active) => policies.install(active),
                            Err(e) => {
                                tracing::error!(error = %e, version = v, "cannot load a newer policy version; keeping the active one")
                            }
                        },
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, "cannot read the policy store"),
                    },
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot read the policy store"),
                }
            }
        });
    }
}

pub(crate) fn caller_of(principal: &Principal) -> TokenCaller {
    TokenCaller {
        id: principal.id(),
        name: principal.name.clone(),
        role: principal.role.as_str().to_owned(),
        client: principal
            .client_grant()
            .map(|g| gatehouse_authz::ClientFacts {
                // Client credentials are for confidential clients only.
                is_confidential: true,
                scopes: g.scopes.clone(),
            }),
        user: principal.user_grant().map(|g| gatehouse_authz::UserFacts {
            user_type: g.user_type.clone(),
            attributes: g.attributes.clone(),
        }),
    }
}
