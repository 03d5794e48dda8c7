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
    first_problem, parse_policies, CallContext, Catalog, Decision, Engine, Target, TokenCaller,
};
use gatehouse_store::{PolicyVersionRow, PolicyWrite, Store};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::error::ServerError;
use crate::pipeline::Principal;

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
    catalog: Catalog,
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
        let catalog = Catalog::load().map_err(|e| ServerError::Init(e.to_string()))?;
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
        let active = parse_stored(&catalog, row)?;
        Ok(Self {
            catalog,
            active: RwLock::new(Arc::new(active)),
            rechecks: watch::Sender::new(0),
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
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
        tokio::task::spawn_blocking(move || f(&policies.catalog))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "a policy parsing task failed");
                crate::ApiFailure::internal()
            })
    }

    /// Parses a version read from the store.
    pub fn parse_version(&self, row: PolicyVersionRow) -> Result<ActivePolicies, ServerError> {
        parse_stored(&self.catalog, row)
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
            .decide_call(&self.catalog, &caller, action, target, &ctx);
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

fn caller_of(principal: &Principal) -> TokenCaller {
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
