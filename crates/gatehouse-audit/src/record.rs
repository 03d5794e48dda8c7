//! The audit record as the chain sees it, and its canonical encoding: every field,
//! in a fixed order, length-prefixed. The hash covers exactly what is stored in the
//! columns that queries filter on, so a record cannot be hidden from a search by
//! editing an indexed column without breaking the chain.

/// How a request or event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Allowed and done.
    Success,
    /// Refused for lack of a valid credential or permission (401, 403).
    Denied,
    /// Refused as bad input (other 4xx).
    Rejected,
    /// Accepted but failed on our side (5xx).
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [Self::Success, Self::Denied, Self::Rejected, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The outcome an HTTP status stands for.
    pub fn of_status(status: u16) -> Self {
        match status {
            401 | 403 => Self::Denied,
            400..=499 => Self::Rejected,
            500..=599 => Self::Failed,
            _ => Self::Success,
        }
    }
}

/// One audit record, before it has a place in the chain. Text fields that do not
/// apply are empty; JSON fields hold redacted JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// When the server recorded it, unix microseconds (never earlier than the
    /// record before it: the store enforces that, so time order is chain order).
    pub time_us: i64,
    /// The client-supplied id of an ingested event (idempotency key per actor).
    pub event_id: Option<String>,
    /// `api_token`, `user`, `service`, `operator` (the local CLI) or `anonymous`.
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    /// Whose behalf the actor acted on, if not its own.
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    /// [`Outcome::as_str`].
    pub outcome: String,
    /// HTTP status; 0 for an ingested event that has none.
    pub status: i32,
    pub source_ip: String,
    pub user_agent: String,
    pub request_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub details: Option<String>,
}

const VERSION: &[u8] = b"gatehouse-audit-record-v1\0";

/// A record borrowed from wherever it is read (a database row), so verification
/// can encode it without copying a field.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordRef<'a> {
    pub time_us: i64,
    pub event_id: Option<&'a str>,
    pub actor_kind: &'a str,
    pub actor_id: &'a str,
    pub actor_name: &'a str,
    pub on_behalf_of: Option<&'a str>,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub outcome: &'a str,
    pub status: i32,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub request_id: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub details: Option<&'a str>,
}

impl RecordRef<'_> {
    /// The bytes the chain hashes: every field, length-prefixed, in a fixed order.
    pub fn canonical_into(&self, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(VERSION);
        out.extend_from_slice(&self.time_us.to_be_bytes());
        put_opt(out, self.event_id);
        for s in [self.actor_kind, self.actor_id, self.actor_name] {
            put(out, s);
        }
        put_opt(out, self.on_behalf_of);
        for s in [
            self.action,
            self.resource_type,
            self.resource_id,
            self.outcome,
        ] {
            put(out, s);
        }
        out.extend_from_slice(&self.status.to_be_bytes());
        for s in [self.source_ip, self.user_agent, self.request_id] {
            put(out, s);
        }
        for s in [self.before, self.after, self.details] {
            put_opt(out, s);
        }
    }
}

impl Record {
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            time_us: self.time_us,
            event_id: self.event_id.as_deref(),
            actor_kind: &self.actor_kind,
            actor_id: &self.actor_id,
            actor_name: &self.actor_name,
            on_behalf_of: self.on_behalf_of.as_deref(),
            action: &self.action,
            resource_type: &self.resource_type,
            resource_id: &self.resource_id,
            outcome: &self.outcome,
            status: self.status,
            source_ip: &self.source_ip,
            user_agent: &self.user_agent,
            request_id: &self.request_id,
            before: self.before.as_deref(),
            after: self.after.as_deref(),
            details: self.details.as_deref(),
        }
    }

    /// The bytes the chain hashes ([`RecordRef::canonical_into`]).
    pub fn canonical_into(&self, out: &mut Vec<u8>) {
        self.as_ref().canonical_into(out);
    }

    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.canonical_into(&mut out);
        out
    }
}

fn put(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put(out, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            time_us: 1,
            actor_kind: "api_token".into(),
            actor_id: "a".into(),
            action: "server.read".into(),
            outcome: "success".into(),
            status: 200,
            ..Record::default()
        }
    }

    #[test]
    fn every_field_is_covered_and_boundaries_are_unambiguous() {
        let base = sample().canonical();
        let variants = [
            Record {
                time_us: 2,
                ..sample()
            },
            Record {
                event_id: Some(String::new()),
                ..sample()
            },
            Record {
                actor_id: "b".into(),
                ..sample()
            },
            // Moving a character across a field boundary changes the bytes.
            Record {
                actor_kind: "api_toke".into(),
                actor_id: "na".into(),
                ..sample()
            },
            Record {
                on_behalf_of: Some("u".into()),
                ..sample()
            },
            Record {
                resource_id: "r".into(),
                ..sample()
            },
            Record {
                status: 201,
                ..sample()
            },
            Record {
                source_ip: "10.0.0.1".into(),
                ..sample()
            },
            Record {
                user_agent: "x".into(),
                ..sample()
            },
            Record {
                request_id: "q".into(),
                ..sample()
            },
            Record {
                before: Some("{}".into()),
                ..sample()
            },
            Record {
                after: Some("{}".into()),
                ..sample()
            },
            Record {
                details: Some("{}".into()),
                ..sample()
            },
        ];
        for v in variants {
            assert_ne!(v.canonical(), base, "{v:?}");
        }
        assert_eq!(sample().canonical(), base);
    }

    #[test]
    fn outcomes() {
        assert_eq!(Outcome::of_status(200), Outcome::Success);
        assert_eq!(Outcome::of_status(401), Outcome::Denied);
        assert_eq!(Outcome::of_status(403), Outcome::Denied);
        assert_eq!(Outcome::of_status(422), Outcome::Rejected);
        assert_eq!(Outcome::of_status(503), Outcome::Failed);
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("ok"), None);
    }
}
