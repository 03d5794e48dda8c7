//! Preparing a data directory, starting the HTTPS server, and `init`.

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_audit::Sealer;
use gatehouse_listener::Listener;
use gatehouse_store::Store;
use gatehouse_types::{CreateApiTokenRequest, Role};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::{self, AppParts, TokenSettings};
use crate::audit::{load_or_create_sealer, AuditLog};
use crate::auth::Authenticator;
use crate::authz::Policies;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::ServerError;
use crate::pipeline::{SourceLimiter, SystemChange};
use crate::signing::KeyRing;
use crate::tls::{self, TlsMaterial};
use crate::token_state::TokenState;
use crate::tokens;

/// A data directory made ready: the directory (owner-only), the database with its
/// schema up to date, and the TLS certificate.
pub struct Prepared {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub tls: TlsMaterial,
    /// The audit checkpoint key (kept in its own file) and policy.
    pub sealer: Arc<Sealer>,
}

pub async fn prepare(config: Config) -> Result<Prepared, ServerError> {
    let store = open_store(&config).await?;
    prepare_with_store(config, store)
}

/// Creates the data directory and opens the configured database.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.data_dir)
        .map_err(|e| ServerError::DataDir {
            path: config.data_dir.display().to_string(),
            reason: e.to_string(),
        })?;
    Ok(gatehouse_store::open_with(
        &config.effective_database_url(),
        &config.capacity.store_options(),
    )
    .await?)
}

/// As [`prepare`], with a store opened by the caller (tests isolate PostgreSQL schemas).
pub fn prepare_with_store(config: Config, store: Arc<dyn Store>) -> Result<Prepared, ServerError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.data_dir)
        .map_err(|e| ServerError::DataDir {
            path: config.data_dir.display().to_string(),
            reason: e.to_string(),
        })?;
    let tls = tls::load_or_generate(&config)?;
    let sealer = Arc::new(load_or_create_sealer(&config)?);
    Ok(Prepared {
        config,
        store,
        tls,
        sealer,
    })
}

/// What `gatehouse init` did.
pub struct InitReport {
    pub admin_token: String,
    pub fingerprint: String,
}

/// Mints an administrator token. Refuses if an active one exists, unless
/// `is_forced` (the recovery path for an operator who lost theirs).
pub async fn init(
    prepared: &Prepared,
    clock: &dyn Clock,
    is_forced: bool,
) -> Result<InitReport, ServerError> {
    let store = prepared.store.as_ref();
    // The token key-encryption key is made with the data directory, so the
    // offline `gatehouse keys` commands work before the first `serve`.
    crate::signing::load_or_create_kek(&prepared.config)?;
    let active = tokens::count_active_administrators(store, clock)
        .await
        .map_err(|e| ServerError::Init(e.message.into_owned()))?;
    if active > 0 && !is_forced {
        return Err(ServerError::Init(format!(
            "already initialised: {active} active administrator token(s) exist; \
             pass --new-admin-token to mint another"
        )));
    }
    let request = CreateApiTokenRequest {
        name: "initial administrator".into(),
        role: Role::Administrator,
        expires_in_seconds: None,
    };
    let change = SystemChange {
        actor_kind: "operator",
        actor_id: "gatehouse init".into(),
        actor_name: "local operator".into(),
        action: "api_tokens.create",
        sealer: prepared.sealer.clone(),
    };
    let created = tokens::create(
        store,
        clock,
        request,
        prepared.config.api_token_default_ttl_seconds,
        None,
        &change,
    )
    .await
    .map_err(|e| ServerError::Init(e.message.into_owned()))?;
    Ok(InitReport {
        admin_token: created.secret,
        fingerprint: prepared.tls.fingerprint.clone(),
    })
}

/// Whether any administrator token is active (neither revoked nor expired).
pub async fn has_active_administrator(
    prepared: &Prepared,
    clock: &dyn Clock,
) -> Result<bool, ServerError> {
    let n = tokens::count_active_administrators(prepared.store.as_ref(), clock)
        .await
        .map_err(|e| ServerError::Init(e.message.into_owned()))?;
    Ok(n > 0)
}

/// Whether `secret` is an active token of this data directory (the console checks
/// the embedded server's token it kept before trusting it).
pub async fn is_token_active(prepared: &Prepared, clock: &dyn Clock, secret: &str) -> bool {
    tokens::find_active(prepared.store.as_ref(), clock, secret)
        .await
        .is_ok()
}

/// A server accepting connections.
pub struct RunningServer {
    pub local_addr: SocketAddr,
    pub fingerprint: String,
    /// The gateway's address, when `[gateway]` is configured.
    pub gateway_addr: Option<SocketAddr>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// `https://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.local_addr)
    }

    /// Stops accepting, lets requests in flight finish (at most 10 s), then returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }

    /// Runs until the server stops (it never stops by itself: accept errors are
    /// retried).
    pub async fn wait(self) -> std::io::Result<()> {
        let _keep_open = self.shutdown;
        self.task.await.unwrap_or(Ok(()))
    }

    /// Runs until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// The application `start` serves, without a listener: the audit writer and the
/// policy refresh started, every stage of the pipeline in place. Tests that
/// drive the router directly (a request dropped at an exact moment) use it too.
pub async fn application(
    config: &Config,
    store: Arc<dyn Store>,
    sealer: Arc<Sealer>,
    clock: Arc<dyn Clock>,
    issuer: &str,
) -> Result<axum::Router, ServerError> {
    Ok(application_with_state(config, store, sealer, clock, issuer)
        .await?
        .0)
}

/// As [`application`], with the state it serves with (the gateway's host).
async fn application_with_state(
    config: &Config,
    store: Arc<dyn Store>,
    sealer: Arc<Sealer>,
    clock: Arc<dyn Clock>,
    issuer: &str,
) -> Result<(axum::Router, crate::app::AppState), ServerError> {
    let kek = crate::signing::load_or_create_kek(config)?;
    let outbox_clock = clock.clone();
    let senders = gatehouse_messaging::Senders::from_config(
        &config.messaging,
        Arc::new(move || outbox_clock.now()),
    )
    .map_err(|e| ServerError::Identity(format!("messaging: {e}")))?;
    let identity = Arc::new(crate::sign_in::Identity::new(
        &config.identity,
        &kek,
        senders,
        config.messaging.sms.clone(),
        config.directory.as_ref(),
    )?);
    let system = Arc::new(SystemChange {
        actor_kind: "system",
        actor_id: "gatehouse".into(),
        actor_name: "signing key schedule".into(),
        action: "keys.rotate",
        sealer: sealer.clone(),
    });
    let keys = KeyRing::open(
        config,
        issuer,
        store.clone(),
        kek,
        clock.now().timestamp(),
        system.as_ref(),
    )
    .await?;
    keys.spawn_schedule(clock.clone(), system);
    let token_state = TokenState::start(store.clone(), clock.clone(), keys.clone()).await?;
    let auth = Arc::new(Authenticator {
        store: store.clone(),
        clock: clock.clone(),
        keys,
        state: token_state,
    });
    let audit = AuditLog::start(
        store.clone(),
        sealer,
        clock.clone(),
        Duration::from_secs(config.audit.checkpoint_every_seconds),
        Some(config.effective_audit_witness_file()),
    );
    let now_us = clock.now().timestamp_micros();
    let policies = Arc::new(Policies::load(store.as_ref(), audit.sealer(), now_us).await?);
    crate::clients::ensure_console_client(store.as_ref(), audit.sealer(), now_us).await?;
    policies.spawn_refresh(store.clone());
    let session_writes =
        crate::session_writes::SessionWriter::start(store.clone(), audit.shared_sealer());
    let (router, _, state) = app::build(AppParts {
        store,
        clock,
        policies,
        audit,
        max_body_bytes: config.max_body_bytes,
        default_token_ttl_seconds: config.api_token_default_ttl_seconds,
        throttle: SourceLimiter::new(
            config.anonymous.requests_per_window,
            config.anonymous.window_seconds,
            config.anonymous.max_sources,
        ),
        capacity: config.capacity.clone(),
        stream: config.audit.stream.clone(),
        auth,
        tokens: TokenSettings {
            issuer: issuer.to_owned(),
            audience: config.tokens.audience.clone(),
            access_ttl_seconds: i64::try_from(config.tokens.access_token_ttl_seconds)
                .unwrap_or(300),
            secret_grace_seconds: i64::try_from(config.tokens.secret_grace_seconds)
                .unwrap_or(86_400),
        },
        identity,
        session_writes,
    });
    Ok((router, state))
}

/// Binds the listener and serves the API on it, with the limits of
/// `Config::listener_limits`.
pub async fn start(
    prepared: Prepared,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, ServerError> {
    let Prepared {
        config,
        store,
        tls,
        sealer,
    } = prepared;
    let bind_err = |e: std::io::Error| ServerError::Bind {
        addr: config.listen,
        reason: e.to_string(),
    };
    let tcp = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(bind_err)?;
    // Without a configured issuer, tokens name the address actually bound.
    let issuer = match tcp.local_addr() {
        Ok(addr) if config.tokens.issuer.is_none() => format!("https://{addr}"),
        _ => config.effective_issuer(),
    };
    let (router, state) = application_with_state(&config, store, sealer, clock, &issuer).await?;
    let (shutdown, rx) = oneshot::channel::<()>();
    let (stop_gateway, gateway_stopped) = tokio::sync::watch::channel(false);
    let gateway = match &config.gateway {
        Some(gateway) => {
            let stopped = async move {
                let mut stopped = gateway_stopped;
                let _ = stopped.wait_for(|s| *s).await;
            };
            Some(
                crate::gateway::start(
                    gateway,
                    state,
                    tls.server_config.clone(),
                    config.listener_limits(),
                    stopped,
                )
                .await?,
            )
        }
        None => None,
    };
    let listener =
        Listener::new(tcp, tls.server_config, config.listener_limits()).map_err(bind_err)?;
    let local_addr = listener.local_addr();
    let task = tokio::spawn(async move {
        listener
            .serve(router, async move {
                let _ = rx.await;
                let _ = stop_gateway.send(true);
            })
            .await;
        Ok(())
    });
    Ok(RunningServer {
        local_addr,
        fingerprint: tls.fingerprint,
        gateway_addr: gateway,
        shutdown,
        task,
    })
}
