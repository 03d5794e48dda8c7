//! `POST /v1/auth/directory` (ID-4, AD): a bind to the configured LDAP
//! directory or Active Directory, through `gatehouse-directory`.
//!
//! The user is created on their first sign-in, from the entry (type and
//! entitlements from the group mapping, email, phone and name from the
//! mapped attributes), as the directory's own change with its own record;
//! the sign-in is the request's record. Later sign-ins find the user by the
//! entry's DN and bring their type, entitlements and name up to date with the
//! directory (a change recorded with its before and after). A wrong password and an unknown login answer the same
//! `invalid_credentials`, no sooner than the password sign-in's floor; what
//! the directory says about the account (locked, expired, must change) is
//! answered as such; a directory that is down or slow is
//! `directory_unavailable`, after a bounded wait.

use gatehouse_audit::{Record, Sealer};
use gatehouse_directory::{DirectoryError, DirectoryUser};
use gatehouse_identity::contact::{Email, Phone};
use gatehouse_identity::user_type::SignInMethod;
use gatehouse_store::UserRow;
use gatehouse_types::{DirectorySignInRequest, ErrorCode};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::clock::to_micros;
use crate::error::ApiFailure;
use crate::pipeline::{Audit, RecordChange};
use crate::sign_in::{self, Failure, Step, Via, FAILURE_FLOOR};

/// `POST /v1/auth/directory`.
pub async fn sign_in(
    state: &AppState,
    audit: &Audit,
    request: DirectorySignInRequest,
    via: &Via,
) -> Result<Step, ApiFailure> {
    let started = tokio::time::Instant::now();
    let outcome = attempt(state, audit, request, via).await;
    if matches!(&outcome, Err(e) if e.code == ErrorCode::InvalidCredentials) {
        tokio::time::sleep_until(started + FAILURE_FLOOR).await;
    }
    outcome
}

fn answer(error: &DirectoryError) -> ApiFailure {
    match error {
        DirectoryError::AccountLocked => ApiFailure::new(
            ErrorCode::AccountLocked,
            "the directory says this account is locked: ask its administrators",
        ),
        DirectoryError::PasswordExpired { .. } => ApiFailure::new(
            ErrorCode::PasswordExpired,
            "the directory says the password or the account has expired: renew it there",
        ),
        DirectoryError::MustChangePassword => ApiFailure::new(
            ErrorCode::PasswordChangeRequired,
            "the directory says the password must be changed first: change it there",
        ),
        DirectoryError::Unavailable { .. } | DirectoryError::Misconfigured { .. } => {
            ApiFailure::new(
                ErrorCode::DirectoryUnavailable,
                "the directory did not answer: try again later",
            )
            .retry_after(30)
        }
        DirectoryError::InvalidCredentials
        | DirectoryError::AccountDisabled
        | DirectoryError::NotPermitted { .. } => sign_in::refused(),
    }
}

async fn attempt(
    state: &AppState,
    audit: &Audit,
    request: DirectorySignInRequest,
    via: &Via,
) -> Result<Step, ApiFailure> {
    audit.detail("sign_in_method", json!("directory"));
    let Some(directory) = &state.identity.directory else {
        return Err(ApiFailure::new(
            ErrorCode::NotFound,
            "no directory is configured on this server",
        ));
    };
    let login: String = request.login.chars().take(64).collect();
    audit.detail("sign_in_login", json!(login));
    let password = zeroize::Zeroizing::new(request.password);
    let now_us = to_micros(state.clock.now());
    let source = audit.facts.source_ip.clone();
    if state
        .identity
        .is_source_throttled(&source, now_us / 1_000_000)
    {
        return Err(sign_in::note_failure(audit, Failure::Throttled, None));
    }
    let entry = match directory.authenticate(&request.login, &password).await {
        Ok(entry) => entry,
        Err(error) => {
            audit.detail("sign_in_outcome", json!("failure"));
            audit.detail("sign_in_failure", json!(error.code()));
            if let DirectoryError::Unavailable { reason }
            | DirectoryError::Misconfigured { reason } = &error
            {
                tracing::warn!(%reason, "directory sign-in failed");
                audit.detail("directory_error", json!(reason));
            }
            if matches!(error, DirectoryError::InvalidCredentials) {
                state
                    .identity
                    .record_source_failure(&source, now_us / 1_000_000);
            }
            return Err(answer(&error));
        }
    };
    let kind = match crate::users::load_type(state.store.as_ref(), &entry.user_type).await {
        Ok(kind) if kind.sign_in.contains(&SignInMethod::Directory) => kind,
        _ => {
            return Err(sign_in::note_failure(
                audit,
                Failure::MethodNotAllowed,
                None,
            ))
        }
    };
    let user = match state.store.users().find_by_directory_dn(&entry.dn).await? {
        Some(user) => follow(state, audit, user, &entry, now_us).await?,
        None => provision(state, audit, &entry, now_us).await?,
    };
    if let Some(failure) = sign_in::barrier(&user, now_us) {
        return Err(sign_in::note_failure(audit, failure, Some(&user.id)));
    }
    let has_totp = crate::challenges::has_totp(state, &user.id).await?;
    crate::challenges::after_first_factor(state, audit, (&user, &kind, has_totp), "pwd", via).await
}

/// The directory's own change: a user made from its entry, or brought up to
/// date with it.
struct Provision<'a> {
    action: &'static str,
    sealer: &'a Sealer,
    source_ip: &'a str,
    request_id: &'a str,
}

impl RecordChange for Provision<'_> {
    fn record(
        &self,
        time_us: i64,
        (kind, id): (&str, &str),
        before: Option<Value>,
        after: Option<Value>,
    ) -> Record {
        Record {
            time_us,
            actor_kind: "system".into(),
            actor_id: "directory".into(),
            actor_name: "directory sign-in".into(),
            action: self.action.into(),
            resource_type: kind.into(),
            resource_id: id.into(),
            outcome: "success".into(),
            source_ip: self.source_ip.into(),
            request_id: format!("{}-directory", self.request_id),
            before: before.map(|v| v.to_string()),
            after: after.map(|v| v.to_string()),
            ..Record::default()
        }
    }

    fn sealer(&self) -> &Sealer {
        self.sealer
    }
}

fn display_name_of(entry: &DirectoryUser) -> String {
    entry
        .display_name
        .clone()
        .unwrap_or_else(|| entry.login.clone())
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// Brings a user the directory made up to date with their entry: type,
/// entitlements and name follow the directory (a person moved out of a group
/// loses what it gave at their next sign-in).
async fn follow(
    state: &AppState,
    audit: &Audit,
    user: UserRow,
    entry: &DirectoryUser,
    now_us: i64,
) -> Result<UserRow, ApiFailure> {
    let entitlements: Vec<String> = serde_json::from_str(&user.entitlements).unwrap_or_default();
    let display_name = display_name_of(entry);
    let is_current = user.user_type == entry.user_type
        && entitlements == entry.entitlements
        && user.display_name == display_name;
    if is_current {
        return Ok(user);
    }
    let edit = crate::users::Edit::Update(gatehouse_types::UpdateUserRequest {
        user_type: Some(entry.user_type.clone()),
        display_name: Some(display_name),
        entitlements: Some(entry.entitlements.clone()),
        ..gatehouse_types::UpdateUserRequest::default()
    });
    let change = Provision {
        action: "users.update",
        sealer: state.audit.sealer(),
        source_ip: &audit.facts.source_ip,
        request_id: &audit.facts.request_id,
    };
    crate::users::apply(state.store.as_ref(), now_us, &user.id, edit, &change).await?;
    state.audit.notify_appended();
    audit.detail("directory_synced", json!(true));
    Ok(state.store.users().find(&user.id).await?.unwrap_or(user))
}

/// Creates the user an entry signs in as for the first time. An email or a
/// phone the directory holds that does not parse is left out; one another
/// user already has refuses the sign-in (the record says so).
async fn provision(
    state: &AppState,
    audit: &Audit,
    entry: &DirectoryUser,
    now_us: i64,
) -> Result<UserRow, ApiFailure> {
    let email = entry
        .email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .map(|e| e.as_str().to_owned());
    let phone = entry
        .phone
        .as_deref()
        .and_then(|p| Phone::parse(p).ok())
        .map(|p| p.as_str().to_owned());
    let display_name = display_name_of(entry);
    let row = UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_type: entry.user_type.clone(),
        status: "active".into(),
        search_name: display_name.to_lowercase(),
        display_name,
        is_email_verified: email.is_some(),
        email,
        is_phone_verified: phone.is_some(),
        phone,
        attributes: "{}".into(),
        entitlements: json!(entry.entitlements).to_string(),
        source: "directory".into(),
        directory_dn: Some(entry.dn.clone()),
        created_at_us: now_us,
        created_by: "directory".into(),
        updated_at_us: now_us,
        recent_failures: "[]".into(),
        locked_until_us: None,
    };
    let change = Provision {
        action: "users.create",
        sealer: state.audit.sealer(),
        source_ip: &audit.facts.source_ip,
        request_id: &audit.facts.request_id,
    };
    let after = crate::users::to_response(&row)
        .ok()
        .and_then(|r| serde_json::to_value(r).ok());
    let record = change.record(now_us, ("user", &row.id), None, after);
    match state
        .store
        .users()
        .create(&row, &record, change.sealer())
        .await
    {
        Ok(()) => {
            state.audit.notify_appended();
            audit.detail("provisioned", json!(true));
            Ok(row)
        }
        Err(gatehouse_store::StoreError::Conflict) => {
            audit.detail("sign_in_failure", json!("contact_taken"));
            Err(sign_in::refused())
        }
        Err(other) => Err(other.into()),
    }
}
