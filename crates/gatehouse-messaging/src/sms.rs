//! SMS through a Twilio-compatible HTTP provider: one form POST (`To`, `From`,
//! `Body`, optional `StatusCallback`) with HTTP basic auth `account_sid:auth_token`,
//! over rustls (ring) with the system's roots and `ca_file`, no redirects, bounded
//! by `timeout_ms`. The answer's `sid` is the receipt. 2xx is sent; 429, 5xx, a
//! timeout or no connection is `Unavailable`; any other 4xx is `Refused`, with the
//! provider's `code` and `message` but never what we sent.
//!
//! The provider reports delivery by calling `status_callback_url` with a form
//! signed in `X-Twilio-Signature`: [`verify_status_callback`] checks it (HMAC-SHA1
//! with the auth token over the URL and the sorted parameters, compared in
//! constant time) and [`DeliveryStatus::from_form`] reads it.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::config::SmsWebhookConfig;
use crate::{mask, tls, Channel, Message, Receipt, SendError, Sender};

/// The most of a provider's answer we read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Sends SMS through one Twilio-compatible provider.
pub struct SmsWebhookSender {
    client: reqwest::Client,
    url: reqwest::Url,
    account_sid: String,
    auth_token: String,
    from: String,
    status_callback_url: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for SmsWebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsWebhookSender")
            .field("url", &self.url.as_str())
            .field("account_sid", &self.account_sid)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmsWebhookSender {
    /// Checks `config` and builds the HTTP client (nothing is connected yet).
    pub fn new(config: &SmsWebhookConfig) -> Result<SmsWebhookSender, SendError> {
        config
            .validate()
            .map_err(|(key, reason)| SendError::misconfigured(format!("{key}: {reason}")))?;
        let url = reqwest::Url::parse(&config.url)
            .map_err(|e| SendError::misconfigured(format!("messaging.sms.webhook.url: {e}")))?;
        let roots = tls::trusted_roots(config.ca_file.as_deref(), "messaging.sms.webhook.ca_file")?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls::client_config(roots)?)
            // Never carry our basic-auth credentials to wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| SendError::misconfigured(format!("messaging.sms.webhook: {e}")))?;
        Ok(SmsWebhookSender {
            client,
            url,
            account_sid: config.account_sid.clone(),
            auth_token: config.auth_token.clone(),
            from: config.from.clone(),
            status_callback_url: config.status_callback_url.clone(),
            timeout,
        })
    }

    fn provider(&self) -> String {
        self.url.host_str().unwrap_or("the SMS provider").to_owned()
    }

    fn classify_transport(&self, e: &reqwest::Error) -> SendError {
        let provider = self.provider();
        if let Some(why) = tls::untrusted_certificate(e) {
            return SendError::misconfigured(format!(
                "the certificate of {provider} is not trusted ({why}): check messaging.sms.webhook.ca_file"
            ));
        }
        if e.is_timeout() {
            SendError::unavailable(format!(
                "{provider} did not answer within {} ms",
                self.timeout.as_millis()
            ))
        } else {
            // Connection refused, reset, DNS: all worth another try later.
            SendError::unavailable(format!("cannot reach {provider}: {}", error_chain(e)))
        }
    }

    async fn post(&self, message: &Message) -> Result<Receipt, SendError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("To", &message.to),
            ("From", &self.from),
            ("Body", &message.body),
        ];
        if let Some(callback) = &self.status_callback_url {
            form.push(("StatusCallback", callback));
        }
        let request = self
            .client
            .post(self.url.clone())
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        let mut response = request
            .send()
            .await
            .map_err(|e| self.classify_transport(&e))?;
        let status = response.status();
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.classify_transport(&e))?
        {
            let room = MAX_ANSWER_BYTES.saturating_sub(answer.len());
            answer.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if answer.len() >= MAX_ANSWER_BYTES {
                break;
            }
        }
        let json: Option<serde_json::Value> = serde_json::from_slice(&answer).ok();
        let provider = self.provider();
        let code = status.as_u16();
        if status.is_success() {
            let sid = json
                .as_ref()
                .and_then(|v| v.get("sid"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            return Ok(Receipt { provider_id: sid });
        }
        if code == 429 || status.is_server_error() {
            return Err(SendError::unavailable(format!(
                "{provider} answered HTTP {code}{}",
                provider_says(json.as_ref())
            )));
        }
        if status.is_client_error() {
            return Err(SendError::refused(format!(
                "{provider} refused the message (HTTP {code}){}",
                provider_says(json.as_ref())
            )));
        }
        Err(SendError::misconfigured(format!(
            "{provider} answered HTTP {code}: check messaging.sms.webhook.url"
        )))
    }
}

/// `: code 21211: invalid To` from a Twilio-style JSON error, else nothing.
fn provider_says(json: Option<&serde_json::Value>) -> String {
    let Some(json) = json else {
        return String::new();
    };
    let code = match json.get("code") {
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let message = json.get("message").and_then(|m| m.as_str());
    match (code, message) {
        (Some(code), Some(message)) => format!(": code {code}: {message}"),
        (Some(code), None) => format!(": code {code}"),
        (None, Some(message)) => format!(": {message}"),
        (None, None) => String::new(),
    }
}

/// reqwest's message and its causes, one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

#[async_trait::async_trait]
impl Sender for SmsWebhookSender {
    fn name(&self) -> &'static str {
        "sms_webhook"
    }

    async fn send(&self, message: &Message) -> Result<Receipt, SendError> {
        if message.channel != Channel::Sms {
            return Err(SendError::misconfigured(
                "the SMS webhook sender sends SMS only",
            ));
        }
        match tokio::time::timeout(self.timeout, self.post(message)).await {
            Ok(result) => result.map_err(|e| e.scrubbed(message)),
            Err(_) => Err(SendError::unavailable(format!(
                "{} did not finish within {} ms",
                self.provider(),
                self.timeout.as_millis()
            ))),
        }
    }
}

/// Whether `signature_header` (`X-Twilio-Signature`) signs this callback:
/// base64(HMAC-SHA1(auth_token, full_url + name₁value₁ + name₂value₂ …)), the
/// parameters sorted by name (then value), compared in constant time. `full_url`
/// is the URL exactly as the provider called it, query included; like Twilio's
/// own helpers, the same URL with its default port written out (or left out) is
/// accepted too, since proxies disagree about it.
pub fn verify_status_callback(
    auth_token: &str,
    full_url: &str,
    form_params: &[(String, String)],
    signature_header: &str,
) -> bool {
    let presented = signature_header.trim().as_bytes();
    let matches = |url: &str| -> bool {
        signature(auth_token, url, form_params)
            .as_bytes()
            .ct_eq(presented)
            .into()
    };
    let exact = matches(full_url);
    let other_form = other_port_form(full_url).is_some_and(|url| matches(&url));
    !presented.is_empty() && (exact | other_form)
}

/// The signature the provider computes for `url` and `params`.
pub(crate) fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else {
        // HMAC takes a key of any length; this cannot happen.
        return String::new();
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `https://host/x` ⇄ `https://host:443/x` (and `:80` for `http`).
fn other_port_form(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // The port follows the last `:` after any `]` (an IPv6 literal's end).
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    match authority[host_end..].rfind(':') {
        Some(i) => {
            let (host, port) = authority.split_at(host_end + i);
            (&port[1..] == default).then(|| format!("{scheme}://{host}{tail}"))
        }
        None => Some(format!("{scheme}://{authority}:{default}{tail}")),
    }
}

/// Where a message stands, as the provider reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    Accepted,
    Scheduled,
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Read,
    Canceled,
    /// A state this code does not know, as the provider spelled it.
    Other(String),
}

impl DeliveryState {
    pub fn parse(raw: &str) -> DeliveryState {
        match raw.trim().to_ascii_lowercase().as_str() {
            "accepted" => DeliveryState::Accepted,
            "scheduled" => DeliveryState::Scheduled,
            "queued" => DeliveryState::Queued,
            "sending" => DeliveryState::Sending,
            "sent" => DeliveryState::Sent,
            "delivered" => DeliveryState::Delivered,
            "undelivered" => DeliveryState::Undelivered,
            "failed" => DeliveryState::Failed,
            "read" => DeliveryState::Read,
            "canceled" | "cancelled" => DeliveryState::Canceled,
            other => DeliveryState::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            DeliveryState::Accepted => "accepted",
            DeliveryState::Scheduled => "scheduled",
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Undelivered => "undelivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Read => "read",
            DeliveryState::Canceled => "canceled",
            DeliveryState::Other(raw) => raw,
        }
    }

    /// No later report will change it.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            DeliveryState::Delivered
                | DeliveryState::Undelivered
                | DeliveryState::Failed
                | DeliveryState::Read
                | DeliveryState::Canceled
        )
    }

    /// The message did not reach the phone.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            DeliveryState::Undelivered | DeliveryState::Failed | DeliveryState::Canceled
        )
    }
}

impl serde::Serialize for DeliveryState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A delivery-status callback's content (after [`verify_status_callback`]).
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryStatus {
    pub message_sid: String,
    pub status: DeliveryState,
    pub error_code: Option<String>,
    pub to: String,
}

impl std::fmt::Debug for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryStatus")
            .field("message_sid", &self.message_sid)
            .field("status", &self.status)
            .field("error_code", &self.error_code)
            .field("to", &mask(&self.to))
            .finish()
    }
}

impl DeliveryStatus {
    /// From the callback's form (`MessageSid`, `MessageStatus`, `To`, optional
    /// `ErrorCode`); none when one of the three is missing or empty.
    pub fn from_form(params: &[(String, String)]) -> Option<DeliveryStatus> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        Some(DeliveryStatus {
            message_sid: get("MessageSid")?.to_owned(),
            status: DeliveryState::parse(get("MessageStatus")?),
            error_code: get("ErrorCode").map(str::to_owned),
            to: get("To")?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_other_port_form() {
        assert_eq!(
            other_port_form("https://example.com/cb?x=1").as_deref(),
            Some("https://example.com:443/cb?x=1")
        );
        assert_eq!(
            other_port_form("https://example.com:443/cb").as_deref(),
            Some("https://example.com/cb")
        );
        assert_eq!(
            other_port_form("http://[::1]:80/cb").as_deref(),
            Some("http://[::1]/cb")
        );
        assert_eq!(other_port_form("https://example.com:8443/cb"), None);
        assert_eq!(other_port_form("ftp://example.com/cb"), None);
    }

    #[test]
    fn a_signature_with_the_default_port_written_out_verifies() {
        // proves: ID-11
        let p = params(&[("MessageSid", "SM1"), ("MessageStatus", "delivered")]);
        let sig = signature("tok", "https://gatehouse.example.com:443/cb", &p);
        assert!(verify_status_callback(
            "tok",
            "https://gatehouse.example.com/cb",
            &p,
            &sig
        ));
        assert!(!verify_status_callback(
            "tok",
            "https://gatehouse.example.com:8443/cb",
            &p,
            &sig
        ));
        assert!(!verify_status_callback(
            "tok",
            "https://gatehouse.example.com/cb",
            &p,
            ""
        ));
    }

    #[test]
    fn delivery_status_from_a_callback_form() {
        // proves: ID-11
        let status = DeliveryStatus::from_form(&params(&[
            ("MessageSid", "SM123"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("To", "+447700900123"),
        ]))
        .unwrap();
        assert_eq!(status.status, DeliveryState::Undelivered);
        assert!(status.status.is_final() && status.status.is_failure());
        assert_eq!(status.error_code.as_deref(), Some("30003"));
        assert!(!format!("{status:?}").contains("900123"));
        let sent = DeliveryStatus::from_form(&params(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "sent"),
            ("ErrorCode", ""),
            ("To", "+1"),
        ]))
        .unwrap();
        assert_eq!((sent.status.is_final(), sent.error_code), (false, None));
        assert_eq!(
            DeliveryStatus::from_form(&params(&[("MessageStatus", "sent"), ("To", "+1")])),
            None
        );
        assert_eq!(
            DeliveryState::parse("partially_delivered"),
            DeliveryState::Other("partially_delivered".into())
        );
        assert_eq!(
            serde_json::to_value(&status).unwrap()["status"],
            "undelivered"
        );
    }
}
