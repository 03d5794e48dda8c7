//! The WAF stage (GW-4): a [`WafEngine`] inspects a request (its line, its
//! headers, its body) and answers which rules matched and whether it is
//! blocked. [`modsec::ModSecurityWaf`] is the engine: the OWASP Core Rule
//! Set run by libmodsecurity 3. The trait is what lets another engine be
//! measured against it.
//!
//! The engine must never run on the async workers (evaluation is CPU work of
//! a millisecond or more), never see a request the earlier stages refused,
//! and never record what a rule matched: a match is kept as the rule's id,
//! message and the variable it matched in, the matched data redacted.

mod conf;
pub mod modsec;

use std::net::SocketAddr;

use bytes::Bytes;

pub use conf::{parse_matches, RuleExclusion, RuleMatch, WafMode, WafSettings};

/// A request as the WAF sees it: already normalised and within its limits.
#[derive(Debug, Clone)]
pub struct WafRequest {
    pub method: String,
    /// The checked path, re-encoded, with the query as sent.
    pub uri: String,
    /// `1.1` or `2.0`.
    pub http_version: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub request_id: String,
}

/// What the WAF made of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct WafVerdict {
    /// Refused (in detect-only mode: never; see `would_block`).
    pub is_blocked: bool,
    /// The status the rules asked for when blocked.
    pub status: u16,
    /// In any mode: the anomaly score crossed the threshold.
    pub would_block: bool,
    /// The inbound anomaly score, when the rules reported it.
    pub anomaly_score: Option<u32>,
    /// Every rule that matched, in order, the matched data redacted.
    pub matches: Vec<RuleMatch>,
    /// The configuration generation that judged it.
    pub generation: u64,
}

impl WafVerdict {
    /// The rule that decided a block: the most severe attack rule that matched
    /// (the first of equals), never the anomaly total (949/959xxx) or the
    /// correlation rules (980xxx) that only add up the others.
    pub fn deciding_rule(&self) -> Option<u32> {
        self.matches
            .iter()
            .filter(|m| matches!(m.id / 1000, 911..=944 | 950..=956))
            .min_by_key(|m| m.severity.unwrap_or(u8::MAX))
            .map(|m| m.id)
    }
}

/// Why the WAF could not judge a request (the gateway then refuses it:
/// a request is never passed uninspected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WafError {
    #[error("the WAF is overloaded: {0} requests are waiting")]
    Overloaded(usize),
    #[error("the WAF could not inspect the request: {0}")]
    Failed(String),
    #[error("the WAF configuration does not load: {0}")]
    Config(String),
}

/// An engine that judges requests. `inspect` may block the calling thread:
/// callers run it off the async workers (see [`modsec::ModSecurityWaf`],
/// whose `inspect` hands the work to its own threads).
#[async_trait::async_trait]
pub trait WafEngine: Send + Sync {
    /// The engine's name and version, for the record.
    fn name(&self) -> String;
    /// Judges one request.
    async fn inspect(&self, request: WafRequest) -> Result<WafVerdict, WafError>;
    /// Loads new settings as the next generation; on failure the current
    /// generation stays and the error says why.
    async fn reconfigure(&self, settings: WafSettings) -> Result<u64, WafError>;
    /// The settings in force and their generation.
    fn settings(&self) -> (WafSettings, u64);
    /// The mode in force (asked for every request: no copy of the settings).
    fn mode(&self) -> WafMode;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: u32, severity: Option<u8>) -> RuleMatch {
        RuleMatch {
            id,
            message: String::new(),
            severity,
            variable: None,
        }
    }

    // proves: GW-6 (a WAF block is counted by the rule that decided it)
    #[test]
    fn the_deciding_rule_is_the_most_severe_attack_rule() {
        let verdict = |matches| WafVerdict {
            matches,
            ..WafVerdict::default()
        };
        let v = verdict(vec![
            rule(920_350, Some(4)),
            rule(942_100, Some(2)),
            rule(942_190, Some(2)),
            rule(949_110, Some(2)),
            rule(980_130, None),
        ]);
        assert_eq!(v.deciding_rule(), Some(942_100));
        // The totals alone decide nothing they can name.
        let v = verdict(vec![rule(949_110, Some(2)), rule(980_130, None)]);
        assert_eq!(v.deciding_rule(), None);
        assert_eq!(verdict(vec![]).deciding_rule(), None);
    }
}
