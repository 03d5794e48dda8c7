//! `POST /v1/messaging/sms-status` (ID-11): the SMS provider's signed
//! delivery reports. Public, authenticated by the signature alone
//! (`X-Twilio-Signature`: HMAC-SHA1 under the provider's auth token of the
//! configured callback URL and the posted parameters); a report that does not
//! verify is refused and changes nothing. A verified report is recorded: the
//! message id, its state, the provider's error code, the number masked.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use gatehouse_messaging::{DeliveryStatus, SmsSenderConfig};
use gatehouse_types::ErrorCode;
use serde_json::json;

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::pipeline::Audit;

/// Form parameters a report may carry at most.
const MAX_PARAMS: usize = 64;

pub async fn sms_status(
    State(state): State<AppState>,
    audit: Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiFailure> {
    let not_here = || ApiFailure::new(ErrorCode::NotFound, "no SMS provider reports here");
    let Some(SmsSenderConfig::Webhook(provider)) = &state.identity.sms_provider else {
        return Err(not_here());
    };
    let Some(url) = &provider.status_callback_url else {
        return Err(not_here());
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(&body)
        .into_owned()
        .take(MAX_PARAMS + 1)
        .collect();
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if params.len() > MAX_PARAMS || !provider.verify_status_callback(url, &params, signature) {
        audit.detail("delivery_report", json!("bad_signature"));
        return Err(ApiFailure::new(
            ErrorCode::Forbidden,
            "the report's signature does not verify",
        ));
    }
    let report = DeliveryStatus::from_form(&params).ok_or_else(|| {
        ApiFailure::new(
            ErrorCode::ValidationFailed,
            "a report needs MessageSid, MessageStatus and To",
        )
    })?;
    audit.detail("delivery_message", json!(report.message_sid));
    audit.detail("delivery_state", json!(report.status.as_str()));
    audit.detail("delivery_to", json!(gatehouse_messaging::mask(&report.to)));
    if let Some(code) = &report.error_code {
        audit.detail("delivery_error_code", json!(code));
    }
    if report.status.is_failure() {
        tracing::warn!(state = report.status.as_str(), "an SMS was not delivered");
    }
    Ok(StatusCode::NO_CONTENT)
}
