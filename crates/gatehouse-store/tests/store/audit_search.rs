//! Reading the audit trail: search filters, keyset pagination, and the
//! blocked-request log with its summary.

use gatehouse_audit::Record;
use gatehouse_store::{
    AuditFilter, AuditStore, BlockedFilter, BlockedRow, BlockedSummary, Page, StoredRecord,
};

use crate::audit::new;
use crate::{record, sealer, stores};

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// The default filter with `edit` applied.
fn filter(edit: impl FnOnce(&mut AuditFilter)) -> AuditFilter {
    let mut f = AuditFilter::default();
    edit(&mut f);
    f
}

fn blocked_filter(edit: impl FnOnce(&mut BlockedFilter)) -> BlockedFilter {
    let mut f = BlockedFilter::default();
    edit(&mut f);
    f
}

fn seqs(found: &[StoredRecord]) -> Vec<u64> {
    found.iter().map(|r| r.seq).collect()
}

/// Every matching sequence number, oldest first, in one page.
async fn matching(audit: &dyn AuditStore, filter: AuditFilter) -> Vec<u64> {
    let filter = AuditFilter {
        page: Page::Oldest { after: None },
        ..filter
    };
    seqs(&audit.search(&filter, 1_000).await.unwrap())
}

/// Six records that differ in every filterable field.
fn search_fixture() -> Vec<Record> {
    let r = |time_us, actor_id: &str, actor_name: &str, action: &str| Record {
        actor_name: actor_name.into(),
        ..record(actor_id, action, time_us)
    };
    vec![
        Record {
            resource_id: "r-1".into(),
            source_ip: "10.0.0.1".into(),
            request_id: "req-1".into(),
            details: Some(r#"{"note":"quota 100% used"}"#.into()),
            ..r(1_000, "tok-1", "alice", "api_tokens.create")
        },
        Record {
            resource_id: "r-2".into(),
            outcome: "denied".into(),
            status: 403,
            source_ip: "10.0.0.2".into(),
            request_id: "req-2".into(),
            details: Some(r#"{"note":"quota 1000 used"}"#.into()),
            ..r(2_000, "tok-2", "bob", "api_tokens.revoke")
        },
        Record {
            resource_type: "server".into(),
            resource_id: "a_b".into(),
            source_ip: "10.0.0.1".into(),
            request_id: "req-3".into(),
            ..r(2_000, "tok-1", "alice", "server.read")
        },
        Record {
            resource_type: "server".into(),
            resource_id: "axb".into(),
            outcome: "rejected".into(),
            status: 422,
            source_ip: "10.0.0.3".into(),
            request_id: "req-4".into(),
            ..r(3_000, "tok-3", "carol", "server.read")
        },
        Record {
            resource_id: "r-3".into(),
            outcome: "failed".into(),
            status: 500,
            source_ip: "10.0.0.2".into(),
            user_agent: "Mozilla/5.0 ALICEbot".into(),
            request_id: "req-5".into(),
            ..r(4_000, "tok-2", "bob", "api_tokens.list")
        },
        Record {
            actor_kind: "user".into(),
            resource_type: "user".into(),
            resource_id: "u-9".into(),
            source_ip: "10.0.0.4".into(),
            request_id: "req-6".into(),
            // JSON text: the stored string holds two backslashes.
            after: Some(r#"{"home":"C:\\temp"}"#.into()),
            ..r(5_000, "alice", "Alice Admin", "users.update")
        },
    ]
}

#[tokio::test]
async fn search_filters() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        audit.append(&search_fixture(), &[], &sealer).await.unwrap();
        let cases: Vec<(AuditFilter, Vec<u64>)> = vec![
            (AuditFilter::default(), vec![1, 2, 3, 4, 5, 6]),
            // The actor by id, exactly; a name is not an id (free text finds names).
            (filter(|f| f.actor = s("tok-1")), vec![1, 3]),
            (filter(|f| f.actor = s("alice")), vec![6]),
            (filter(|f| f.actor = s("Alice Admin")), vec![]),
            (filter(|f| f.actor = s("ali")), vec![]),
            (filter(|f| f.action = s("server.read")), vec![3, 4]),
            (filter(|f| f.resource_type = s("server")), vec![3, 4]),
            (
                filter(|f| {
                    f.resource_type = s("server");
                    f.resource_id = s("axb");
                }),
                vec![4],
            ),
            (filter(|f| f.resource_id = s("r-2")), vec![2]),
            (filter(|f| f.outcome = s("denied")), vec![2]),
            (filter(|f| f.outcome = s("success")), vec![1, 3, 6]),
            (filter(|f| f.source_ip = s("10.0.0.2")), vec![2, 5]),
            (filter(|f| f.request_id = s("req-4")), vec![4]),
            // Free text: case-insensitive, in any text field.
            (filter(|f| f.text = s("ALICE")), vec![1, 3, 5, 6]),
            (filter(|f| f.text = s("QUOTA")), vec![1, 2]),
            (filter(|f| f.text = s("temp")), vec![6]),
            (filter(|f| f.text = s("nowhere")), vec![]),
            // LIKE wildcards and the escape character in the text are literal.
            (filter(|f| f.text = s("0%")), vec![1]),
            (filter(|f| f.text = s("%")), vec![1]),
            (filter(|f| f.text = s("a_b")), vec![3]),
            (filter(|f| f.text = s("_")), vec![1, 2, 3, 5]),
            (filter(|f| f.text = s("c:\\\\temp")), vec![6]),
            (filter(|f| f.text = s("c:\\temp")), vec![]),
            // Time: from inclusive, to exclusive.
            (filter(|f| f.from_us = Some(2_000)), vec![2, 3, 4, 5, 6]),
            (filter(|f| f.from_us = Some(2_001)), vec![4, 5, 6]),
            (filter(|f| f.to_us = Some(3_000)), vec![1, 2, 3]),
            (filter(|f| f.to_us = Some(3_001)), vec![1, 2, 3, 4]),
            (
                filter(|f| (f.from_us, f.to_us) = (Some(2_000), Some(4_000))),
                vec![2, 3, 4],
            ),
            (
                filter(|f| (f.from_us, f.to_us) = (Some(3_000), Some(3_000))),
                vec![],
            ),
            (
                filter(|f| (f.from_us, f.to_us) = (Some(4_000), Some(2_000))),
                vec![],
            ),
            (filter(|f| f.from_us = Some(5_001)), vec![]),
            (filter(|f| f.to_us = Some(1_000)), vec![]),
            // Filters combine.
            (
                filter(|f| (f.from_us, f.actor) = (Some(2_000), s("tok-1"))),
                vec![3],
            ),
            (
                filter(|f| (f.action, f.outcome) = (s("server.read"), s("success"))),
                vec![3],
            ),
            (
                filter(|f| (f.text, f.source_ip) = (s("alice"), s("10.0.0.2"))),
                vec![5],
            ),
        ];
        for (f, expected) in cases {
            assert_eq!(matching(audit, f.clone()).await, expected, "{b:?} {f:?}");
        }
        // Newest first is the default order, and results carry the whole record.
        let newest = audit
            .search(&filter(|f| f.outcome = s("success")), 10)
            .await
            .unwrap();
        assert_eq!(seqs(&newest), [6, 3, 1]);
        assert_eq!(newest[0].record, search_fixture()[5]);
        let head = audit.read_after(5, 1).await.unwrap();
        assert_eq!(newest[0].hash, head[0].hash);
    }
}

/// Walks every page of `filter` in `first`'s direction; returns the pages.
async fn walk(audit: &dyn AuditStore, f: &AuditFilter, first: Page, size: u32) -> Vec<Vec<u64>> {
    let mut pages = Vec::new();
    let mut page = first;
    loop {
        let at = AuditFilter { page, ..f.clone() };
        let found = seqs(&audit.search(&at, size).await.unwrap());
        let Some(&last) = found.last() else { break };
        assert!(found.len() <= size as usize);
        page = match first {
            Page::Newest { .. } => Page::Newest { before: Some(last) },
            Page::Oldest { .. } => Page::Oldest { after: Some(last) },
        };
        pages.push(found);
        assert!(pages.len() < 100, "pagination does not end");
    }
    pages
}

const NEWEST: Page = Page::Newest { before: None };
const OLDEST: Page = Page::Oldest { after: None };

#[tokio::test]
async fn keyset_pagination_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        // 30 records, two per time, every third one denied.
        let records: Vec<_> = (0..30i64)
            .map(|i| Record {
                outcome: if i % 3 == 0 { "denied" } else { "success" }.into(),
                ..record("tok", "server.read", 1_000 + (i / 2) * 10)
            })
            .collect();
        audit.append(&records, &[], &sealer).await.unwrap();
        let denied = filter(|f| f.outcome = s("denied"));
        let expected: Vec<u64> = (1..=30).filter(|s| (s - 1) % 3 == 0).collect();

        let newest = walk(audit, &denied, NEWEST, 3).await;
        let pages = [vec![28, 25, 22], vec![19, 16, 13], vec![10, 7, 4], vec![1]];
        assert_eq!(newest, pages, "{b:?}");
        let oldest = walk(audit, &denied, OLDEST, 4).await;
        assert_eq!(oldest.concat(), expected, "{b:?}: no duplicates, no gaps");
        assert_eq!(oldest.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);

        // Unfiltered, every page size walks all 30 exactly once, in order.
        let all = AuditFilter::default();
        for size in [1, 7, 30, 31] {
            let down = walk(audit, &all, NEWEST, size).await.concat();
            assert_eq!(down, (1..=30).rev().collect::<Vec<_>>(), "{b:?} {size}");
            let up = walk(audit, &all, OLDEST, size).await.concat();
            assert_eq!(up, (1..=30).collect::<Vec<_>>(), "{b:?} {size}");
        }
        // With a time window: times 1_050..1_100 are records 11..=20.
        let window = filter(|f| (f.from_us, f.to_us) = (Some(1_050), Some(1_100)));
        let down = walk(audit, &window, NEWEST, 4).await.concat();
        assert_eq!(down, (11..=20).rev().collect::<Vec<_>>(), "{b:?}");
        let up = walk(audit, &window, Page::Oldest { after: Some(14) }, 4).await;
        assert_eq!(up.concat(), (15..=20).collect::<Vec<_>>(), "{b:?}");

        // A cursor stays valid while records are appended.
        let first = AuditFilter {
            page: NEWEST,
            ..denied.clone()
        };
        assert_eq!(seqs(&audit.search(&first, 2).await.unwrap()), [28, 25]);
        let late = Record {
            outcome: "denied".into(),
            ..record("tok", "late", 2_000)
        };
        audit.append(&[late], &[], &sealer).await.unwrap();
        let rest = walk(audit, &denied, Page::Newest { before: Some(25) }, 2).await;
        assert_eq!(rest.concat(), [22, 19, 16, 13, 10, 7, 4, 1], "{b:?}");
        let tail = walk(audit, &denied, Page::Oldest { after: Some(28) }, 2).await;
        assert_eq!(
            tail.concat(),
            [31],
            "{b:?}: the new record follows the old end"
        );
    }
}

fn blocked(time_us: i64, reason: &str, ip: &str, who: Option<&str>, route: &str) -> BlockedRow {
    BlockedRow {
        id: 0,
        time_us,
        reason: reason.into(),
        source_ip: ip.into(),
        identity: who.map(Into::into),
        method: "GET".into(),
        route: route.into(),
        status: 403,
        request_id: format!("req-{time_us}"),
        bot: None,
        matched: None,
    }
}

fn times(found: &[BlockedRow]) -> Vec<i64> {
    found.iter().map(|r| r.time_us).collect()
}

fn counts(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

#[tokio::test]
async fn blocked_requests_search_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        let rows = [
            blocked(100, "authentication", "1.1.1.1", None, "/v1/users"),
            blocked(500, "authorization", "1.1.1.1", Some("tok-1"), "/v1/keys"),
            blocked(1_200, "authentication", "2.2.2.2", None, "/v1/users"),
            blocked(1_500, "rate_limit", "1.1.1.1", Some("tok-2"), "/v1/users"),
            blocked(2_500, "authorization", "3.3.3.3", Some("tok-1"), "/v1/keys"),
            blocked(3_000, "authentication", "1.1.1.1", None, "/v1/users"),
        ];
        // Blocked rows ride along with records in one append, or come alone.
        let with_record = [record("tok", "server.read", 50)];
        let appended = audit
            .append(&with_record, &rows[..3], &sealer)
            .await
            .unwrap();
        assert_eq!(appended, [new(1)]);
        assert!(audit
            .append(&[], &rows[3..], &sealer)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            audit.last_seq().await.unwrap(),
            1,
            "blocked rows are not in the chain"
        );

        let all = audit
            .search_blocked(&BlockedFilter::default(), 100)
            .await
            .unwrap();
        assert!(
            all.windows(2).all(|w| w[0].id > w[1].id),
            "{b:?}: newest first"
        );
        let without_ids: Vec<_> = all
            .iter()
            .rev()
            .map(|r| BlockedRow { id: 0, ..r.clone() })
            .collect();
        assert_eq!(without_ids, rows, "{b:?}");

        let cases: Vec<(BlockedFilter, Vec<i64>)> = vec![
            (
                blocked_filter(|f| f.reason = s("authentication")),
                vec![3_000, 1_200, 100],
            ),
            (
                blocked_filter(|f| f.source_ip = s("1.1.1.1")),
                vec![3_000, 1_500, 500, 100],
            ),
            (
                blocked_filter(|f| f.identity = s("tok-1")),
                vec![2_500, 500],
            ),
            (
                blocked_filter(|f| f.route = s("/v1/keys")),
                vec![2_500, 500],
            ),
            (
                blocked_filter(|f| (f.from_us, f.to_us) = (Some(500), Some(2_500))),
                vec![1_500, 1_200, 500],
            ),
            (
                blocked_filter(|f| (f.reason, f.source_ip) = (s("authentication"), s("1.1.1.1"))),
                vec![3_000, 100],
            ),
            (blocked_filter(|f| f.reason = s("bad_input")), vec![]),
        ];
        for (f, expected) in cases {
            let found = audit.search_blocked(&f, 100).await.unwrap();
            assert_eq!(times(&found), expected, "{b:?} {f:?}");
        }
        // Keyset pages by id.
        let mut before_id = None;
        let mut pages = Vec::new();
        loop {
            let f = blocked_filter(|f| f.before_id = before_id);
            let page = audit.search_blocked(&f, 4).await.unwrap();
            let Some(last) = page.last() else { break };
            before_id = Some(last.id);
            pages.push(times(&page));
        }
        assert_eq!(
            pages,
            [vec![3_000, 2_500, 1_500, 1_200], vec![500, 100]],
            "{b:?}"
        );

        // [0, 3_000): the row at 3_000 is outside.
        let summary = audit.blocked_summary(0, 3_000, 1_000, 2).await.unwrap();
        let expected = BlockedSummary {
            total: 5,
            buckets: vec![
                (0, "authentication".into(), 1),
                (0, "authorization".into(), 1),
                (1_000, "authentication".into(), 1),
                (1_000, "rate_limit".into(), 1),
                (2_000, "authorization".into(), 1),
            ],
            // Every reason, not only the top ones.
            by_reason: counts(&[
                ("authentication", 2),
                ("authorization", 2),
                ("rate_limit", 1),
            ]),
            top_sources: counts(&[("1.1.1.1", 3), ("2.2.2.2", 1)]),
            top_identities: counts(&[("tok-1", 2), ("tok-2", 1)]),
            top_routes: counts(&[("/v1/users", 3), ("/v1/keys", 2)]),
            // The API's own refusals: no bot verdict, nothing matched.
            ..BlockedSummary::default()
        };
        assert_eq!(summary, expected, "{b:?}");
        // Buckets start at `from_us`.
        let shifted = audit.blocked_summary(500, 3_001, 1_000, 10).await.unwrap();
        assert_eq!(shifted.total, 5);
        let buckets: Vec<_> = shifted
            .buckets
            .iter()
            .map(|(t, r, n)| (*t, r.as_str(), *n))
            .collect();
        let expected = [
            (500, "authentication", 1),
            (500, "authorization", 1),
            (1_500, "rate_limit", 1),
            (2_500, "authentication", 1),
            (2_500, "authorization", 1),
        ];
        assert_eq!(buckets, expected, "{b:?}");
        let nothing = audit
            .blocked_summary(10_000, 20_000, 1_000, 5)
            .await
            .unwrap();
        assert_eq!(nothing, BlockedSummary::default());
    }
}

/// The summary straight from the rows, to hold the store's (hourly counts for
/// whole hours, requests for the ends) against.
fn naive(rows: &[BlockedRow], from: i64, to: i64, bucket: i64, top: usize) -> BlockedSummary {
    use std::collections::BTreeMap;
    let inside: Vec<&BlockedRow> = rows
        .iter()
        .filter(|r| r.time_us >= from && r.time_us < to)
        .collect();
    let mut buckets: BTreeMap<(i64, String), u64> = BTreeMap::new();
    for r in &inside {
        *buckets
            .entry((
                from + (r.time_us - from) / bucket * bucket,
                r.reason.clone(),
            ))
            .or_default() += 1;
    }
    let ranked = |key: &dyn Fn(&BlockedRow) -> Option<String>, limit: usize| {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for r in &inside {
            if let Some(k) = key(r) {
                *m.entry(k).or_default() += 1;
            }
        }
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(limit);
        v
    };
    BlockedSummary {
        total: inside.len() as u64,
        buckets: buckets.into_iter().map(|((b, r), n)| (b, r, n)).collect(),
        by_reason: ranked(&|r| Some(r.reason.clone()), usize::MAX),
        top_sources: ranked(&|r| Some(r.source_ip.clone()), top),
        top_identities: ranked(&|r| r.identity.clone(), top),
        top_routes: ranked(&|r| Some(r.route.clone()), top),
        by_bot: ranked(&|r| r.bot.clone(), usize::MAX),
        top_waf_rules: ranked(&|r| r.matched.clone().filter(|_| r.reason == "waf"), top),
        top_decoys: ranked(
            &|r| r.matched.clone().filter(|_| r.reason == "honeypot"),
            top,
        ),
    }
}

/// Long ranges are summed from hourly counts kept as requests are logged; the
/// partial hours at a range's ends come from the requests, so every summary is
/// the same as counting the requests themselves.
#[tokio::test]
async fn blocked_summaries_over_hours_match_counting_every_request() {
    const H: i64 = 3_600_000_000;
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    let reasons = [
        "authentication",
        "authorization",
        "rate_limit",
        "bad_input",
        "waf",
        "honeypot",
    ];
    let verdicts = ["human", "bot", "bad_bot"];
    let rows: Vec<BlockedRow> = (0..600i64)
        .map(|i| {
            let who = format!("tok-{}", i % 7);
            // proves: GW-6 (the gateway's refusals counted by verdict, rule and decoy)
            BlockedRow {
                bot: (i % 4 != 0).then(|| verdicts[(i % 3) as usize].to_owned()),
                matched: Some(format!("m{}", i % 9)),
                ..blocked(
                    10 * H + i * 37 * 60_000_000 + i % 13,
                    reasons[(i % 6) as usize],
                    &format!("10.0.0.{}", i % 11),
                    (i % 3 != 0).then_some(who.as_str()),
                    &format!("/v1/r{}", i % 5),
                )
            }
        })
        .chain(std::iter::once(
            // A reason, source, identity and route seen only in the first hour:
            // a range after it must not list them (the totals minus that hour).
            blocked(
                10 * H + 5,
                "unknown_route",
                "192.0.2.1",
                Some("tok-early"),
                "/v1/early",
            ),
        ))
        .collect();
    let mut rows = rows;
    rows.sort_by_key(|r| r.time_us);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        for chunk in rows.chunks(100) {
            audit.append(&[], chunk, &sealer).await.unwrap();
        }
        let end = rows.last().unwrap().time_us + 1;
        let cases = [
            (10 * H, 20 * H, H),                                // aligned: hourly counts
            (10 * H, end, 3 * H),                               // aligned start, ragged end
            (12 * H, 200 * H, 24 * H),                          // whole days
            (10 * H + 1_234, end - 99, H),                      // ragged both ends
            (13 * H + 5, 13 * H + 40 * 60_000_000, 60_000_000), // inside one hour
            (15 * H, 16 * H, 30 * 60_000_000),                  // half-hour buckets
            (0, 1_000 * H, 24 * H),                             // all of it: the totals
            (11 * H, end, 24 * H),                              // the totals minus the first hour
            (11 * H + 7, end - 5, 12 * H),                      // the same, ragged
        ];
        for (from, to, bucket) in cases {
            let got = audit.blocked_summary(from, to, bucket, 3).await.unwrap();
            assert_eq!(
                got,
                naive(&rows, from, to, bucket, 3),
                "{b:?} [{from}, {to}) by {bucket}"
            );
        }
    }
}

/// `blocked` keeps the records of refused requests (any, or of one reason),
/// matched with the blocked log by request id, within the same time bounds.
#[tokio::test]
async fn records_of_blocked_requests_are_found_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        let records: Vec<Record> = (1..=6i64)
            .map(|i| Record {
                request_id: format!("q{i}"),
                ..record(
                    if i % 2 == 0 { "alice" } else { "bob" },
                    "server.read",
                    i * 100,
                )
            })
            .collect();
        let refused = |i: i64, reason: &str| BlockedRow {
            request_id: format!("q{i}"),
            ..blocked(i * 100, reason, "9.9.9.9", None, "/v1/server")
        };
        let rows = [
            refused(2, "authentication"),
            refused(3, "authorization"),
            refused(6, "authentication"),
        ];
        audit.append(&records, &rows, &sealer).await.unwrap();
        let ids = |found: Vec<StoredRecord>| -> Vec<String> {
            found.into_iter().map(|r| r.record.request_id).collect()
        };
        let search = |f: AuditFilter| async move { ids(audit.search(&f, 100).await.unwrap()) };
        assert_eq!(
            search(filter(|f| f.blocked = s("any"))).await,
            ["q6", "q3", "q2"],
            "{b:?}"
        );
        assert_eq!(
            search(filter(|f| f.blocked = s("authentication"))).await,
            ["q6", "q2"],
            "{b:?}"
        );
        assert_eq!(
            search(filter(|f| (f.blocked, f.actor) = (s("any"), s("bob")))).await,
            ["q3"],
            "{b:?}"
        );
        assert_eq!(
            search(filter(
                |f| (f.blocked, f.to_us) = (s("authentication"), Some(300))
            ))
            .await,
            ["q2"],
            "{b:?}"
        );
        assert!(
            search(filter(|f| f.blocked = s("rate_limit")))
                .await
                .is_empty(),
            "{b:?}"
        );
    }
}
