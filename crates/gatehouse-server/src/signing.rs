//! Token signing keys (TK-2) on the server: the key-encryption key, the key set
//! in memory (the signer, the verifier, the published JWK set), and rotation on
//! a schedule and on demand. A change made here or by another replica reaches
//! every replica through the token events ([`crate::token_state`]).

use std::path::Path;
use std::sync::{Arc, RwLock};

use gatehouse_store::{KeyApplied, KeyChange, SigningKeyRow, Store, StoreError};
use gatehouse_tokens::{
    plan_rotation, seal, Jwk, JwkSet, Kek, KeyAlgorithm, KeyLife, KeyPair, KeyState, Signer,
    Verifier,
};
use gatehouse_types::{ErrorCode, KeyResponse, SigningKeyState};
use serde_json::json;

use crate::config::{Config, KEK_VAR};
use crate::error::{ApiFailure, ServerError};
use crate::pipeline::RecordChange;

/// The key-encryption key: `GATEHOUSE_TOKEN_KEK` if set, else the key file,
/// created (0600) on first start.
pub fn load_or_create_kek(config: &Config) -> Result<Kek, ServerError> {
    let bad = |path: &Path, reason: String| ServerError::TokenKey {
        path: path.display().to_string(),
        reason,
    };
    if let Ok(text) = std::env::var(KEK_VAR) {
        return Kek::from_base64(&text).map_err(|e| bad(Path::new(KEK_VAR), e.to_string()));
    }
    let path = config.effective_kek_file();
    let text = crate::secret_file::read_or_create(&path, || {
        Kek::generate(&mut rand::rngs::OsRng).to_base64()
    })
    .map_err(|e| bad(&path, e))?;
    Kek::from_base64(&text).map_err(|e| bad(&path, e.to_string()))
}

/// What verification and issuance use, swapped whole when the keys change.
pub struct KeySet {
    /// Signs with the current key (none only before the first rotation).
    pub signer: Option<Signer>,
    pub verifier: Verifier,
    /// `/.well-known/jwks.json`: next, current and still-verifying previous keys.
    pub jwks: Arc<str>,
    /// Every key, for `GET /v1/keys`, oldest first.
    pub keys: Vec<KeyResponse>,
}

/// The keys of this server, as stored.
pub struct KeyRing {
    store: Arc<dyn Store>,
    kek: Kek,
    algorithm: KeyAlgorithm,
    issuer: String,
    audience: String,
    skew_s: i64,
    period_s: i64,
    /// How long a demoted key still verifies: the longest token plus the skew.
    overlap_s: i64,
    set: RwLock<Arc<KeySet>>,
    /// One reload at a time: a reload that read the keys before a rotation
    /// committed must not store its (older) set after the rotation's own.
    reloading: tokio::sync::Mutex<()>,
}

impl KeyRing {
    /// Loads the stored keys, creating the first two when there are none.
    pub async fn open(
        config: &Config,
        issuer: &str,
        store: Arc<dyn Store>,
        kek: Kek,
        now_s: i64,
        change: &dyn RecordChange,
    ) -> Result<Arc<KeyRing>, ServerError> {
        let t = &config.tokens;
        let skew_s = i64::try_from(t.clock_skew_seconds).unwrap_or(60);
        let ttl_s = i64::try_from(t.access_token_ttl_seconds).unwrap_or(3600);
        let ring = KeyRing {
            store,
            kek,
            algorithm: t.key_algorithm(),
            issuer: issuer.to_owned(),
            audience: t.audience.clone(),
            skew_s,
            period_s: i64::try_from(t.rotation_days).unwrap_or(365) * 86_400,
            overlap_s: ttl_s + skew_s,
            reloading: tokio::sync::Mutex::new(()),
            set: RwLock::new(Arc::new(KeySet {
                signer: None,
                verifier: Verifier::new(issuer, &t.audience, skew_s),
                jwks: Arc::from("{\"keys\":[]}"),
                keys: Vec::new(),
            })),
        };
        ring.reload(now_s).await?;
        if ring.current().signer.is_none() {
            ring.rotate(now_s, false, change).await?;
        }
        Ok(Arc::new(ring))
    }

    pub fn current(&self) -> Arc<KeySet> {
        match self.set.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Reads the stored keys again and swaps the set in.
    pub async fn reload(&self, now_s: i64) -> Result<(), ServerError> {
        let _one = self.reloading.lock().await;
        let rows = self.store.signing_keys().list().await?;
        let set = self.build(&rows, now_s)?;
        match self.set.write() {
            Ok(mut s) => *s = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
        Ok(())
    }

    fn build(&self, rows: &[SigningKeyRow], now_s: i64) -> Result<KeySet, ServerError> {
        let key_err = |kid: &str, reason: String| ServerError::TokenKey {
            path: format!("signing key {kid}"),
            reason,
        };
        let mut verifier = Verifier::new(&self.issuer, &self.audience, self.skew_s);
        let mut published = Vec::new();
        let mut signer = None;
        let mut keys = Vec::new();
        for row in rows {
            let jwk: Jwk = serde_json::from_str(&row.public_jwk)
                .map_err(|e| key_err(&row.kid, e.to_string()))?;
            let state = KeyState::parse(&row.state).unwrap_or(KeyState::Retired);
            let until_s = row.verifies_until_us.map(|us| us / 1_000_000);
            let verifies = match state {
                KeyState::Next | KeyState::Current => true,
                KeyState::Previous => until_s.is_some_and(|u| now_s < u),
                KeyState::Retired => false,
            };
            if verifies {
                verifier
                    .add_key(&jwk, until_s)
                    .map_err(|e| key_err(&row.kid, e.to_string()))?;
                published.push(jwk.clone());
            }
            if state == KeyState::Current {
                // A sealed key that does not open (another KEK, altered bytes)
                // stops the server: it must not sign with anything else.
                let private =
                    seal::open(&self.kek, &row.kid, &row.sealed_private).map_err(|e| {
                        key_err(
                            &row.kid,
                            format!(
                                "{e} (is this replica's token-keys.kek the one that sealed it?)"
                            ),
                        )
                    })?;
                let pair = KeyPair::from_parts(jwk.clone(), private)
                    .map_err(|e| key_err(&row.kid, e.to_string()))?;
                signer = Some(
                    pair.signer()
                        .map_err(|e| key_err(&row.kid, e.to_string()))?,
                );
            }
            keys.push(KeyResponse {
                kid: row.kid.clone(),
                algorithm: row.algorithm.clone(),
                state: wire_state(state),
                created_at: crate::clock::from_micros(row.created_at_us),
                activated_at: row.activated_at_us.map(crate::clock::from_micros),
                verifies_until: row.verifies_until_us.map(crate::clock::from_micros),
                retired_at: row.retired_at_us.map(crate::clock::from_micros),
                public_jwk: serde_json::to_value(&jwk).unwrap_or_default(),
            });
        }
        let jwks = serde_json::to_string(&JwkSet { keys: published })
            .map_err(|e| key_err("set", e.to_string()))?;
        Ok(KeySet {
            signer,
            verifier,
            jwks: Arc::from(jwks),
            keys,
        })
    }

    /// Rotates if due (or `force`): the next key signs, the current one only
    /// verifies until its last token expires, expired ones retire, a new next is
    /// made. Committed with its record; `Ok(false)` when nothing was due.
    pub async fn rotate(
        &self,
        now_s: i64,
        force: bool,
        change: &dyn RecordChange,
    ) -> Result<bool, ServerError> {
        for _attempt in 0..3 {
            let rows = self.store.signing_keys().list().await?;
            let lives: Vec<KeyLife> = rows
                .iter()
                .map(|r| KeyLife {
                    kid: r.kid.clone(),
                    state: KeyState::parse(&r.state).unwrap_or(KeyState::Retired),
                    activated_at: r.activated_at_us.map(|us| us / 1_000_000),
                    verifies_until: r.verifies_until_us.map(|us| us / 1_000_000),
                })
                .collect();
            let plan = plan_rotation(&lives, now_s, self.period_s, self.overlap_s, force);
            let is_quiet = plan.promote.is_none()
                && plan.retire.is_empty()
                && !plan.needs_next
                && !plan.needs_current;
            if is_quiet {
                return Ok(false);
            }
            let now_us = now_s.saturating_mul(1_000_000);
            let mut inserts = Vec::new();
            if plan.needs_current {
                inserts.push(self.new_row("current", now_us)?);
            }
            if plan.needs_next {
                inserts.push(self.new_row("next", now_us)?);
            }
            let key_change = KeyChange {
                at_us: now_us,
                inserts,
                promote: plan.promote.clone(),
                demote: plan
                    .demote
                    .clone()
                    .map(|kid| (kid, plan.verifies_until.saturating_mul(1_000_000))),
                retire: plan.retire.clone(),
            };
            let after = json!({
                "promoted": plan.promote,
                "demoted": plan.demote,
                "retired": plan.retire,
                "created": key_change.inserts.iter().map(|r| json!({"kid": r.kid, "state": r.state, "algorithm": r.algorithm})).collect::<Vec<_>>(),
                "previous_verifies_until": plan.demote.as_ref().map(|_| plan.verifies_until),
            });
            let expected = lives
                .iter()
                .find(|k| k.state == KeyState::Current)
                .map(|k| k.kid.clone());
            let record = change.record(now_us, ("signing_keys", "keys"), None, Some(after));
            match self
                .store
                .signing_keys()
                .apply(&key_change, expected.as_deref(), &record, change.sealer())
                .await
            {
                Ok(KeyApplied::Done) => {
                    self.reload(now_s).await?;
                    return Ok(true);
                }
                // Another replica rotated first: plan again from what it left.
                Ok(KeyApplied::Conflict) | Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        self.reload(now_s).await?;
        Ok(false)
    }

    fn new_row(&self, state: &str, now_us: i64) -> Result<SigningKeyRow, ServerError> {
        let mut rng = rand::rngs::OsRng;
        let key_err = |reason: String| ServerError::TokenKey {
            path: "new signing key".into(),
            reason,
        };
        let pair =
            KeyPair::generate(self.algorithm, &mut rng).map_err(|e| key_err(e.to_string()))?;
        let sealed = seal::seal(&self.kek, pair.kid(), pair.private_der(), &mut rng)
            .map_err(|e| key_err(e.to_string()))?;
        Ok(SigningKeyRow {
            kid: pair.kid().to_owned(),
            algorithm: self.algorithm.as_str().to_owned(),
            state: state.to_owned(),
            public_jwk: serde_json::to_string(pair.public()).map_err(|e| key_err(e.to_string()))?,
            sealed_private: sealed,
            created_at_us: now_us,
            activated_at_us: (state == "current").then_some(now_us),
            verifies_until_us: None,
            retired_at_us: None,
        })
    }

    /// Keeps the keys rotated on schedule, checking every minute.
    pub fn spawn_schedule(
        self: &Arc<Self>,
        clock: Arc<dyn crate::clock::Clock>,
        change: Arc<dyn RecordChange>,
    ) {
        let ring = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(ring) = ring.upgrade() else { return };
                let now_s = clock.now().timestamp();
                if let Err(e) = ring.rotate(now_s, false, change.as_ref()).await {
                    tracing::error!(error = %e, "scheduled signing key rotation failed");
                }
            }
        });
    }
}

/// On-demand rotation (`POST /v1/keys/rotate`, `gatehouse keys rotate`).
pub async fn rotate_now(
    ring: &KeyRing,
    now_s: i64,
    change: &dyn RecordChange,
) -> Result<Vec<KeyResponse>, ApiFailure> {
    let unavailable = || {
        ApiFailure::new(
            ErrorCode::Unavailable,
            "the keys could not be rotated; try again",
        )
    };
    let rotated = ring.rotate(now_s, true, change).await.map_err(|e| {
        tracing::error!(error = %e, "signing key rotation failed");
        unavailable()
    })?;
    // Only a rotation that committed has its record; otherwise the request is
    // recorded as the failure it is.
    if !rotated {
        return Err(unavailable());
    }
    Ok(ring.current().keys.clone())
}

fn wire_state(state: KeyState) -> SigningKeyState {
    match state {
        KeyState::Next => SigningKeyState::Next,
        KeyState::Current => SigningKeyState::Current,
        KeyState::Previous => SigningKeyState::Previous,
        KeyState::Retired => SigningKeyState::Retired,
    }
}

/// `gatehouse keys list|rotate`: the keys of an existing database, without a
/// server. The key-encryption key must already exist (never created here:
/// keys sealed under a new one would not open on the servers). A rotation is
/// recorded as the local operator's and reaches running servers through the
/// token events within a second.
pub async fn offline(config: &Config, rotate: bool) -> Result<Vec<KeyResponse>, ServerError> {
    let store = gatehouse_store::open_existing(&config.effective_database_url()).await?;
    let outcome = offline_on(config, store.clone(), rotate).await;
    store.close().await;
    outcome
}

async fn offline_on(
    config: &Config,
    store: Arc<dyn Store>,
    rotate: bool,
) -> Result<Vec<KeyResponse>, ServerError> {
    if std::env::var(KEK_VAR).is_err() && !config.effective_kek_file().exists() {
        return Err(ServerError::TokenKey {
            path: config.effective_kek_file().display().to_string(),
            reason: "does not exist: the servers' key-encryption key is needed (set tokens.kek_file or GATEHOUSE_TOKEN_KEK)".into(),
        });
    }
    let kek = load_or_create_kek(config)?;
    let sealer = Arc::new(crate::audit::load_sealer(config)?);
    let change = crate::pipeline::SystemChange {
        actor_kind: "operator",
        actor_id: "gatehouse keys rotate".into(),
        actor_name: "local operator".into(),
        action: "keys.rotate",
        sealer,
    };
    let now_s = chrono::Utc::now().timestamp();
    let ring = KeyRing::open(
        config,
        &config.effective_issuer(),
        store,
        kek,
        now_s,
        &change,
    )
    .await?;
    if rotate {
        ring.rotate(now_s, true, &change).await?;
    }
    Ok(ring.current().keys.clone())
}
