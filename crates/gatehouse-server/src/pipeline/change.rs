//! A change and its audit record commit together (DESIGN.md rule 13), through
//! one function a handler cannot call wrongly: [`Audit::commit_change`] hands the
//! domain function a [`ChangeRecord`] to build the record with, and only when the
//! change committed does it mark the request recorded (so the last stage writes
//! no second record) and wake the live tails. When the change fails, nothing was
//! committed and the last stage records the failure like any request.

use std::future::Future;

use gatehouse_audit::{Record, Sealer};
use http::StatusCode;
use serde_json::Value;

use super::Audit;
use crate::audit::AuditLog;
use crate::error::ApiFailure;

/// What a domain function needs to commit a change with its record: the record
/// of the change, and the checkpoint signer the append uses.
pub trait RecordChange: Send + Sync {
    /// The record of a change to `resource` (`(type, id)`) at `time_us`.
    fn record(
        &self,
        time_us: i64,
        resource: (&str, &str),
        before: Option<Value>,
        after: Option<Value>,
    ) -> Record;

    fn sealer(&self) -> &Sealer;
}

/// A request's change, recorded as the request's one record with `status`.
pub struct ChangeRecord<'a> {
    audit: &'a Audit,
    sealer: &'a Sealer,
    status: u16,
}

impl RecordChange for ChangeRecord<'_> {
    fn record(
        &self,
        time_us: i64,
        (kind, id): (&str, &str),
        before: Option<Value>,
        after: Option<Value>,
    ) -> Record {
        self.audit.resource(kind, id);
        self.audit.record(time_us, self.status, before, after)
    }

    fn sealer(&self) -> &Sealer {
        self.sealer
    }
}

impl Audit {
    /// Runs `change`, which commits a change together with the record it builds
    /// through the [`ChangeRecord`] it is given, answering `status` on success.
    pub async fn commit_change<'a, T, F, Fut>(
        &'a self,
        log: &'a AuditLog,
        status: StatusCode,
        change: F,
    ) -> Result<T, ApiFailure>
    where
        F: FnOnce(ChangeRecord<'a>) -> Fut,
        Fut: Future<Output = Result<T, ApiFailure>>,
    {
        let recorder = ChangeRecord {
            audit: self,
            sealer: log.sealer(),
            status: status.as_u16(),
        };
        let committed = change(recorder).await?;
        self.mark_recorded();
        log.notify_appended();
        Ok(committed)
    }
}

/// A change no request made: the local operator's (`gatehouse init`,
/// `gatehouse keys rotate`) or the server's own (scheduled key rotation).
pub struct SystemChange {
    /// `operator` or `system`.
    pub actor_kind: &'static str,
    pub actor_id: String,
    pub actor_name: String,
    pub action: &'static str,
    pub sealer: std::sync::Arc<Sealer>,
}

impl RecordChange for SystemChange {
    fn record(
        &self,
        time_us: i64,
        (kind, id): (&str, &str),
        before: Option<Value>,
        after: Option<Value>,
    ) -> Record {
        Record {
            time_us,
            actor_kind: self.actor_kind.into(),
            actor_id: self.actor_id.clone(),
            actor_name: self.actor_name.clone(),
            action: self.action.into(),
            resource_type: kind.into(),
            resource_id: id.into(),
            outcome: "success".into(),
            source_ip: "local".into(),
            request_id: format!("{}-{}", self.action, uuid::Uuid::new_v4()),
            before: before.map(|v| v.to_string()),
            after: after.map(|v| v.to_string()),
            ..Record::default()
        }
    }

    fn sealer(&self) -> &Sealer {
        &self.sealer
    }
}
