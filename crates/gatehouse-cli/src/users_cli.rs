//! `gatehouse users create|list|lock|unlock`: users straight on the database
//! (offline), each change recorded as the local operator's, with the same
//! checks as the API's.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use gatehouse_server::config::Config;
use gatehouse_server::pipeline::SystemChange;
use gatehouse_server::users::{self, Edit, UserQuery};
use gatehouse_server::ApiFailure;
use gatehouse_store::Store;
use gatehouse_types::{CreateUserRequest, UserResponse, UserStatus};
use serde_json::{Map, Value};

/// What `gatehouse users` was asked to do.
pub enum Request {
    Create {
        user_type: String,
        display_name: String,
        email: Option<String>,
        phone: Option<String>,
        /// `name=value`; a value that parses as JSON (a number, a boolean, a
        /// list) is taken as such, anything else as a string.
        attributes: Vec<String>,
        entitlements: Vec<String>,
    },
    List {
        user_type: Option<String>,
        status: Option<String>,
        q: Option<String>,
        limit: u32,
    },
    Lock(String),
    Unlock(String),
}

fn failed(e: ApiFailure) -> anyhow::Error {
    anyhow!("{}", e.message)
}

fn attributes(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut map = Map::new();
    for pair in pairs {
        let Some((name, text)) = pair.split_once('=') else {
            bail!("--attribute {pair:?}: must be name=value");
        };
        let value = serde_json::from_str::<Value>(text)
            .ok()
            .filter(|v| !v.is_string() && !v.is_object() && !v.is_null())
            .unwrap_or_else(|| Value::String(text.to_owned()));
        map.insert(name.to_owned(), value);
    }
    Ok(map)
}

fn print(users: &[UserResponse]) {
    println!(
        "{:<36} {:<12} {:<9} {:<30} {:<16} name",
        "id", "type", "status", "email", "phone"
    );
    for u in users {
        println!(
            "{:<36} {:<12} {:<9} {:<30} {:<16} {}",
            u.id,
            u.user_type,
            u.status.as_str(),
            u.email.as_deref().unwrap_or("-"),
            u.phone.as_deref().unwrap_or("-"),
            u.display_name
        );
    }
}

/// `gatehouse demo`.
pub async fn demo(config: Config) -> anyhow::Result<ExitCode> {
    let store = gatehouse_store::open_existing(&config.effective_database_url()).await?;
    let sealer = gatehouse_server::audit::load_sealer(&config).map(Arc::new);
    let now_us = gatehouse_server::clock::to_micros(chrono::Utc::now());
    let outcome = match sealer {
        Ok(sealer) => gatehouse_server::demo::seed(store.as_ref(), now_us, sealer)
            .await
            .map_err(failed),
        Err(e) => Err(e.into()),
    };
    store.close().await;
    let report = outcome?;
    println!(
        "user types: {}, registration flows: {}, users created: {}, already there: {}, \
         sessions: {}, sign-ups awaiting approval: {}, clients: {}",
        report.user_types,
        report.flows,
        report.users_created,
        report.users_kept,
        report.sessions,
        report.pending,
        report.clients
    );
    let traffic = demo_gateway(config).await?;
    println!(
        "gateway: a demo service behind it, {} requests through it ({} passed, {} refused)",
        traffic.sent, traffic.passed, traffic.refused
    );
    Ok(ExitCode::SUCCESS)
}

/// The gateway's demo: the server with a gateway in front of the demo service,
/// on free loopback ports, for as long as its traffic takes.
async fn demo_gateway(
    mut config: Config,
) -> anyhow::Result<gatehouse_server::demo_gateway::Traffic> {
    use gatehouse_server::demo_gateway;
    let service = demo_gateway::start_service().await?;
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.gateway = Some(demo_gateway::config(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        service,
    ));
    let clock = Arc::new(gatehouse_server::clock::SystemClock);
    let prepared = gatehouse_server::prepare(config).await?;
    let callers = demo_gateway::callers(&prepared, clock.as_ref()).await?;
    let server = gatehouse_server::start(prepared, clock).await?;
    let gateway = server
        .gateway_addr
        .ok_or_else(|| anyhow!("the gateway did not start"))?;
    let traffic =
        demo_gateway::traffic(&callers, &server.base_url(), &format!("https://{gateway}")).await;
    server.shutdown().await;
    Ok(traffic?)
}

pub async fn run(config: Config, request: Request) -> anyhow::Result<ExitCode> {
    let store = gatehouse_store::open_existing(&config.effective_database_url()).await?;
    let outcome = run_on(&config, store.as_ref(), request).await;
    store.close().await;
    outcome
}

async fn run_on(config: &Config, store: &dyn Store, request: Request) -> anyhow::Result<ExitCode> {
    let action = match &request {
        Request::Create { .. } => "users.create",
        Request::List { .. } => "users.list",
        Request::Lock(_) => "users.lock",
        Request::Unlock(_) => "users.unlock",
    };
    let change = SystemChange {
        actor_kind: "operator",
        actor_id: format!("gatehouse {}", action.replace('.', " ")),
        actor_name: "local operator".into(),
        action,
        sealer: Arc::new(gatehouse_server::audit::load_sealer(config)?),
    };
    let now_us = gatehouse_server::clock::to_micros(chrono::Utc::now());
    let changed = match request {
        Request::Create {
            user_type,
            display_name,
            email,
            phone,
            attributes: pairs,
            entitlements,
        } => {
            let request = CreateUserRequest {
                user_type,
                display_name,
                email,
                phone,
                attributes: attributes(&pairs)?,
                entitlements,
                status: None,
            };
            users::create_in(
                store,
                now_us,
                "local operator".into(),
                request,
                &|_| Ok(Vec::new()),
                &change,
            )
            .await
            .map_err(failed)?
        }
        Request::List {
            user_type,
            status,
            q,
            limit,
        } => {
            let status = status
                .map(|s| {
                    UserStatus::parse(&s).ok_or_else(|| {
                        anyhow!("--status {s:?}: pending, active, locked or disabled")
                    })
                })
                .transpose()?;
            let query = UserQuery {
                user_type,
                status,
                q,
                limit: Some(limit),
                ..UserQuery::default()
            };
            let page = users::list(store, query).await.map_err(failed)?;
            print(&page.items);
            if let Some(after) = page.next_after {
                eprintln!("(more after {after})");
            }
            return Ok(ExitCode::SUCCESS);
        }
        Request::Lock(id) => users::apply(store, now_us, &id, Edit::Lock, &change)
            .await
            .map_err(failed)?,
        Request::Unlock(id) => users::apply(store, now_us, &id, Edit::Unlock, &change)
            .await
            .map_err(failed)?,
    };
    print(std::slice::from_ref(&changed));
    Ok(ExitCode::SUCCESS)
}
