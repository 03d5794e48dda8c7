//! Users as administrators manage them (ID-3): created, listed with filters a
//! keyset page at a time, read, changed and disabled (a soft delete), every
//! change committed with its before/after record. Every value is checked by
//! `gatehouse-identity` against the user's type before it is stored.

use gatehouse_authz::AttrValue;
use gatehouse_identity::contact::{Email, Phone};
use gatehouse_identity::user_type::{check_entitlements, UserType};
use gatehouse_identity::IdentityError;
use gatehouse_store::{Store, UserFilter, UserRow, UserUpdated};
use gatehouse_types::{
    CreateUserRequest, ErrorCode, UpdateUserRequest, UserPage, UserResponse, UserStatus,
    MAX_USER_PAGE,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::clock::{from_micros, to_micros};
use crate::error::ApiFailure;
use crate::pipeline::{Principal, RecordChange};

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 128;
const DEFAULT_PAGE: u32 = 100;

fn invalid(message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(ErrorCode::ValidationFailed, message.into())
}

/// The identity crate's refusal, in the one error shape. Its messages name
/// the field and never repeat a secret.
pub fn refused(e: IdentityError) -> ApiFailure {
    match e {
        IdentityError::Hash => ApiFailure::internal(),
        other => invalid(other.to_string()),
    }
}

/// `GET /v1/users`' query: every filter given must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    pub user_type: Option<String>,
    pub status: Option<UserStatus>,
    /// `name:value`: users whose attribute `name` is (or, a set, holds) `value`.
    pub attribute: Option<String>,
    pub entitlement: Option<String>,
    /// A prefix of the email, phone number or display name.
    pub q: Option<String>,
    /// The previous page's `next_after`.
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// The user type named `name`, as stored; unknown is a validation failure
/// (the type is part of the request).
pub async fn load_type(store: &dyn Store, name: &str) -> Result<UserType, ApiFailure> {
    let row = store
        .user_types()
        .find_type(name)
        .await?
        .ok_or_else(|| invalid(format!("user_type: no user type is named {name:?}")))?;
    serde_json::from_str(&row.definition).map_err(|_| ApiFailure::internal())
}

pub(crate) fn check_display_name(name: &str) -> Result<String, ApiFailure> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "display_name: must be 1 to {MAX_DISPLAY_NAME_CHARS} characters with no control characters"
        )));
    }
    Ok(name.to_owned())
}

fn attributes_json(user_type: &UserType, input: &Map<String, Value>) -> Result<String, ApiFailure> {
    let checked = user_type.check_attributes(input).map_err(refused)?;
    serde_json::to_string(&checked).map_err(|_| ApiFailure::internal())
}

fn entitlements_json(input: &[String]) -> Result<String, ApiFailure> {
    let checked = check_entitlements(input).map_err(refused)?;
    serde_json::to_string(&checked).map_err(|_| ApiFailure::internal())
}

fn is_auto_locked(row: &UserRow, now_us: i64) -> bool {
    row.locked_until_us.is_some_and(|until| until > now_us)
}

/// The user as answered and recorded: no credential of any kind.
pub fn to_response(row: &UserRow) -> Result<UserResponse, ApiFailure> {
    Ok(UserResponse {
        id: row.id.clone(),
        user_type: row.user_type.clone(),
        status: UserStatus::parse(&row.status).ok_or_else(ApiFailure::internal)?,
        display_name: row.display_name.clone(),
        email: row.email.clone(),
        is_email_verified: row.is_email_verified,
        phone: row.phone.clone(),
        is_phone_verified: row.is_phone_verified,
        attributes: serde_json::from_str(&row.attributes).map_err(|_| ApiFailure::internal())?,
        entitlements: serde_json::from_str(&row.entitlements)
            .map_err(|_| ApiFailure::internal())?,
        source: row.source.clone(),
        locked_until: row.locked_until_us.map(from_micros),
        created_at: from_micros(row.created_at_us),
        updated_at: from_micros(row.updated_at_us),
    })
}

fn json_of(row: &UserRow) -> Option<Value> {
    to_response(row)
        .ok()
        .and_then(|r| serde_json::to_value(r).ok())
}

/// A user's stored attributes (checked against their type when written) as
/// the schema's `UserAttributes` record.
fn typed_attributes(stored: &str) -> AttrValue {
    let map: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    let fields = map
        .into_iter()
        .filter_map(|(name, value)| {
            let value = match value {
                Value::String(s) => AttrValue::String(s),
                Value::Bool(b) => AttrValue::Bool(b),
                Value::Number(n) => AttrValue::Long(n.as_i64()?),
                Value::Array(items) => AttrValue::Set(
                    items
                        .into_iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                ),
                Value::Null | Value::Object(_) => return None,
            };
            Some((name, value))
        })
        .collect();
    AttrValue::Record(fields)
}

/// The user as policies see it (the schema's `User`): a locked user is
/// `is_locked` whether an administrator or the lockout locked them.
pub fn entity_attributes(row: &UserRow, now_us: i64) -> Vec<(&'static str, AttrValue)> {
    let entitlements: Vec<String> = serde_json::from_str(&row.entitlements).unwrap_or_default();
    let mut attributes = vec![
        ("name", AttrValue::String(row.display_name.clone())),
        ("type", AttrValue::String(row.user_type.clone())),
        ("attributes", typed_attributes(&row.attributes)),
        ("user_type", AttrValue::String(row.user_type.clone())),
        ("status", AttrValue::String(row.status.clone())),
        ("entitlements", AttrValue::Set(entitlements)),
        (
            "is_locked",
            AttrValue::Bool(row.status == "locked" || is_auto_locked(row, now_us)),
        ),
        // No second factor can be enrolled yet: sign-in comes next.
        ("has_mfa", AttrValue::Bool(false)),
    ];
    if let Some(email) = &row.email {
        attributes.push(("email", AttrValue::String(email.clone())));
    }
    if let Some(phone) = &row.phone {
        attributes.push(("phone", AttrValue::String(phone.clone())));
    }
    attributes
}

/// Creates a user an administrator vouches for: their contact points count
/// as verified.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    request: CreateUserRequest,
    change: &dyn RecordChange,
) -> Result<UserResponse, ApiFailure> {
    let created_by = format!("{} ({})", caller.name, caller.id());
    let now_us = to_micros(state.clock.now());
    create_in(
        state.store.as_ref(),
        now_us,
        created_by,
        request,
        &|_| Ok(Vec::new()),
        change,
    )
    .await
}

/// [`create`] on a store, by `created_by` (the API's caller, the operator at
/// the command line, or a sign-up), with the user's first credentials, made
/// by `credentials` for the new user's id.
pub async fn create_in(
    store: &dyn Store,
    now_us: i64,
    created_by: String,
    request: CreateUserRequest,
    credentials: &(dyn Fn(&str) -> Result<Vec<gatehouse_store::CredentialRow>, ApiFailure> + Sync),
    change: &dyn RecordChange,
) -> Result<UserResponse, ApiFailure> {
    let user_type = load_type(store, &request.user_type).await?;
    let display_name = check_display_name(&request.display_name)?;
    let email = request
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(refused)?;
    let phone = request
        .phone
        .as_deref()
        .map(Phone::parse)
        .transpose()
        .map_err(refused)?;
    if email.is_none() && phone.is_none() {
        return Err(invalid(
            "email or phone: a user needs at least one way to be reached",
        ));
    }
    let row = UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_type: user_type.name.as_str().to_owned(),
        status: request.status.unwrap_or(UserStatus::Active).as_str().into(),
        search_name: display_name.to_lowercase(),
        display_name,
        is_email_verified: email.is_some(),
        email: email.map(|e| e.as_str().to_owned()),
        is_phone_verified: phone.is_some(),
        phone: phone.map(|p| p.as_str().to_owned()),
        attributes: attributes_json(&user_type, &request.attributes)?,
        entitlements: entitlements_json(&request.entitlements)?,
        source: "local".into(),
        directory_dn: None,
        created_at_us: now_us,
        created_by,
        updated_at_us: now_us,
        recent_failures: "[]".into(),
        locked_until_us: None,
    };
    let record = change.record(now_us, ("user", &row.id), None, json_of(&row));
    let credentials = credentials(&row.id)?;
    store
        .users()
        .create_with_credentials(&row, &credentials, &record, change.sealer())
        .await
        .map_err(|e| match e {
            gatehouse_store::StoreError::Conflict => ApiFailure::new(
                ErrorCode::Conflict,
                "another user has this email address or phone number",
            ),
            other => other.into(),
        })?;
    to_response(&row)
}

/// The filter a query asks for, checked.
pub(crate) fn filter_of(query: UserQuery) -> Result<UserFilter, ApiFailure> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_USER_PAGE {
        return Err(ApiFailure::new(
            ErrorCode::InvalidParameter,
            format!("query parameter `limit`: must be 1 to {MAX_USER_PAGE}"),
        ));
    }
    let attribute = query
        .attribute
        .map(|a| {
            a.split_once(':')
                .filter(|(n, v)| !n.is_empty() && !v.is_empty())
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    ApiFailure::new(
                        ErrorCode::InvalidParameter,
                        "query parameter `attribute`: must be name:value",
                    )
                })
        })
        .transpose()?;
    let too_long = [&query.user_type, &query.entitlement, &query.q, &query.after]
        .into_iter()
        .flatten()
        .chain(attribute.iter().map(|(_, v)| v))
        .any(|v| v.len() > 256);
    if too_long {
        return Err(ApiFailure::new(
            ErrorCode::InvalidParameter,
            "query parameters are at most 256 bytes each",
        ));
    }
    Ok(UserFilter {
        user_type: query.user_type,
        status: query.status.map(|s| s.as_str().to_owned()),
        attribute,
        entitlement: query.entitlement,
        prefix: query.q.filter(|q| !q.is_empty()),
        after: query.after,
        limit,
    })
}

/// One page; `next_after` is set when the page is full.
pub async fn list(store: &dyn Store, query: UserQuery) -> Result<UserPage, ApiFailure> {
    let filter = filter_of(query)?;
    let rows = store.users().list(&filter).await?;
    let next_after = (rows.len() == filter.limit as usize)
        .then(|| rows.last().map(|r| r.id.clone()))
        .flatten();
    Ok(UserPage {
        items: rows.iter().map(to_response).collect::<Result<_, _>>()?,
        next_after,
    })
}

pub async fn read(store: &dyn Store, id: &str) -> Result<UserResponse, ApiFailure> {
    let row = store
        .users()
        .find(id)
        .await?
        .ok_or_else(|| ApiFailure::not_found("user"))?;
    to_response(&row)
}

/// What a change does to a stored user.
pub enum Edit {
    Update(UpdateUserRequest),
    /// An administrator's lock: until unlocked (ID-7's automatic lockout ends
    /// by itself).
    Lock,
    /// Ends an administrator's lock and an automatic lockout.
    Unlock,
    /// A pending registration (ID-2) made active.
    Approve,
    /// A pending registration refused: the user is disabled.
    Reject,
}

/// The user `edit` makes of `before`, checked against the (new) type.
/// `updated_at` of a changed user: now, but always later than the version
/// changed, so it also serves as the version an editor read
/// (`expected_updated_at`) when two changes fall in one microsecond or the
/// clock steps back.
fn next_version(before: &UserRow, now_us: i64) -> i64 {
    now_us.max(before.updated_at_us.saturating_add(1))
}

fn edited(
    before: &UserRow,
    edit: &Edit,
    user_type: &UserType,
    now_us: i64,
) -> Result<UserRow, ApiFailure> {
    let request = match edit {
        Edit::Update(request) => request,
        Edit::Approve | Edit::Reject => {
            if before.status != "pending" {
                return Err(invalid(
                    "status: only a pending registration is approved or rejected",
                ));
            }
            let mut after = before.clone();
            after.status = if matches!(edit, Edit::Approve) {
                "active"
            } else {
                "disabled"
            }
            .into();
            after.updated_at_us = next_version(before, now_us);
            return Ok(after);
        }
        Edit::Lock | Edit::Unlock => {
            let mut after = before.clone();
            if before.status == "disabled" {
                return Err(invalid(
                    "status: a disabled user cannot be locked or unlocked",
                ));
            }
            if matches!(edit, Edit::Lock) {
                after.status = "locked".into();
            } else {
                if before.status == "locked" {
                    after.status = "active".into();
                }
                after.locked_until_us = None;
                after.recent_failures = "[]".into();
            }
            after.updated_at_us = next_version(before, now_us);
            return Ok(after);
        }
    };
    let mut after = before.clone();
    after.user_type = user_type.name.as_str().to_owned();
    if let Some(name) = &request.display_name {
        after.display_name = check_display_name(name)?;
        after.search_name = after.display_name.to_lowercase();
    }
    // The attributes are checked whenever the type or they change: a new type
    // may declare others.
    if request.attributes.is_some() || after.user_type != before.user_type {
        let stored: Map<String, Value> =
            serde_json::from_str(&before.attributes).map_err(|_| ApiFailure::internal())?;
        let input = request.attributes.as_ref().unwrap_or(&stored);
        after.attributes = attributes_json(user_type, input)?;
    }
    if let Some(entitlements) = &request.entitlements {
        after.entitlements = entitlements_json(entitlements)?;
    }
    if let Some(status) = request.status {
        after.status = status.as_str().to_owned();
        if status == UserStatus::Active {
            // Activating ends an automatic lockout too.
            after.locked_until_us = None;
            after.recent_failures = "[]".into();
        }
    }
    after.updated_at_us = next_version(before, now_us);
    Ok(after)
}

/// Applies `edit` to the user `id` at `now_us`, with its before/after record.
pub async fn apply(
    store: &dyn Store,
    now_us: i64,
    id: &str,
    edit: Edit,
    change: &dyn RecordChange,
) -> Result<UserResponse, ApiFailure> {
    // Checked before the transaction, so a refused change writes nothing and is
    // recorded as the failure it is.
    let current = store
        .users()
        .find(id)
        .await?
        .ok_or_else(|| ApiFailure::not_found("user"))?;
    let type_name = match &edit {
        Edit::Update(request) => request.user_type.clone(),
        Edit::Lock | Edit::Unlock | Edit::Approve | Edit::Reject => None,
    }
    .unwrap_or_else(|| current.user_type.clone());
    let expected_us = match &edit {
        Edit::Update(request) => request.expected_updated_at.map(to_micros),
        Edit::Lock | Edit::Unlock | Edit::Approve | Edit::Reject => None,
    };
    let is_stale = |row: &UserRow| expected_us.is_some_and(|us| us != row.updated_at_us);
    if is_stale(&current) {
        return Err(edited_meanwhile());
    }
    let user_type = load_type(store, &type_name).await?;
    edited(&current, &edit, &user_type, now_us)?;
    // Checked again on the row the transaction holds: of two editors who read
    // the same version, the second is refused.
    let stale = std::sync::atomic::AtomicBool::new(false);
    let edit_fn = |before: &UserRow| -> Option<UserRow> {
        if is_stale(before) {
            stale.store(true, std::sync::atomic::Ordering::Relaxed);
            return None;
        }
        edited(before, &edit, &user_type, now_us)
            .ok()
            .filter(|after| {
                let mut same = after.clone();
                same.updated_at_us = before.updated_at_us;
                same != *before
            })
    };
    let audit = |before: &UserRow, after: &UserRow| {
        change.record(now_us, ("user", id), json_of(before), json_of(after))
    };
    // A lock or disable cuts off the user's tokens: the event is kept as long
    // as any access token can live.
    let horizon = now_us.saturating_add(gatehouse_tokens::access::MAX_LIFETIME_SECONDS * 1_000_000);
    let updated = store
        .users()
        .update(id, &edit_fn, &audit, horizon, change.sealer())
        .await?;
    match updated {
        UserUpdated::Done { after, .. } => to_response(&after),
        UserUpdated::Unchanged(_) if stale.load(std::sync::atomic::Ordering::Relaxed) => {
            Err(edited_meanwhile())
        }
        UserUpdated::Unchanged(row) => to_response(&row),
        UserUpdated::Unknown => Err(ApiFailure::not_found("user")),
    }
}

fn edited_meanwhile() -> ApiFailure {
    ApiFailure::new(
        ErrorCode::Conflict,
        "the user was changed by someone else since it was read: reload it and edit again",
    )
}

/// Applies `edit` at the server's time.
pub async fn change(
    state: &AppState,
    id: &str,
    edit: Edit,
    change: &dyn RecordChange,
) -> Result<UserResponse, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    apply(state.store.as_ref(), now_us, id, edit, change).await
}

/// A rejection's reason: 1 to 500 characters, no control characters but line
/// breaks.
pub fn check_reason(reason: &str) -> Result<String, ApiFailure> {
    let reason = reason.trim();
    let is_valid = !reason.is_empty()
        && reason.chars().count() <= 500
        && !reason.chars().any(|c| c.is_control() && c != '\n');
    if is_valid {
        Ok(reason.to_owned())
    } else {
        Err(invalid(
            "reason: 1 to 500 characters, no control characters",
        ))
    }
}

/// `DELETE /v1/users/{id}`: a soft delete; the user and their history stay.
pub fn disabling() -> Edit {
    Edit::Update(UpdateUserRequest {
        status: Some(UserStatus::Disabled),
        ..UpdateUserRequest::default()
    })
}
