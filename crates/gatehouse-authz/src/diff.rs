//! Differences between two policy versions: by policy (`@id`) and by line.

use std::collections::BTreeMap;

use gatehouse_types::{DiffLine, PolicyInfo};
use similar::{ChangeTag, TextDiff};

/// Policies only in `to` (added), only in `from` (removed), and in both with a
/// different text (changed), each in id order.
pub fn policy_changes(
    from: &[PolicyInfo],
    to: &[PolicyInfo],
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let old: BTreeMap<&str, &str> = from
        .iter()
        .map(|p| (p.id.as_str(), p.text.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = to
        .iter()
        .map(|p| (p.id.as_str(), p.text.as_str()))
        .collect();
    let added = new
        .keys()
        .filter(|k| !old.contains_key(*k))
        .map(|k| (*k).to_owned())
        .collect();
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| (*k).to_owned())
        .collect();
    let changed = new
        .iter()
        .filter(|(k, v)| old.get(*k).is_some_and(|o| o != *v))
        .map(|(k, _)| (*k).to_owned())
        .collect();
    (added, removed, changed)
}

/// The line diff of two texts (Myers, via `similar`), with line numbers.
pub fn line_diff(from: &str, to: &str) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(from, to);
    let n = |i: Option<usize>| i.and_then(|i| u32::try_from(i + 1).ok());
    diff.iter_all_changes()
        .map(|c| DiffLine {
            op: match c.tag() {
                ChangeTag::Equal => "equal",
                ChangeTag::Delete => "delete",
                ChangeTag::Insert => "insert",
            }
            .into(),
            old_line: n(c.old_index()),
            new_line: n(c.new_index()),
            text: c.value().trim_end_matches(['\n', '\r']).to_owned(),
        })
        .collect()
}
