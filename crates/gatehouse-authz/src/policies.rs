//! Policy text: parsing, the `@id` rule, validation against the schema, and
//! problems located by line and column in the text the author wrote.

use std::collections::HashSet;
use std::str::FromStr;

use cedar_policy::{Effect, PolicyId, PolicySet, ValidationMode, Validator};
use gatehouse_types::{PolicyInfo, PolicyProblem};
use miette::Diagnostic;

use crate::Catalog;

/// The largest policy text accepted (bytes).
pub const MAX_POLICY_TEXT: usize = 1024 * 1024;
/// The most policies one set may hold.
pub const MAX_POLICIES: usize = 10_000;
const MAX_ID_LEN: usize = 128;

/// A policy set that parsed and validated: ids are the `@id` annotations.
#[derive(Debug, Clone)]
pub struct ParsedPolicies {
    pub set: PolicySet,
    pub policies: Vec<PolicyInfo>,
    pub warnings: Vec<PolicyProblem>,
}

/// The first problem, located, and how many more there are: the one-line
/// summary of a text that does not validate.
pub fn first_problem(problems: &[PolicyProblem]) -> String {
    let first = problems
        .first()
        .map(|p| format!("line {}, column {}: {}", p.line, p.column, p.message))
        .unwrap_or_default();
    match problems.len() {
        0 | 1 => first,
        n => format!(
            "{first} (and {} more; /v1/policies/validate lists them)",
            n - 1
        ),
    }
}

/// Line and column (both from 1) of a byte offset in `text`.
pub fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    // In characters, as PolicyProblem documents (editors count characters).
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    let column = before.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (clamp(line), clamp(column.max(1)))
}

fn problem(text: &str, policy_id: Option<String>, message: String, offset: usize) -> PolicyProblem {
    let (line, column) = line_column(text, offset);
    PolicyProblem {
        policy_id,
        message,
        line,
        column,
    }
}

/// A Cedar diagnostic as a problem: its message, its help, and the start of its
/// first label (or `fallback` when it has none).
fn from_diagnostic(
    text: &str,
    policy_id: Option<String>,
    d: &dyn Diagnostic,
    fallback: usize,
) -> PolicyProblem {
    let offset = d
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset())
        .unwrap_or(fallback);
    let mut message = d.to_string();
    if let Some(help) = d.help() {
        message.push_str(": ");
        message.push_str(&help.to_string());
    }
    problem(text, policy_id, message, offset)
}

fn id_is_acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
}

/// Parses `text`, requires a unique `@id` on every policy, and validates the set
/// against the schema (strict mode). Every problem is returned, not just the first.
pub fn parse_policies(catalog: &Catalog, text: &str) -> Result<ParsedPolicies, Vec<PolicyProblem>> {
    if text.len() > MAX_POLICY_TEXT {
        return Err(vec![problem(
            text,
            None,
            format!("the policy text is larger than {MAX_POLICY_TEXT} bytes"),
            MAX_POLICY_TEXT,
        )]);
    }
    let parsed = match PolicySet::from_str(text) {
        Ok(set) => set,
        Err(errors) => {
            return Err(errors
                .iter()
                .map(|e| from_diagnostic(text, None, e, 0))
                .collect())
        }
    };
    if let Some(t) = parsed.templates().next() {
        let offset = source_offset(text, &t.to_string(), 0).unwrap_or(0);
        return Err(vec![problem(
            text,
            None,
            "templates (policies with ?principal or ?resource slots) are not supported".into(),
            offset,
        )]);
    }
    // Cedar numbers the policies policy0, policy1… in source order.
    let mut numbered: Vec<_> = parsed
        .policies()
        .map(|p| {
            let n = p
                .id()
                .to_string()
                .strip_prefix("policy")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(usize::MAX);
            (n, p)
        })
        .collect();
    numbered.sort_by_key(|(n, _)| *n);
    if numbered.len() > MAX_POLICIES {
        return Err(vec![problem(
            text,
            None,
            format!("a policy set holds at most {MAX_POLICIES} policies"),
            0,
        )]);
    }

    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    let mut renamed = Vec::with_capacity(numbered.len());
    let mut policies = Vec::with_capacity(numbered.len());
    let mut cursor = 0;
    for (_, p) in numbered {
        let source = p.to_string();
        let offset = source_offset(text, &source, cursor).unwrap_or(cursor);
        cursor = offset + source.len().min(text.len().saturating_sub(offset));
        let (line, _) = line_column(text, offset);
        let Some(id) = p.annotation("id").map(str::to_owned) else {
            problems.push(problem(
                text,
                None,
                "every policy needs an @id(\"…\") annotation naming it".into(),
                offset,
            ));
            continue;
        };
        if !id_is_acceptable(&id) {
            problems.push(problem(
                text,
                Some(id.clone()),
                format!(
                    "@id must be 1 to {MAX_ID_LEN} characters of letters, digits, '.', '-', '_' or ':'"
                ),
                offset,
            ));
            continue;
        }
        if !seen.insert(id.clone()) {
            problems.push(problem(
                text,
                Some(id.clone()),
                format!("@id(\"{id}\") is used by an earlier policy; ids must be unique"),
                offset,
            ));
            continue;
        }
        policies.push(PolicyInfo {
            id: id.clone(),
            effect: match p.effect() {
                Effect::Permit => "permit".into(),
                Effect::Forbid => "forbid".into(),
            },
            description: p.annotation("description").map(str::to_owned),
            text: source,
            line,
        });
        renamed.push(p.new_id(PolicyId::new(&id)));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let set = PolicySet::from_policies(renamed).map_err(|e| {
        vec![problem(
            text,
            None,
            format!("the policy set is not valid: {e}"),
            0,
        )]
    })?;

    let result = Validator::new(catalog.schema().clone()).validate(&set, ValidationMode::Strict);
    let line_of = |id: &PolicyId| {
        policies
            .iter()
            .find(|p| p.id == id.to_string())
            .map(|p| p.line)
    };
    let mut errors: Vec<PolicyProblem> = result
        .validation_errors()
        .map(|e| {
            let id = e.policy_id();
            let mut p = from_diagnostic(text, Some(id.to_string()), e, 0);
            if e.labels().is_none() {
                p.line = line_of(id).unwrap_or(1);
                p.column = 1;
            }
            p
        })
        .collect();
    let warnings = result
        .validation_warnings()
        .map(|w| from_diagnostic(text, Some(w.policy_id().to_string()), w, 0))
        .collect();
    if !errors.is_empty() {
        errors.sort_by_key(|p| (p.line, p.column));
        return Err(errors);
    }
    Ok(ParsedPolicies {
        set,
        policies,
        warnings,
    })
}

/// Where a policy's own text starts in the whole text, searching from `from`.
fn source_offset(text: &str, source: &str, from: usize) -> Option<usize> {
    text.get(from..)
        .and_then(|rest| rest.find(source))
        .map(|at| at + from)
}
