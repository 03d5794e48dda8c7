//! AU-6: CSV (RFC 4180, safe to open in a spreadsheet) and JSON Lines exports of
//! the filtered trail.

use gatehouse_client::ExportFormat;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::AuditQuery;
use gatehouse_types::{AuditRecord, ErrorCode, Role};
use serde_json::json;

use super::{event, find, ingest, mint, request_id};
use crate::assert_error;

const HEADER: [&str; 19] = [
    "seq",
    "time",
    "actor_kind",
    "actor_id",
    "actor_name",
    "on_behalf_of",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "status",
    "source_ip",
    "user_agent",
    "request_id",
    "event_id",
    "before",
    "after",
    "details",
    "hash",
];

/// A strict RFC 4180 reader: CRLF after every row, quotes only around a whole
/// cell, `""` for a quote inside one.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut is_quoted = false;
    let mut was_quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => {
                    is_quoted = false;
                    was_quoted = true;
                }
                c => cell.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                assert!(
                    cell.is_empty() && !was_quoted,
                    "a quote inside an unquoted cell: {cell:?}"
                );
                is_quoted = true;
            }
            ',' => {
                row.push(std::mem::take(&mut cell));
                was_quoted = false;
            }
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "rows end in CRLF");
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
                was_quoted = false;
            }
            '\n' => panic!("a bare LF outside quotes"),
            c => {
                assert!(!was_quoted, "text after a closing quote");
                cell.push(c);
            }
        }
    }
    assert!(!is_quoted, "an unterminated quote");
    assert!(
        cell.is_empty() && row.is_empty(),
        "the last row ends in CRLF"
    );
    rows
}

async fn csv_is_rfc4180_and_formulas_stay_text(db: Db) {
    let server = TestServer::start(db).await;
    let (service, service_id) = mint(&server, Role::Service, "svc").await;
    let hostile = ["=HYPERLINK(\"http://x\")", "+1", "-1", "@x", "a,\"b\" c"];
    let events = hostile
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut e = event(&format!("x{i}"), "doc.open");
            e["resource"]["id"] = json!(id);
            e["on_behalf_of"] = json!("@SUM(1)");
            e["details"] = json!({"formula": "=1+1", "quote": "say \"hi\", twice"});
            e
        })
        .collect();
    assert_eq!(ingest(&server, &service, events).await.accepted, 5);

    let filters = AuditQuery {
        actor: Some(service_id.to_string()),
        action: Some("doc.open".into()),
        ..AuditQuery::default()
    };
    let searched = find(&server, filters.clone()).await;
    let bytes = server
        .client()
        .export_audit(ExportFormat::Csv, &filters)
        .await
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
    let rows = parse_csv(&text);
    assert_eq!(rows[0], HEADER, "a header row");
    let rows = &rows[1..];
    assert_eq!(rows.len(), 5);
    let col = |name: &str| HEADER.iter().position(|h| *h == name).unwrap();
    let mut expected_ids: Vec<String> = vec![
        "'=HYPERLINK(\"http://x\")".into(),
        "'+1".into(),
        "'-1".into(),
        "'@x".into(),
        "a,\"b\" c".into(),
    ];
    let mut ids: Vec<String> = rows.iter().map(|r| r[col("resource_id")].clone()).collect();
    ids.sort();
    expected_ids.sort();
    assert_eq!(ids, expected_ids);
    // Oldest first, the same records and hashes a search shows.
    let mut searched = searched;
    searched.reverse();
    for (row, record) in rows.iter().zip(&searched) {
        assert_eq!(row.len(), HEADER.len());
        assert_eq!(row[col("seq")], record.seq.to_string());
        assert_eq!(row[col("hash")], record.hash);
        assert_eq!(row[col("on_behalf_of")], "'@SUM(1)");
        assert_eq!(row[col("status")], "", "an event has no HTTP status");
        let details: serde_json::Value = serde_json::from_str(&row[col("details")]).unwrap();
        assert_eq!(details, record.details.clone().unwrap());
    }

    // A user agent is the caller's to choose, formulas included.
    // proves: AU-6 (full-width starters, and a starter after spaces)
    let agents_sent = [
        "=1+2",
        "@SUM(A1)",
        "-2+3",
        "+cmd",
        "＝1+2",
        "＠SUM(A1)",
        "－2+3",
        "＋cmd",
        " =1+2",
    ];
    for agent in agents_sent {
        let response = server
            .raw()
            .get(server.url("/healthz"))
            .header(
                "user-agent",
                reqwest::header::HeaderValue::from_bytes(agent.as_bytes()).unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let health = AuditQuery {
        action: Some("health.read".into()),
        ..AuditQuery::default()
    };
    let bytes = server
        .client()
        .export_audit(ExportFormat::Csv, &health)
        .await
        .unwrap();
    let agents: Vec<String> = parse_csv(&String::from_utf8(bytes).unwrap())[1..]
        .iter()
        .map(|r| r[HEADER.iter().position(|h| *h == "user_agent").unwrap()].clone())
        .collect();
    let expected: Vec<String> = agents_sent.iter().map(|a| format!("'{a}")).collect();
    assert_eq!(agents, expected);

    // The whole trail: no cell anywhere can start a formula.
    let all = server
        .client()
        .export_audit(ExportFormat::Csv, &AuditQuery::default())
        .await
        .unwrap();
    let rows = parse_csv(&String::from_utf8(all).unwrap());
    assert!(rows.len() > 6);
    for row in &rows {
        assert_eq!(row.len(), HEADER.len());
        for cell in row {
            assert!(
                !cell
                    .trim_start()
                    .starts_with(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠']),
                "{cell:?}"
            );
        }
    }

    // Nothing matches: the header alone.
    let nothing = AuditQuery {
        actor: Some("nobody".into()),
        ..AuditQuery::default()
    };
    let bytes = server
        .client()
        .export_audit(ExportFormat::Csv, &nothing)
        .await
        .unwrap();
    assert_eq!(
        parse_csv(&String::from_utf8(bytes).unwrap()),
        vec![HEADER.to_vec()]
    );
}

async fn jsonl_is_the_trail_record_by_record(db: Db) {
    let server = TestServer::start(db).await;
    let (auditor, _) = mint(&server, Role::Auditor, "auditor").await;
    let searched = find(&server, AuditQuery::default()).await;
    let response = server
        .raw()
        .get(server.url("/v1/audit/export?format=jsonl"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/x-ndjson");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"audit-20260101T000000Z.jsonl\""
    );
    let rid = request_id(&response);
    let text = response.text().await.unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<AuditRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let seqs: Vec<u64> = lines.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=lines.len() as u64).collect::<Vec<_>>());
    // The export's own record is committed before its body is sent, so it is the
    // last line.
    let own = lines.last().unwrap();
    assert_eq!(
        (own.action.as_str(), own.request_id.as_str()),
        ("audit.export", rid.as_str())
    );
    for record in &searched {
        assert_eq!(&lines[record.seq as usize - 1], record);
    }

    let response = server
        .raw()
        .get(server.url("/v1/audit/export"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/csv; charset=utf-8",
        "CSV by default"
    );
    assert!(response.text().await.unwrap().starts_with("seq,time,"));
}

async fn bad_export_requests_are_refused(db: Db) {
    let server = TestServer::start(db).await;
    for (query, name) in [
        ("format=xml", "format"),
        ("format=CSV", "format"),
        ("format=", "format"),
        ("format=csv&limit=10", "limit"),
        ("format=csv&cursor=5", "cursor"),
        ("format=csv&from=soon", "from"),
        ("format=csv&outcome=fine", "outcome"),
        ("format=csv&sort=seq", "sort"),
    ] {
        let response = server
            .raw()
            .get(server.url(&format!("/v1/audit/export?{query}")))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        let error = assert_error(response, 400, ErrorCode::InvalidParameter).await;
        assert!(error.message.contains(name), "{query}: {}", error.message);
    }
}

on_both_databases!(
    csv_is_rfc4180_and_formulas_stay_text,
    jsonl_is_the_trail_record_by_record,
    bad_export_requests_are_refused,
);
