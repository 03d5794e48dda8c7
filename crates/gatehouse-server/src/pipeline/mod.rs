//! The request pipeline every route goes through, in this order:
//!
//! 1. [`finalize`] (outermost): handles the request on a task of its own (a
//!    client that resets its stream cannot cut the record off), assigns the request
//!    id, refuses a source past its limit of requests without a valid credential
//!    ([`throttle`]: 429, recorded once per window), refuses bodies over the limit
//!    by their declared length, adds the security headers, and renders every error,
//!    wherever it arose, into the one error shape.
//! 2. [`guard`] (on every matched route): looks the route up in the route table,
//!    authenticates the caller, parses the item the path names into its canonical
//!    form and describes it from the store ([`target`]), and asks the policies
//!    about exactly that; a route missing from the table is refused (deny by
//!    default), and so is a call a policy errored on.
//! 3. [`limit`] (inside the guard): a heavy route (search, export, verification,
//!    the blocked log, the permissions matrix) serves a bounded number of
//!    requests at once; beyond that, a short wait, then 503 with `Retry-After`.
//! 4. The handler, which reads the caller through the [`Caller`] extractor.
//! 5. Back in [`finalize`]: the request's audit record and, if the request was
//!    refused, its blocked-request entry ([`record`]). A response whose record
//!    cannot be written becomes `unavailable`: nothing is answered unrecorded.
//!
//! The stages are layers on the whole router, so no route can skip them.

mod change;
mod extract;
mod finalize;
mod guard;
mod limit;
mod record;
mod target;
mod throttle;

pub use change::{ChangeRecord, RecordChange};
pub use extract::{ApiJson, ApiPath, ApiQuery, Caller, PathToken, PathVersion};
pub use finalize::finalize;
pub use guard::guard;
pub use limit::{limit, RouteLimits};
pub use record::{Audit, AuditNote, AuditSlot, RequestFacts};
pub use throttle::SourceLimiter;

use gatehouse_types::{ApiTokenId, Role};

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: ApiTokenId,
    pub name: String,
    pub role: Role,
}

/// The request's id, in the request's extensions from the first stage on.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);
