//! Bot identification (GW-4): each request gets a verdict (`human`, `bot`,
//! `bad_bot`) and a score from 0 to 100 that policies and the dashboard can
//! use; bad bots are refused. The signals:
//! - the user agent against a maintained list of crawlers and tools (the
//!   `isbot` crate's patterns) and a list of attack tools (scanners,
//!   fuzzers, brute-forcers: always bad);
//! - what a browser or an API client always sends (a user agent, `Accept`);
//! - the TLS hello (see `gatehouse_listener::TlsHello`): no ALPN (browsers
//!   and HTTP libraries offer it; many scripts do not), or a fingerprint the
//!   configuration denies (always bad);
//! - the source's behaviour over the last minute: how fast it asks and how
//!   much of what it asks for fails (4xx: probing);
//! - a honeypot hit (the source is refused before it gets here).
//!
//! The behaviour counters are count-min sketches like the rate limits', so
//! rotating addresses cannot grow them.

use gatehouse_listener::TlsHello;
use http::HeaderMap;
use serde::Serialize;

use crate::rate::RateSketch;

/// What a caller looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BotVerdict {
    #[default]
    Human,
    Bot,
    BadBot,
}

impl BotVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            BotVerdict::Human => "human",
            BotVerdict::Bot => "bot",
            BotVerdict::BadBot => "bad_bot",
        }
    }
}

/// Attack tools by their user agents (lower case, substrings).
const ATTACK_TOOLS: [&str; 28] = [
    "sqlmap",
    "nikto",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "gobuster",
    "dirbuster",
    "dirb/",
    "wpscan",
    "acunetix",
    "netsparker",
    "w3af",
    "arachni",
    "openvas",
    "nessus",
    "jaeles",
    "ffuf",
    "feroxbuster",
    "wfuzz",
    "hydra",
    "havij",
    "appscan",
    "webinspect",
    "skipfish",
    "whatweb",
    "zmeu",
    "morfeus",
];

/// The signal of a TLS fingerprint the configuration denies.
pub const DENIED_HELLO: &str = "a denied TLS fingerprint";

/// A verdict with its score and the signals behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotCheck {
    pub verdict: BotVerdict,
    pub score: u8,
    pub signals: Vec<&'static str>,
    /// The attack tool its user agent names, when it names one.
    pub tool: Option<&'static str>,
}

/// The classifier and the behaviour it remembers.
pub struct Bots {
    known: isbot::Bots,
    /// The attack tools, matched in one pass over the user agent (`None`
    /// only if the automaton could not be built: then one search per tool).
    tools: Option<aho_corasick::AhoCorasick>,
    denied_hellos: std::collections::HashSet<String>,
    seen: RateSketch,
    failed: RateSketch,
}

impl std::fmt::Debug for Bots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bots").finish_non_exhaustive()
    }
}

/// Requests a minute from one source that count as fast.
const FAST_PER_MINUTE: f64 = 300.0;

impl Bots {
    pub fn new(sketch_width: usize, denied_hellos: Vec<String>) -> Bots {
        Bots {
            known: isbot::Bots::default(),
            tools: aho_corasick::AhoCorasick::new(ATTACK_TOOLS).ok(),
            denied_hellos: denied_hellos.into_iter().collect(),
            seen: RateSketch::new(4, sketch_width, 60),
            failed: RateSketch::new(4, sketch_width, 60),
        }
    }

    /// Classifies one request from `source` (a rate key) over a connection
    /// that said `hello`.
    pub fn classify(
        &self,
        headers: &HeaderMap,
        hello: Option<&TlsHello>,
        source: &[u8],
        now_us: i64,
    ) -> BotCheck {
        let mut score: u32 = 0;
        let mut signals = Vec::new();
        if let Some(hello) = hello {
            if self.denied_hellos.contains(&hello.fingerprint) {
                score += 100;
                signals.push(DENIED_HELLO);
            }
            if hello.alpn.is_empty() {
                score += 15;
                signals.push("a TLS hello without ALPN");
            }
        }
        let mut tool = None;
        let agent = headers
            .get(http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase());
        match agent.as_deref().map(str::trim) {
            None | Some("") => {
                score += 40;
                signals.push("no user agent");
            }
            Some(ua) if let Some(found) = self.attack_tool(ua) => {
                tool = Some(found.trim_end_matches('/'));
                score += 100;
                signals.push("an attack tool's user agent");
            }
            Some(ua) if self.known.is_bot(ua) => {
                score += 60;
                signals.push("a crawler's or tool's user agent");
            }
            Some(_) => {}
        }
        if !headers.contains_key(http::header::ACCEPT) {
            score += 10;
            signals.push("no Accept header");
        }
        let seen = self.seen.estimate(source, now_us);
        let failed = self.failed.estimate(source, now_us);
        if failed >= 20.0 && failed >= seen * 0.5 {
            score += 40;
            signals.push("most of its requests fail (probing)");
        }
        if seen >= FAST_PER_MINUTE {
            score += 20;
            signals.push("hundreds of requests a minute");
        }
        let score = u8::try_from(score.min(100)).unwrap_or(100);
        let verdict = match score {
            80.. => BotVerdict::BadBot,
            50.. => BotVerdict::Bot,
            _ => BotVerdict::Human,
        };
        BotCheck {
            verdict,
            score,
            signals,
            tool,
        }
    }

    /// The attack tool a (lower-case) user agent names.
    fn attack_tool(&self, ua: &str) -> Option<&'static str> {
        match &self.tools {
            Some(tools) => tools
                .find(ua)
                .and_then(|m| ATTACK_TOOLS.get(m.pattern().as_usize()))
                .copied(),
            None => ATTACK_TOOLS.iter().find(|t| ua.contains(*t)).copied(),
        }
    }

    /// Counts a request's answer toward its source's behaviour.
    pub fn note(&self, source: &[u8], status: u16, now_us: i64) {
        self.seen.hit(source, u32::MAX, now_us);
        if (400..500).contains(&status) {
            self.failed.hit(source, u32::MAX, now_us);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(ua: Option<&'static str>, accept: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ua) = ua {
            h.insert(http::header::USER_AGENT, HeaderValue::from_static(ua));
        }
        if accept {
            h.insert(http::header::ACCEPT, HeaderValue::from_static("*/*"));
        }
        h
    }

    // proves: GW-4 (bot identification and blocking)
    #[test]
    fn scanners_are_bad_crawlers_are_bots_and_browsers_are_people() {
        let bots = Bots::new(1 << 10, Vec::new());
        let key = [1u8; 17];
        let verdict = |ua, accept| bots.classify(&headers(ua, accept), None, &key, 0).verdict;
        assert_eq!(
            verdict(Some("sqlmap/1.7.2#stable (https://sqlmap.org)"), true),
            BotVerdict::BadBot
        );
        assert_eq!(
            verdict(Some("Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)"), true),
            BotVerdict::BadBot
        );
        assert_eq!(
            verdict(
                Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
                true
            ),
            BotVerdict::Bot
        );
        assert_eq!(
            verdict(Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"), true),
            BotVerdict::Human
        );
        // An API client without a user agent is not a bot for that alone.
        assert_eq!(verdict(None, true), BotVerdict::Human);
    }

    // proves: GW-4 (behavioural signals: a prober becomes a bad bot)
    #[test]
    fn a_source_whose_requests_mostly_fail_is_a_bad_bot() {
        let bots = Bots::new(1 << 10, Vec::new());
        let key = [2u8; 17];
        let h = headers(None, true);
        assert_eq!(bots.classify(&h, None, &key, 0).verdict, BotVerdict::Human);
        for _ in 0..30 {
            bots.note(&key, 404, 0);
        }
        let check = bots.classify(&h, None, &key, 0);
        assert_eq!(check.verdict, BotVerdict::BadBot, "{check:?}");
        assert!(check
            .signals
            .contains(&"most of its requests fail (probing)"));
        // Another source is untouched.
        assert_eq!(
            bots.classify(&h, None, &[3u8; 17], 0).verdict,
            BotVerdict::Human
        );
    }

    // proves: GW-4 (bots identified by their TLS hello)
    #[test]
    fn a_denied_tls_fingerprint_is_a_bad_bot_whatever_its_user_agent() {
        let hello = |alpn: &[&str], ciphers: &[u16]| {
            TlsHello::from_values(
                true,
                alpn.iter().map(|p| (*p).to_owned()).collect(),
                ciphers,
                &[0x0403],
                &[0x001d],
            )
        };
        let tool = hello(&[], &[0x1301]);
        let browser = hello(&["h2", "http/1.1"], &[0x1301, 0x1302, 0x1303]);
        let bots = Bots::new(1 << 10, vec![tool.fingerprint.clone()]);
        let h = headers(
            Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"),
            true,
        );
        let check = bots.classify(&h, Some(&tool), &[4u8; 17], 0);
        assert_eq!(check.verdict, BotVerdict::BadBot, "{check:?}");
        assert_eq!(check.signals[0], DENIED_HELLO);
        let check = bots.classify(&h, Some(&browser), &[4u8; 17], 0);
        assert_eq!(check.verdict, BotVerdict::Human, "{check:?}");
        assert!(check.signals.is_empty());
        // No ALPN counts, but alone does not make a bot.
        let script = hello(&[], &[0x1301, 0x1302]);
        let check = bots.classify(&h, Some(&script), &[4u8; 17], 0);
        assert_eq!(
            (check.verdict, check.signals.as_slice()),
            (BotVerdict::Human, ["a TLS hello without ALPN"].as_slice())
        );
    }
}
