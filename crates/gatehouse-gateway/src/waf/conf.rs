//! The WAF's settings, the libmodsecurity configuration they stand for, and
//! the reading of what the rules reported.
//!
//! The configuration is ours (Debian ships `modsecurity.conf-recommended`
//! only with the Apache and nginx modules, and its CRS include list uses
//! `IncludeOptional`, which libmodsecurity 3 does not know): the engine mode,
//! request-body parsing (JSON and XML too: CRS 3.3 switches on only the
//! URL-encoded parser), limits, the CRS setup (paranoia level, anomaly
//! thresholds, the REST methods), the per-route exclusions, then every CRS
//! rule file in order.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What the WAF does with what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WafMode {
    /// Not consulted.
    Off,
    /// Judges and records, refuses nothing.
    DetectOnly,
    /// Refuses what crosses the anomaly threshold.
    #[default]
    Blocking,
}

/// A rule switched off for one route (a false positive), with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleExclusion {
    /// The route's path prefix (the rule stays on everywhere else).
    pub path_prefix: String,
    pub rule_id: u32,
    #[serde(default)]
    pub note: String,
}

/// The WAF's settings: one generation of its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WafSettings {
    pub mode: WafMode,
    /// The CRS paranoia level, 1 to 4.
    pub paranoia_level: u8,
    /// The inbound anomaly score that blocks (CRS default 5: one critical match).
    pub inbound_threshold: u32,
    pub outbound_threshold: u32,
    /// Where the CRS is installed (Debian's `modsecurity-crs`).
    pub crs_dir: PathBuf,
    pub exclusions: Vec<RuleExclusion>,
    /// Largest body the WAF reads, bytes (the routes' limits are lower).
    pub max_body_bytes: u64,
}

impl Default for WafSettings {
    fn default() -> Self {
        WafSettings {
            mode: WafMode::Blocking,
            paranoia_level: 1,
            inbound_threshold: 5,
            outbound_threshold: 4,
            crs_dir: PathBuf::from("/usr/share/modsecurity-crs"),
            exclusions: Vec::new(),
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// The first rule id of the exclusions this configuration writes.
const EXCLUSION_IDS: u32 = 10_000;

impl WafSettings {
    /// What is wrong with these settings, said by the key.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=4).contains(&self.paranoia_level) {
            return Err("waf.paranoia_level: must be 1 to 4".into());
        }
        if self.inbound_threshold == 0 || self.inbound_threshold > 1000 {
            return Err("waf.inbound_threshold: must be 1 to 1000".into());
        }
        if self.outbound_threshold == 0 || self.outbound_threshold > 1000 {
            return Err("waf.outbound_threshold: must be 1 to 1000".into());
        }
        if self.max_body_bytes == 0 || self.max_body_bytes > 64 * 1024 * 1024 {
            return Err("waf.max_body_bytes: must be 1 byte to 64 MiB".into());
        }
        for (n, exclusion) in self.exclusions.iter().enumerate() {
            let prefix = &exclusion.path_prefix;
            let is_plain = prefix.starts_with('/')
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
            if !is_plain {
                return Err(format!(
                    "waf.exclusions[{n}].path_prefix: a path of letters, digits, / - . _ ~"
                ));
            }
            if !(1..1_000_000).contains(&exclusion.rule_id) {
                return Err(format!("waf.exclusions[{n}].rule_id: not a rule id"));
            }
        }
        Ok(())
    }

    /// The CRS rule files, in the order they load.
    pub fn rule_files(&self) -> Result<Vec<PathBuf>, String> {
        let dir = self.crs_dir.join("rules");
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| format!("the Core Rule Set is not at {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("no rule files in {}", dir.display()));
        }
        Ok(files)
    }

    /// The whole configuration, as libmodsecurity reads it.
    pub fn text(&self) -> Result<String, String> {
        self.check()?;
        let engine = match self.mode {
            WafMode::Blocking => "On",
            WafMode::DetectOnly => "DetectionOnly",
            WafMode::Off => "Off",
        };
        let mut text = format!(
            "SecRuleEngine {engine}\n\
             SecRequestBodyAccess On\n\
             SecRule REQUEST_HEADERS:Content-Type \"^(?:application(?:/soap\\+|/)|text/)xml\" \
               \"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML\"\n\
             SecRule REQUEST_HEADERS:Content-Type \"^application/json\" \
               \"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON\"\n\
             SecRule REQBODY_ERROR \"!@eq 0\" \
               \"id:200002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body'\"\n\
             SecRequestBodyLimit {limit}\n\
             SecRequestBodyNoFilesLimit {limit}\n\
             SecRequestBodyLimitAction Reject\n\
             SecPcreMatchLimit 1000\n\
             SecPcreMatchLimitRecursion 1000\n\
             SecResponseBodyAccess Off\n\
             SecAuditEngine Off\n\
             SecDefaultAction \"phase:1,log,auditlog,pass\"\n\
             SecDefaultAction \"phase:2,log,auditlog,pass\"\n\
             SecAction \"id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level={pl}\"\n\
             SecAction \"id:900110,phase:1,nolog,pass,t:none,\
               setvar:tx.inbound_anomaly_score_threshold={inbound},\
               setvar:tx.outbound_anomaly_score_threshold={outbound}\"\n\
             SecAction \"id:900200,phase:1,nolog,pass,t:none,\
               setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'\"\n\
             SecAction \"id:900990,phase:1,nolog,pass,t:none,setvar:tx.crs_setup_version=334\"\n",
            limit = self.max_body_bytes,
            pl = self.paranoia_level,
            inbound = self.inbound_threshold,
            outbound = self.outbound_threshold,
        );
        for (n, exclusion) in self.exclusions.iter().enumerate() {
            let id = EXCLUSION_IDS + u32::try_from(n).unwrap_or(0);
            text.push_str(&format!(
                "SecRule REQUEST_FILENAME \"@beginsWith {}\" \
                 \"id:{id},phase:1,pass,nolog,t:none,ctl:ruleRemoveById={}\"\n",
                exclusion.path_prefix, exclusion.rule_id
            ));
        }
        for file in self.rule_files()? {
            text.push_str(&format!("Include \"{}\"\n", file.display()));
        }
        Ok(text)
    }
}

/// One rule that matched: what the block record keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub id: u32,
    pub message: String,
    /// 0 (emergency) to 7 (debug), when the rule says.
    pub severity: Option<u8>,
    /// Where it matched (`ARGS:id`, `REQUEST_HEADERS:User-Agent`); the
    /// matched data itself is never kept.
    pub variable: Option<String>,
}

/// The value of `[name "…"]` in a libmodsecurity log line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("[{name} \"");
    let start = line.find(&open)? + open.len();
    let end = line[start..].find("\"]")?;
    Some(&line[start..start + end])
}

fn clipped(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The rules a transaction's log lines name, in order, each once. The
/// matched data (`[data "…"]`) is reduced to the variable it was found in.
pub fn parse_matches(lines: &[String]) -> Vec<RuleMatch> {
    let mut out: Vec<RuleMatch> = Vec::new();
    for line in lines {
        let Some(id) = field(line, "id").and_then(|v| v.parse::<u32>().ok()) else {
            continue;
        };
        if out.iter().any(|m| m.id == id) {
            continue;
        }
        let variable = field(line, "data").and_then(|d| {
            let at = d.find("found within ")? + "found within ".len();
            let rest = &d[at..];
            let end = rest.find(": ").unwrap_or(rest.len());
            Some(clipped(&rest[..end], 64))
        });
        out.push(RuleMatch {
            id,
            message: clipped(field(line, "msg").unwrap_or(""), 200),
            severity: field(line, "severity").and_then(|v| v.parse().ok()),
            variable,
        });
    }
    out
}

/// The inbound anomaly score the blocking evaluation reported.
pub fn anomaly_score(lines: &[String]) -> Option<u32> {
    lines.iter().find_map(|line| {
        let at = line.find("Total Score: ")? + "Total Score: ".len();
        let digits: String = line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "ModSecurity: Warning. detected SQLi using libinjection. [file \"/usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf\"] [line \"46\"] [id \"942100\"] [rev \"\"] [msg \"SQL Injection Attack Detected via libinjection\"] [data \"Matched Data: s&sos found within ARGS:id: 1' OR '1'='1\"] [severity \"2\"] [ver \"OWASP_CRS/3.3.4\"] [hostname \"127.0.0.1\"] [uri \"/api/users\"]";

    // proves: GW-6 (a block keeps the rule, never the matched data)
    #[test]
    fn a_match_keeps_the_rule_and_the_variable_not_the_data() {
        let block = "[client 127.0.0.1] ModSecurity: Access denied with code 403 (phase 2). Matched \"Operator `Ge' with parameter `5' against variable `TX:ANOMALY_SCORE' (Value: `5' ) [file \"x\"] [id \"949110\"] [msg \"Inbound Anomaly Score Exceeded (Total Score: 5)\"] [severity \"2\"]".to_owned();
        let lines = vec![LINE.to_owned(), LINE.to_owned(), block];
        let matches = parse_matches(&lines);
        assert_eq!(matches.len(), 2);
        assert_eq!(matches[0].id, 942100);
        assert_eq!(
            matches[0].message,
            "SQL Injection Attack Detected via libinjection"
        );
        assert_eq!(matches[0].severity, Some(2));
        assert_eq!(matches[0].variable.as_deref(), Some("ARGS:id"));
        let kept = serde_json::to_string(&matches).unwrap();
        assert!(!kept.contains("OR '1'"), "{kept}");
        assert_eq!(matches[1].id, 949110);
        assert_eq!(anomaly_score(&lines), Some(5));
        assert!(parse_matches(&["no id here".to_owned()]).is_empty());
    }

    // proves: GW-4 (settings are checked before they load)
    #[test]
    fn settings_outside_their_range_are_refused_by_key() {
        let bad = WafSettings {
            paranoia_level: 5,
            ..WafSettings::default()
        };
        assert!(bad.check().unwrap_err().starts_with("waf.paranoia_level"));
        let injected = WafSettings {
            exclusions: vec![RuleExclusion {
                path_prefix: "/x\" \"id:1,deny".into(),
                rule_id: 942100,
                note: String::new(),
            }],
            ..WafSettings::default()
        };
        assert!(injected.check().unwrap_err().contains("path_prefix"));
        let missing = WafSettings {
            crs_dir: "/nonexistent".into(),
            ..WafSettings::default()
        };
        assert!(missing.text().unwrap_err().contains("not at /nonexistent"));
    }
}
