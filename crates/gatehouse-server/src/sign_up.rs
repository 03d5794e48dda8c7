//! Signing up (ID-1, ID-2): `POST /v1/signup`, the one public API that
//! creates users, then `POST /v1/signup/{id}/verify` for each step the user
//! type's registration flow asks for (a code to the email address, a code by
//! SMS, a TOTP authenticator), in the flow's order.
//!
//! Nothing is created until every proof is made: an address is never held by
//! someone who has not shown they own it. The user is then created active, or
//! pending when the flow needs an administrator's approval; pending users
//! cannot sign in. An address that already has an account is answered exactly
//! as a new one (the same steps, the same timing floor): its owner is told
//! someone tried, and its code is never sent, so such a sign-up can never
//! finish. Codes to addresses that are free are sent either way, so the
//! answers never tell which address of a sign-up was taken.

use std::time::Duration;

use gatehouse_identity::code::Purpose;
use gatehouse_identity::contact::{Email, Phone};
use gatehouse_identity::flow::{RegistrationFlow, SignUpProgress, Step};
use gatehouse_identity::totp::{self, TotpSecret};
use gatehouse_identity::user_type::UserType;
use gatehouse_messaging::Channel;
use gatehouse_store::{CredentialRow, RegistrationRow};
use gatehouse_types::{
    CreateUserRequest, ErrorCode, Proof, SignUpRequest, SignUpResponse, SignUpStep, UserStatus,
};
use serde_json::json;

use crate::app::AppState;
use crate::clock::to_micros;
use crate::codes::{self, Checked, Delivery};
use crate::error::ApiFailure;
use crate::pipeline::Audit;

/// How long a sign-up may take from its start.
pub const SIGN_UP_TTL_SECONDS: i64 = 3600;
/// No `POST /v1/signup` is answered sooner than this after it began: a new
/// address and a taken one do different work.
pub const SIGN_UP_FLOOR: Duration = Duration::from_millis(600);
const PREFIX: &str = "ghs_";
const US: i64 = 1_000_000;

fn invalid(message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(ErrorCode::ValidationFailed, message.into())
}

fn id_hash(presented: &str) -> Option<Vec<u8>> {
    crate::challenges::secret_id_hash(PREFIX, presented)
}

/// The type and its open flow, or one refusal for an unknown type and a
/// closed flow alike.
async fn open_flow(
    state: &AppState,
    name: &str,
) -> Result<(UserType, RegistrationFlow), ApiFailure> {
    let closed = || invalid("user_type: nobody may sign up as this type");
    if name.len() > 64 {
        return Err(closed());
    }
    let types = state.store.user_types();
    let Some(type_row) = types.find_type(name).await? else {
        return Err(closed());
    };
    let Some(flow_row) = types.find_flow(name).await? else {
        return Err(closed());
    };
    let kind: UserType =
        serde_json::from_str(&type_row.definition).map_err(|_| ApiFailure::internal())?;
    let flow: RegistrationFlow =
        serde_json::from_str(&flow_row.definition).map_err(|_| ApiFailure::internal())?;
    if !flow.is_open {
        return Err(closed());
    }
    Ok((kind, flow))
}

/// `POST /v1/signup`.
pub async fn start(
    state: &AppState,
    audit: &Audit,
    request: SignUpRequest,
) -> Result<SignUpResponse, ApiFailure> {
    let started = tokio::time::Instant::now();
    let outcome = start_now(state, audit, request).await;
    if !matches!(&outcome, Err(e) if e.code == ErrorCode::ValidationFailed) {
        tokio::time::sleep_until(started + SIGN_UP_FLOOR).await;
    }
    outcome
}

async fn start_now(
    state: &AppState,
    audit: &Audit,
    request: SignUpRequest,
) -> Result<SignUpResponse, ApiFailure> {
    let (kind, flow) = open_flow(state, &request.user_type).await?;
    audit.detail("user_type", json!(kind.name.as_str()));
    let asks = |p: Proof| flow.proofs.contains(&p);
    let email = match (&request.email, asks(Proof::Email)) {
        (Some(e), true) => {
            Some(Email::parse(e).map_err(|_| invalid("email: not a valid address"))?)
        }
        (None, true) => return Err(invalid("email: this sign-up needs an email address")),
        (Some(_), false) => {
            return Err(invalid(
                "email: this sign-up does not take an email address",
            ))
        }
        (None, false) => None,
    };
    let phone = match (&request.phone, asks(Proof::Phone)) {
        (Some(p), true) => Some(
            Phone::parse(p)
                .map_err(|_| invalid("phone: must be E.164, a + and up to 15 digits"))?,
        ),
        (None, true) => return Err(invalid("phone: this sign-up needs a phone number")),
        (Some(_), false) => {
            return Err(invalid("phone: this sign-up does not take a phone number"))
        }
        (None, false) => None,
    };
    // The same rule as the user it becomes: checked here, not after the proofs.
    let display_name = crate::users::check_display_name(&request.display_name)?;
    let attributes = flow
        .check_sign_up_attributes(&kind, &request.attributes)
        .map_err(|e| invalid(e.to_string()))?;
    let password = match (request.password, asks(Proof::Password)) {
        (Some(p), true) => Some(zeroize::Zeroizing::new(p)),
        (None, true) => return Err(invalid("password: this sign-up needs a password")),
        (Some(_), false) => return Err(invalid("password: this sign-up does not take a password")),
        (None, false) => None,
    };
    let password_hash = match &password {
        Some(p) => {
            let context: Vec<&str> = [
                Some(display_name.as_str()),
                email.as_ref().map(Email::as_str),
            ]
            .into_iter()
            .flatten()
            .collect();
            let is_only_factor = !asks(Proof::Totp) && !asks(Proof::Phone);
            state
                .identity
                .passwords
                .check(p, &context, is_only_factor)
                .map_err(|e| invalid(format!("password: {e}")))?;
            let phc = state
                .identity
                .hasher
                .hash(p.to_string(), &mut rand::rngs::OsRng)
                .await
                .map_err(|_| ApiFailure::internal())?;
            Some(phc.into_bytes())
        }
        None => None,
    };
    let users = state.store.users();
    let email_taken = match &email {
        Some(e) => users.find_by_email(e.as_str()).await?.is_some(),
        None => false,
    };
    let phone_taken = match &phone {
        Some(p) => users.find_by_phone(p.as_str()).await?.is_some(),
        None => false,
    };
    let (id, hash) = crate::challenges::new_secret_id(PREFIX);
    let totp_secret = if asks(Proof::Totp) {
        let secret = TotpSecret::generate(&mut rand::rngs::OsRng);
        Some(seal(state, &hash, &secret)?)
    } else {
        None
    };
    let now_us = to_micros(state.clock.now());
    let row = RegistrationRow {
        id_hash: hash,
        user_type: kind.name.as_str().to_owned(),
        email: email.as_ref().map(|e| e.as_str().to_owned()),
        phone: phone.as_ref().map(|p| p.as_str().to_owned()),
        display_name,
        attributes: serde_json::to_string(&attributes).map_err(|_| ApiFailure::internal())?,
        password: password_hash,
        totp_secret,
        progress: serde_json::to_string(&SignUpProgress::default())
            .map_err(|_| ApiFailure::internal())?,
        is_decoy: email_taken || phone_taken,
        source_ip: audit.facts.source_ip.clone(),
        created_at_us: now_us,
        expires_at_us: now_us.saturating_add(SIGN_UP_TTL_SECONDS * US),
        user_id: None,
        version: 1,
    };
    if row.is_decoy {
        audit.detail("sign_up_outcome", json!("address_taken"));
        for (taken, address, channel) in [
            (email_taken, row.email.clone(), Channel::Email),
            (phone_taken, row.phone.clone(), Channel::Sms),
        ] {
            if let (true, Some(to)) = (taken, address) {
                let delivery = Delivery {
                    to: &to,
                    channel,
                    masked: String::new(),
                    is_real: true,
                };
                codes::send_notice(state, audit, &delivery).await;
            }
        }
    }
    state.store.challenges().create_registration(&row).await?;
    advance(state, audit, &id, row, &kind, &flow).await
}

fn seal(state: &AppState, hash: &[u8], secret: &TotpSecret) -> Result<Vec<u8>, ApiFailure> {
    gatehouse_tokens::seal::seal(
        &state.identity.totp_kek,
        &format!("signup:{}", hex::encode(hash)),
        secret.as_bytes(),
        &mut rand::rngs::OsRng,
    )
    .map_err(|_| ApiFailure::internal())
}

fn open(state: &AppState, row: &RegistrationRow) -> Result<TotpSecret, ApiFailure> {
    let sealed = row
        .totp_secret
        .as_deref()
        .ok_or_else(ApiFailure::internal)?;
    let kid = format!("signup:{}", hex::encode(&row.id_hash));
    let bytes = gatehouse_tokens::seal::open(&state.identity.totp_kek, &kid, sealed)
        .map_err(|_| ApiFailure::internal())?;
    TotpSecret::from_bytes(&bytes).map_err(|_| ApiFailure::internal())
}

fn progress_of(row: &RegistrationRow) -> Result<SignUpProgress, ApiFailure> {
    serde_json::from_str(&row.progress).map_err(|_| ApiFailure::internal())
}

/// Takes the steps that need nothing from the person (a password given at
/// the start), sends the code the next step needs, and creates the user when
/// every proof is made.
async fn advance(
    state: &AppState,
    audit: &Audit,
    id: &str,
    mut row: RegistrationRow,
    kind: &UserType,
    flow: &RegistrationFlow,
) -> Result<SignUpResponse, ApiFailure> {
    let mut progress = progress_of(&row)?;
    if progress.next_step(flow) == Step::SetPassword && row.password.is_some() {
        progress
            .prove(flow, Proof::Password)
            .map_err(|_| ApiFailure::internal())?;
        row = save(state, row, &progress).await?;
    }
    let expires_in =
        u64::try_from((row.expires_at_us - to_micros(state.clock.now())).max(0) / US).unwrap_or(0);
    let binding = hex::encode(&row.id_hash);
    let mut response = SignUpResponse {
        registration_id: id.to_owned(),
        next_step: SignUpStep::Done,
        sent_to: None,
        totp_uri: None,
        expires_in,
    };
    match progress.next_step(flow) {
        Step::VerifyEmail | Step::VerifyPhone => {
            let is_email = progress.next_step(flow) == Step::VerifyEmail;
            let (address, channel, purpose) = if is_email {
                (row.email.clone(), Channel::Email, Purpose::SignUpEmail)
            } else {
                (row.phone.clone(), Channel::Sms, Purpose::SignUpPhone)
            };
            let address = address.ok_or_else(ApiFailure::internal)?;
            let masked = if is_email {
                Email::parse(&address)
                    .map(|e| e.masked())
                    .unwrap_or_default()
            } else {
                Phone::parse(&address)
                    .map(|p| p.masked())
                    .unwrap_or_default()
            };
            let is_taken = row.is_decoy && is_taken(state, channel, &address).await?;
            let delivery = Delivery {
                to: &address,
                channel,
                masked: masked.clone(),
                is_real: !is_taken,
            };
            codes::send_code(state, audit, &binding, purpose, &delivery).await?;
            response.next_step = if is_email {
                SignUpStep::VerifyEmail
            } else {
                SignUpStep::VerifyPhone
            };
            response.sent_to = Some(masked);
        }
        Step::EnrolTotp => {
            let secret = open(state, &row)?;
            let account = row
                .email
                .clone()
                .or_else(|| row.phone.clone())
                .unwrap_or_else(|| row.display_name.clone());
            let uri = totp::enrolment(&secret, &state.identity.totp_issuer, &account)
                .map_err(|_| ApiFailure::internal())?;
            response.next_step = SignUpStep::ConfirmTotp;
            response.totp_uri = Some(uri.to_string());
        }
        Step::AwaitApproval | Step::Done => {
            let is_approval = flow.requires_approval;
            if row.user_id.is_none() && !row.is_decoy {
                create_user(state, audit, &mut row, kind, is_approval).await?;
            }
            response.next_step = if is_approval {
                SignUpStep::AwaitApproval
            } else {
                SignUpStep::Done
            };
        }
        Step::EnterDetails | Step::SetPassword => return Err(ApiFailure::internal()),
    }
    Ok(response)
}

async fn is_taken(state: &AppState, channel: Channel, address: &str) -> Result<bool, ApiFailure> {
    let users = state.store.users();
    Ok(match channel {
        Channel::Email => users.find_by_email(address).await?.is_some(),
        Channel::Sms => users.find_by_phone(address).await?.is_some(),
    })
}

/// Stores the progress from the version `row` was read at; a lost race is
/// answered as a used step.
async fn save(
    state: &AppState,
    mut row: RegistrationRow,
    progress: &SignUpProgress,
) -> Result<RegistrationRow, ApiFailure> {
    row.progress = serde_json::to_string(progress).map_err(|_| ApiFailure::internal())?;
    row.version = row.version.saturating_add(1);
    if !state.store.challenges().update_registration(&row).await? {
        return Err(codes::gone());
    }
    Ok(row)
}

/// The user, with the password and the authenticator proven during sign-up.
async fn create_user(
    state: &AppState,
    audit: &Audit,
    row: &mut RegistrationRow,
    kind: &UserType,
    is_pending: bool,
) -> Result<(), ApiFailure> {
    let attributes = serde_json::from_str(&row.attributes).map_err(|_| ApiFailure::internal())?;
    let request = CreateUserRequest {
        user_type: kind.name.as_str().to_owned(),
        display_name: row.display_name.clone(),
        email: row.email.clone(),
        phone: row.phone.clone(),
        attributes,
        entitlements: Vec::new(),
        status: Some(if is_pending {
            UserStatus::Pending
        } else {
            UserStatus::Active
        }),
    };
    let now_us = to_micros(state.clock.now());
    let password = row.password.clone();
    // Sealed again for the user: the sign-up's seal binds its own id.
    let totp = match row.totp_secret {
        Some(_) => Some(open(state, row)?),
        None => None,
    };
    let credentials = |user_id: &str| -> Result<Vec<CredentialRow>, ApiFailure> {
        let mut made = Vec::new();
        if let Some(phc) = &password {
            made.push(credential(user_id, "password", phc.clone(), now_us));
        }
        if let Some(secret) = &totp {
            let sealed = crate::factors::seal_totp(state, user_id, secret)?;
            made.push(credential(user_id, "totp", sealed, now_us));
        }
        Ok(made)
    };
    audit.detail(
        "sign_up_outcome",
        json!(if is_pending {
            "pending_approval"
        } else {
            "created"
        }),
    );
    let created = audit
        .commit_change(&state.audit, http::StatusCode::OK, |change| {
            let state = &state;
            async move {
                crate::users::create_in(
                    state.store.as_ref(),
                    now_us,
                    "sign-up".into(),
                    request,
                    &credentials,
                    &change,
                )
                .await
            }
        })
        .await?;
    row.user_id = Some(created.id.clone());
    row.version = row.version.saturating_add(1);
    state.store.challenges().update_registration(row).await?;
    Ok(())
}

fn credential(user_id: &str, kind: &str, secret: Vec<u8>, now_us: i64) -> CredentialRow {
    CredentialRow {
        user_id: user_id.to_owned(),
        kind: kind.to_owned(),
        secret,
        last_step: None,
        is_confirmed: true,
        created_at_us: now_us,
        updated_at_us: now_us,
    }
}

/// `POST /v1/signup/{id}/verify`: the code for the step the sign-up is at.
pub async fn verify(
    state: &AppState,
    audit: &Audit,
    id: &str,
    code: &str,
) -> Result<SignUpResponse, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let hash = id_hash(id).ok_or_else(codes::gone)?;
    let row = state
        .store
        .challenges()
        .find_registration(&hash)
        .await?
        .filter(|r| r.expires_at_us > now_us && r.user_id.is_none())
        .ok_or_else(codes::gone)?;
    let (kind, flow) = open_flow(state, &row.user_type).await?;
    let mut progress = progress_of(&row)?;
    let binding = hex::encode(&row.id_hash);
    let step = progress.next_step(&flow);
    let (proof, is_right) = match step {
        Step::VerifyEmail | Step::VerifyPhone => {
            let (proof, purpose) = if step == Step::VerifyEmail {
                (Proof::Email, Purpose::SignUpEmail)
            } else {
                (Proof::Phone, Purpose::SignUpPhone)
            };
            match codes::check_code(state, &binding, purpose, code).await? {
                Checked::Accepted => (proof, true),
                Checked::Gone => return Err(codes::gone()),
                Checked::Wrong { checks_left } => {
                    audit.detail("sign_up_failure", json!("wrong_code"));
                    return Err(codes::wrong_code(checks_left));
                }
            }
        }
        Step::EnrolTotp => {
            let secret = open(state, &row)?;
            (
                Proof::Totp,
                totp::verify(&secret, code, now_us / US, None).is_ok(),
            )
        }
        _ => {
            return Err(ApiFailure::new(
                ErrorCode::Conflict,
                "this sign-up is waiting for nothing a code proves",
            ))
        }
    };
    if !is_right {
        state
            .identity
            .record_source_failure(&audit.facts.source_ip, now_us / US);
        audit.detail("sign_up_failure", json!("wrong_code"));
        return Err(ApiFailure::new(
            ErrorCode::InvalidCode,
            "the code is not the authenticator's: try the next one",
        ));
    }
    progress.prove(&flow, proof).map_err(|_| codes::gone())?;
    audit.detail("sign_up_proof", json!(proof));
    let row = save(state, row, &progress).await?;
    advance(state, audit, id, row, &kind, &flow).await
}
