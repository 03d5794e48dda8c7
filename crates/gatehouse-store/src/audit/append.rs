//! Appending: linking a batch onto the chain head inside the transaction that
//! holds the chain lock, and signing checkpoints. The same SQL on both backends.

/// `append_locked` and `seal_locked` for a backend (`$db`) whose `begin_chain`
/// opens the transaction holding the chain lock.
macro_rules! impl_audit_append {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Links `records` onto the head read inside `tx` (which holds the chain
            /// lock) and writes them, with `blocked` and a checkpoint if one is due.
            pub(crate) async fn append_locked(
                tx: &mut sqlx::Transaction<'static, $db>,
                records: &[gatehouse_audit::Record],
                blocked: &[$crate::BlockedRow],
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Vec<$crate::Appended>, $crate::StoreError> {
                use std::collections::HashMap;
                // The head and the last checkpoint in one statement (each is a
                // round trip to the connection, and this runs for every commit).
                type Head = (i64, Vec<u8>, i64, Option<i64>, Option<i64>);
                let head: Option<Head> = sqlx::query_as(
                    "SELECT r.seq, r.hash, r.time_us, c.seq, c.time_us FROM \
                     (SELECT seq, hash, time_us FROM audit_records ORDER BY seq DESC LIMIT 1) r \
                     LEFT JOIN \
                     (SELECT seq, time_us FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) c \
                     ON 1 = 1",
                )
                .fetch_optional(&mut **tx)
                .await?;
                let last_checkpoint = head.as_ref().map(|h| h.3.zip(h.4));
                let (last_seq, head_hash, mut last_time) = match head {
                    Some((seq, hash, time, _, _)) => (
                        u64::try_from(seq).unwrap_or(0),
                        <gatehouse_audit::Hash>::try_from(hash.as_slice()).unwrap_or([0; 32]),
                        time,
                    ),
                    None => (0, gatehouse_audit::GENESIS, i64::MIN),
                };
                // Idempotency: event ids already stored for the same actor.
                let mut known: HashMap<(String, String), u64> = HashMap::new();
                // One probe of the (event_id, actor_id) index per chunk, whatever
                // the number of actors in the batch.
                let ids: Vec<&str> = records
                    .iter()
                    .filter_map(|r| r.event_id.as_deref())
                    .collect();
                for chunk in ids.chunks($crate::audit::INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT actor_id, event_id, seq FROM audit_records WHERE event_id IN (",
                    );
                    let mut sep = q.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    q.push(")");
                    let rows: Vec<(String, String, i64)> =
                        q.build_query_as().fetch_all(&mut **tx).await?;
                    for (actor, event_id, seq) in rows {
                        known.insert((actor, event_id), u64::try_from(seq).unwrap_or(0));
                    }
                }

                let mut chain = gatehouse_audit::Chain::resume(last_seq, head_hash);
                let mut outcome = Vec::with_capacity(records.len());
                let mut rows: Vec<(u64, gatehouse_audit::Hash, gatehouse_audit::Record)> =
                    Vec::with_capacity(records.len());
                let mut canonical = Vec::with_capacity(512);
                for r in records {
                    if let Some(id) = r.event_id.as_deref() {
                        let key = (r.actor_id.clone(), id.to_owned());
                        if let Some(seq) = known.get(&key) {
                            outcome.push($crate::Appended {
                                seq: *seq,
                                is_duplicate: true,
                            });
                            continue;
                        }
                        known.insert(key, chain.last_seq() + 1);
                    }
                    let mut r = r.clone();
                    r.time_us = r.time_us.max(last_time);
                    last_time = r.time_us;
                    r.canonical_into(&mut canonical);
                    let (seq, hash) = chain.append(&canonical);
                    outcome.push($crate::Appended {
                        seq,
                        is_duplicate: false,
                    });
                    rows.push((seq, hash, r));
                }
                for chunk in rows.chunks($crate::audit::INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO audit_records ({}) ",
                        $crate::audit::RECORD_COLUMNS
                    ));
                    q.push_values(chunk, |mut b, (seq, hash, r)| {
                        // In the columns' one order: each bound by the column it is for.
                        use $crate::audit::Col;
                        for column in Col::ALL {
                            match column {
                                Col::Seq => b.push_bind($crate::audit::to_i64(*seq)),
                                Col::Hash => b.push_bind(hash.to_vec()),
                                Col::TimeUs => b.push_bind(r.time_us),
                                Col::EventId => b.push_bind(r.event_id.clone()),
                                Col::ActorKind => b.push_bind(r.actor_kind.clone()),
                                Col::ActorId => b.push_bind(r.actor_id.clone()),
                                Col::ActorName => b.push_bind(r.actor_name.clone()),
                                Col::OnBehalfOf => b.push_bind(r.on_behalf_of.clone()),
                                Col::Action => b.push_bind(r.action.clone()),
                                Col::ResourceType => b.push_bind(r.resource_type.clone()),
                                Col::ResourceId => b.push_bind(r.resource_id.clone()),
                                Col::Outcome => b.push_bind(r.outcome.clone()),
                                Col::Status => b.push_bind(r.status),
                                Col::SourceIp => b.push_bind(r.source_ip.clone()),
                                Col::UserAgent => b.push_bind(r.user_agent.clone()),
                                Col::RequestId => b.push_bind(r.request_id.clone()),
                                Col::Before => b.push_bind(r.before.clone()),
                                Col::After => b.push_bind(r.after.clone()),
                                Col::Details => b.push_bind(r.details.clone()),
                            };
                        }
                    });
                    q.build().execute(&mut **tx).await?;
                }
                for chunk in blocked.chunks($crate::audit::INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO blocked_requests (time_us, reason, source_ip, identity, \
                         method, route, status, request_id, bot, matched) ",
                    );
                    q.push_values(chunk, |mut b, row| {
                        b.push_bind(row.time_us)
                            .push_bind(row.reason.clone())
                            .push_bind(row.source_ip.clone())
                            .push_bind(row.identity.clone())
                            .push_bind(row.method.clone())
                            .push_bind(row.route.clone())
                            .push_bind(row.status)
                            .push_bind(row.request_id.clone())
                            .push_bind(row.bot.clone())
                            .push_bind(row.matched.clone());
                    });
                    q.build().execute(&mut **tx).await?;
                }
                if chain.last_seq() > last_seq {
                    Self::seal_locked(
                        tx,
                        chain.last_seq(),
                        chain.head(),
                        last_time,
                        sealer,
                        false,
                        last_checkpoint,
                    )
                    .await?;
                }
                Ok(outcome)
            }

            /// Signs the head (`seq`, `head`) if a checkpoint is due, or if
            /// `is_forced` and the head is newer than the last checkpoint.
            async fn seal_locked(
                tx: &mut sqlx::Transaction<'static, $db>,
                seq: u64,
                head: gatehouse_audit::Hash,
                now_us: i64,
                sealer: &gatehouse_audit::Sealer,
                is_forced: bool,
                // The last checkpoint (seq, time), when the caller read it
                // already in this transaction.
                known: Option<Option<(i64, i64)>>,
            ) -> Result<Option<gatehouse_audit::Checkpoint>, $crate::StoreError> {
                let last: Option<(i64, i64)> = match known {
                    Some(last) => last,
                    None => {
                        sqlx::query_as(
                            "SELECT seq, time_us FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
                        )
                        .fetch_optional(&mut **tx)
                        .await?
                    }
                };
                let (cp_seq, cp_time) = last
                    .map(|(s, t)| (u64::try_from(s).unwrap_or(0), t))
                    .unwrap_or((0, now_us));
                let since = seq.saturating_sub(cp_seq);
                let is_due = if is_forced {
                    since > 0
                } else {
                    sealer.policy.is_due(since, now_us.saturating_sub(cp_time))
                };
                if !is_due {
                    return Ok(None);
                }
                let cp = sealer.signer.sign(seq, head, now_us);
                sqlx::query(
                    "INSERT INTO audit_checkpoints (seq, head, time_us, key_id, signature) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind($crate::audit::to_i64(cp.seq))
                .bind(cp.head.to_vec())
                .bind(cp.time_us)
                .bind(&cp.key_id)
                .bind(cp.signature.to_vec())
                .execute(&mut **tx)
                .await?;
                Ok(Some(cp))
            }
        }
    };
}
pub(crate) use impl_audit_append;
