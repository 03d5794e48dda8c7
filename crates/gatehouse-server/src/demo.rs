//! `gatehouse demo`: seeds a data directory with a living system, so that a new
//! user of the console sees users to manage: three user types (clinicians,
//! patients, operators) with their registration flows, and a few dozen users
//! of each, every one created through the same checks and records as the API.
//! Running it again adds nothing that exists (types and flows are replaced
//! with the same definitions; users already seeded are kept).

use std::sync::Arc;

use gatehouse_audit::Sealer;
use gatehouse_store::{Store, UserFilter};
use gatehouse_types::{CreateUserRequest, RegistrationFlowDefinition, UserTypeDefinition};
use serde_json::{json, Map, Value};

use crate::error::ApiFailure;
use crate::pipeline::SystemChange;
use crate::{user_types, users};

/// How many users of each type the demo seeds.
pub const USERS_PER_TYPE: usize = 36;

/// What a run seeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoReport {
    pub user_types: usize,
    pub flows: usize,
    pub users_created: usize,
    pub users_kept: usize,
    /// Sessions opened for seeded users (first run only).
    pub sessions: usize,
    /// Sign-ups waiting for an administrator (first run only).
    pub pending: usize,
    /// OAuth clients registered (those missing).
    pub clients: usize,
}

fn definitions() -> Result<Vec<(UserTypeDefinition, RegistrationFlowDefinition)>, ApiFailure> {
    let value = json!([
        [{
            "name": "clinician",
            "description": "Doctors and nurses: password and a text code, or the hospital directory",
            "attributes": [
                {"name": "department", "kind": "string", "is_required": true},
                {"name": "wards", "kind": "string_set"},
                {"name": "grade", "kind": "long"}
            ],
            "sign_in": ["password_and_phone_code", "directory"],
            "second_factor": "required"
        }, {
            "user_type": "clinician", "is_open": true,
            "proofs": ["email", "phone", "password"],
            "requires_approval": true, "attributes": ["department"]
        }],
        [{
            "name": "patient",
            "description": "Patients: their phone number is enough",
            "attributes": [
                {"name": "ward", "kind": "string"},
                {"name": "is_inpatient", "kind": "boolean"}
            ],
            "sign_in": ["phone_code", "email_code"],
            "second_factor": "optional"
        }, {
            "user_type": "patient", "is_open": true, "proofs": ["phone"],
            "requires_approval": false, "attributes": []
        }],
        [{
            "name": "operator",
            "description": "The security team: password and an authenticator app",
            "attributes": [
                {"name": "team", "kind": "string", "is_required": true},
                {"name": "is_on_call", "kind": "boolean"}
            ],
            "sign_in": ["password"],
            "second_factor": "required",
            "role": "auditor"
        }, {
            "user_type": "operator", "is_open": false,
            "proofs": ["email", "password", "totp"],
            "requires_approval": true, "attributes": []
        }]
    ]);
    serde_json::from_value(value).map_err(|_| ApiFailure::internal())
}

const FIRST: [&str; 12] = [
    "Ann", "Bola", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Jaya", "Kofi",
    "Lena",
];
const LAST: [&str; 6] = ["Smith", "Okafor", "Novak", "Haddad", "Tanaka", "Silva"];
const DEPARTMENTS: [&str; 4] = ["icu", "oncology", "cardiology", "emergency"];
const WARDS: [&str; 6] = ["a1", "a2", "b1", "b2", "c1", "c2"];
const TEAMS: [&str; 3] = ["detection", "identity", "platform"];

/// The `i`-th demo user of `user_type`.
fn person(user_type: &str, i: usize) -> CreateUserRequest {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    let mut attributes = Map::new();
    let mut entitlements = Vec::new();
    let mut email = Some(format!(
        "{}.{}.{i}@{user_type}s.example",
        first.to_lowercase(),
        last.to_lowercase()
    ));
    let phone = Some(format!("+4477009{:02}{:03}", type_code(user_type), i));
    match user_type {
        "clinician" => {
            attributes.insert("department".into(), json!(DEPARTMENTS[i % 4]));
            attributes.insert("wards".into(), json!([WARDS[i % 6], WARDS[(i + 2) % 6]]));
            attributes.insert("grade".into(), json!((i % 5) as i64 + 1));
            entitlements.push("records:read".to_owned());
            if i.is_multiple_of(3) {
                entitlements.push("records:write".to_owned());
            }
        }
        "patient" => {
            attributes.insert("ward".into(), json!(WARDS[i % 6]));
            attributes.insert("is_inpatient".into(), Value::Bool(i.is_multiple_of(2)));
            if !i.is_multiple_of(4) {
                email = None;
            }
        }
        _ => {
            attributes.insert("team".into(), json!(TEAMS[i % 3]));
            attributes.insert("is_on_call".into(), Value::Bool(i.is_multiple_of(5)));
            entitlements.push("console:use".to_owned());
        }
    }
    CreateUserRequest {
        user_type: user_type.to_owned(),
        display_name: format!("{first} {last}"),
        email,
        phone,
        attributes,
        entitlements,
        status: None,
    }
}

fn type_code(user_type: &str) -> u32 {
    match user_type {
        "clinician" => 1,
        "patient" => 2,
        _ => 3,
    }
}

/// Seeds the demo at `now_us`; each change is the local operator's
/// (`gatehouse demo`), recorded under its own action.
pub async fn seed(
    store: &dyn Store,
    now_us: i64,
    sealer: Arc<Sealer>,
) -> Result<DemoReport, ApiFailure> {
    let as_action = |action: &'static str| SystemChange {
        actor_kind: "operator",
        actor_id: "gatehouse demo".into(),
        actor_name: "local operator".into(),
        action,
        sealer: sealer.clone(),
    };
    let mut report = DemoReport::default();
    for (kind, flow) in definitions()? {
        let name = kind.name.clone();
        let change = as_action("user_types.put");
        user_types::put_type_in(store, now_us, &name, kind, &change).await?;
        report.user_types += 1;
        let change = as_action("registration_flows.put");
        user_types::put_flow_in(store, now_us, &name, flow, &change).await?;
        report.flows += 1;
        for i in 0..USERS_PER_TYPE {
            let request = person(&name, i);
            let existing = match request.phone.as_deref() {
                Some(phone) => store.users().find_by_phone(phone).await?,
                None => None,
            };
            if existing.is_some() {
                report.users_kept += 1;
                continue;
            }
            let change = as_action("users.create");
            users::create_in(
                store,
                now_us,
                "gatehouse demo".into(),
                request,
                &|_| Ok(Vec::new()),
                &change,
            )
            .await?;
            report.users_created += 1;
        }
    }
    // One of each type locked, one disabled, on the first run: the console
    // shows every status.
    let is_first_run = report.users_kept == 0;
    for user_type in ["clinician", "patient", "operator"]
        .into_iter()
        .filter(|_| is_first_run)
    {
        let filter = UserFilter {
            user_type: Some(user_type.into()),
            status: Some("active".into()),
            limit: 2,
            ..UserFilter::default()
        };
        let rows = store.users().list(&filter).await?;
        if let [first, second] = rows.as_slice() {
            let change = as_action("users.lock");
            users::apply(store, now_us, &first.id, users::Edit::Lock, &change).await?;
            let change = as_action("users.disable");
            users::apply(store, now_us, &second.id, users::disabling(), &change).await?;
        }
        report.sessions += seed_sessions(store, now_us, user_type, &as_action).await?;
    }
    if is_first_run {
        report.pending += seed_pending(store, now_us, &as_action).await?;
    }
    report.clients += seed_clients(store, now_us, &as_action("clients.create")).await?;
    Ok(report)
}

/// Two applications, so the Machines page shows what machines and apps
/// look like: a service with client credentials, and a native app signing
/// people in with code + PKCE.
async fn seed_clients(
    store: &dyn Store,
    now_us: i64,
    change: &SystemChange,
) -> Result<usize, ApiFailure> {
    let apps = [
        (
            "demo-billing",
            "Billing service",
            true,
            "service",
            "client_credentials",
            "audit:write decisions:read",
            json!([]),
        ),
        (
            "demo-ward-rounds",
            "Ward Rounds (mobile)",
            false,
            "user",
            "authorization_code refresh_token",
            "openid profile email offline_access",
            json!([
                "http://127.0.0.1/callback",
                "https://rounds.example.org/callback"
            ]),
        ),
    ];
    let mut created = 0;
    for (id, name, is_confidential, role, grants, scopes, redirects) in apps {
        if store.clients().find(id).await?.is_some() {
            continue;
        }
        let secret = is_confidential.then(|| {
            gatehouse_tokens::oauth::hash_secret(&gatehouse_tokens::oauth::generate_secret(
                &mut rand::rngs::OsRng,
            ))
        });
        let row = gatehouse_store::ClientRow {
            id: id.into(),
            name: name.into(),
            is_confidential,
            role: role.into(),
            grants: grants.into(),
            scopes: scopes.into(),
            redirect_uris: redirects.to_string(),
            status: "active".into(),
            secret_hash: secret,
            previous_secret_hash: None,
            previous_secret_until_us: None,
            tokens_valid_after_us: 0,
            created_at_us: now_us,
            created_by: "gatehouse demo".into(),
            updated_at_us: now_us,
        };
        let record = crate::pipeline::RecordChange::record(
            change,
            now_us,
            ("client", id),
            None,
            Some(json!({"client_id": id, "name": name, "grants": grants, "scopes": scopes})),
        );
        store
            .clients()
            .create(&row, &record, &change.sealer)
            .await?;
        created += 1;
    }
    Ok(created)
}

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) Safari/605.1.15",
    "Gatehouse-Console/0.1 (Tauri)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1) Mobile/15E148",
];

/// Sessions for the first active users of a type, started over the last
/// hours from a few places, so the sessions views show people signed in.
async fn seed_sessions(
    store: &dyn Store,
    now_us: i64,
    user_type: &str,
    as_action: &dyn Fn(&'static str) -> SystemChange,
) -> Result<usize, ApiFailure> {
    let filter = UserFilter {
        user_type: Some(user_type.into()),
        status: Some("active".into()),
        limit: 6,
        ..UserFilter::default()
    };
    let mut opened = 0;
    for (i, user) in store.users().list(&filter).await?.iter().enumerate() {
        let started = now_us - i64::try_from(i).unwrap_or(0) * 47 * 60 * 1_000_000;
        let amr = if user_type == "clinician" {
            json!(["pwd", "sms", "mfa"])
        } else {
            json!(["sms"])
        };
        let session = gatehouse_store::SessionRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user.id.clone(),
            amr: amr.to_string(),
            source_ip: format!("10.20.{}.{}", type_code(user_type), 10 + i),
            user_agent: USER_AGENTS[i % USER_AGENTS.len()].to_owned(),
            created_at_us: started,
            last_seen_at_us: started + 5 * 60 * 1_000_000,
            ended_at_us: None,
            end_reason: None,
            client_id: crate::sessions::FIRST_PARTY_CLIENT.into(),
            scope: String::new(),
        };
        // No refresh token: the session is listed and can be ended, never
        // refreshed.
        let change = as_action("sessions.open");
        let record = crate::pipeline::RecordChange::record(
            &change,
            started,
            ("user", &user.id),
            None,
            Some(json!({"sid": session.id, "amr": amr, "source_ip": session.source_ip})),
        );
        store
            .sessions()
            .open_session(&session, None, None, &record, &change.sealer)
            .await?;
        opened += 1;
    }
    Ok(opened)
}

/// Two sign-ups per open flow waiting for an administrator's approval.
async fn seed_pending(
    store: &dyn Store,
    now_us: i64,
    as_action: &dyn Fn(&'static str) -> SystemChange,
) -> Result<usize, ApiFailure> {
    let mut created = 0;
    for (user_type, i) in [
        ("clinician", 90),
        ("clinician", 91),
        ("patient", 90),
        ("patient", 91),
    ] {
        let mut request = person(user_type, i);
        request.status = Some(gatehouse_types::UserStatus::Pending);
        let change = as_action("users.create");
        users::create_in(
            store,
            now_us,
            "sign-up".into(),
            request,
            &|_| Ok(Vec::new()),
            &change,
        )
        .await?;
        created += 1;
    }
    Ok(created)
}
