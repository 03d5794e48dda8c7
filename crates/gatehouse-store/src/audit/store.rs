//! The audit store's trait implementation, the same SQL on both backends except
//! for the case-insensitive LIKE operator: appends (through `append_locked`),
//! checkpoints and the blocked-request log's search and summary here, the
//! record reads in each backend's `read_after_impl`, `search_impl` and
//! `verify_chain_impl`.

/// The audit store for a backend; it provides `begin_chain` (the transaction
/// holding the chain lock) and the record reads.
macro_rules! impl_audit_store {
    ($store:ty, $db:ty, $ilike:literal) => {
        $crate::audit::impl_audit_append!($store, $db);

        #[async_trait::async_trait]
        impl $crate::AuditStore for $store {
            async fn append(
                &self,
                records: &[gatehouse_audit::Record],
                blocked: &[$crate::BlockedRow],
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Vec<$crate::Appended>, $crate::StoreError> {
                if records.is_empty() && blocked.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_chain().await?;
                let appended = Self::append_locked(&mut tx, records, blocked, sealer).await?;
                tx.commit().await?;
                Ok(appended)
            }

            async fn seal(
                &self,
                now_us: i64,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Option<gatehouse_audit::Checkpoint>, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let head: Option<(i64, Vec<u8>, i64)> = sqlx::query_as(
                    "SELECT seq, hash, time_us FROM audit_records ORDER BY seq DESC LIMIT 1",
                )
                .fetch_optional(&mut *tx)
                .await?;
                let Some((seq, hash, time_us)) = head else {
                    return Ok(None);
                };
                let hash = <gatehouse_audit::Hash>::try_from(hash.as_slice()).unwrap_or([0; 32]);
                let cp = Self::seal_locked(
                    &mut tx,
                    u64::try_from(seq).unwrap_or(0),
                    hash,
                    now_us.max(time_us),
                    sealer,
                    true,
                    None,
                )
                .await?;
                tx.commit().await?;
                Ok(cp)
            }

            async fn last_seq(&self) -> Result<u64, $crate::StoreError> {
                let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_records")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
            }

            async fn read_after(
                &self,
                after_seq: u64,
                limit: u32,
            ) -> Result<Vec<$crate::StoredRecord>, $crate::StoreError> {
                self.read_after_impl(after_seq, limit).await
            }

            async fn verify_chain(
                &self,
                verifier: gatehouse_audit::Verifier,
            ) -> Result<gatehouse_audit::Verifier, $crate::StoreError> {
                self.verify_chain_impl(verifier).await
            }

            async fn latest_checkpoint(
                &self,
            ) -> Result<Option<gatehouse_audit::Checkpoint>, $crate::StoreError> {
                let row: Option<$crate::audit::CheckpointRow> = sqlx::query_as(
                    "SELECT seq, head, time_us, key_id, signature FROM audit_checkpoints \
                     ORDER BY seq DESC LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map($crate::audit::CheckpointRow::into_checkpoint))
            }

            async fn checkpoints(
                &self,
            ) -> Result<Vec<gatehouse_audit::Checkpoint>, $crate::StoreError> {
                let rows: Vec<$crate::audit::CheckpointRow> = sqlx::query_as(
                    "SELECT seq, head, time_us, key_id, signature FROM audit_checkpoints \
                     ORDER BY seq",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map($crate::audit::CheckpointRow::into_checkpoint)
                    .collect())
            }

            async fn search(
                &self,
                f: &$crate::AuditFilter,
                limit: u32,
            ) -> Result<Vec<$crate::StoredRecord>, $crate::StoreError> {
                self.search_impl(f, limit).await
            }

            async fn search_blocked(
                &self,
                f: &$crate::BlockedFilter,
                limit: u32,
            ) -> Result<Vec<$crate::BlockedRow>, $crate::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM blocked_requests WHERE 1 = 1",
                    $crate::audit::BLOCKED_COLUMNS
                ));
                if let Some(v) = f.from_us {
                    q.push(" AND time_us >= ").push_bind(v);
                }
                if let Some(v) = f.to_us {
                    q.push(" AND time_us < ").push_bind(v);
                }
                for (column, value) in [
                    ("reason", &f.reason),
                    ("source_ip", &f.source_ip),
                    ("identity", &f.identity),
                    ("route", &f.route),
                ] {
                    if let Some(v) = value {
                        q.push(format!(" AND {column} = ")).push_bind(v.clone());
                    }
                }
                if let Some(b) = f.before_id {
                    q.push(" AND id < ").push_bind(b);
                }
                q.push(" ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(limit));
                let rows: Vec<$crate::audit::BlockedDbRow> =
                    q.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn blocked_summary(
                &self,
                from_us: i64,
                to_us: i64,
                bucket_us: i64,
                top: u32,
            ) -> Result<$crate::BlockedSummary, $crate::StoreError> {
                let bucket_us = bucket_us.max(1);
                let (lo, hi) = $crate::blocked::whole_hours(from_us, to_us);
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                let span: (Option<i64>, Option<i64>) =
                    sqlx::query_as($crate::blocked::SPAN_SQL)
                        .fetch_one(&self.pool)
                        .await?;
                let totals = $crate::blocked::from_totals(lo, hi, span);
                // Independent reads, each on its own pooled connection.
                let counts = |dimension: &'static str, limit: i64| {
                    let sql = $crate::blocked::counts_sql(dimension, totals);
                    let pool = self.pool.clone();
                    async move {
                        let rows: Vec<(String, i64)> = sqlx::query_as(&sql)
                            .bind(from_us)
                            .bind(to_us)
                            .bind(lo)
                            .bind(hi)
                            .bind(limit)
                            .fetch_all(&pool)
                            .await?;
                        Ok::<_, sqlx::Error>(
                            rows.into_iter().map(|(k, n)| (k, count(n))).collect::<Vec<_>>(),
                        )
                    }
                };
                let buckets = async {
                    let rows: Vec<(i64, String, i64)> =
                        sqlx::query_as($crate::blocked::buckets_sql(from_us, bucket_us))
                            .bind(from_us)
                            .bind(to_us)
                            .bind(lo)
                            .bind(hi)
                            .bind(bucket_us)
                            .fetch_all(&self.pool)
                            .await?;
                    Ok::<_, sqlx::Error>(rows)
                };
                let top = i64::from(top);
                // Every reason is counted; only the talkers are cut to `top`.
                let (buckets, by_reason, top_sources, top_identities, top_routes) = tokio::try_join!(
                    buckets,
                    counts("reason", i64::MAX),
                    counts("source", top),
                    counts("identity", top),
                    counts("route", top),
                )?;
                let (by_bot, top_waf_rules, top_decoys) = tokio::try_join!(
                    counts("bot", i64::MAX),
                    counts("waf_rule", top),
                    counts("decoy", top),
                )?;
                let summary = $crate::BlockedSummary {
                    total: by_reason.iter().map(|(_, n)| n).sum(),
                    buckets: buckets
                        .into_iter()
                        .map(|(b, r, n)| (b, r, count(n)))
                        .collect(),
                    by_reason,
                    top_sources,
                    top_identities,
                    top_routes,
                    by_bot,
                    top_waf_rules,
                    top_decoys,
                };
                Ok(summary)
            }
        }
    };
}
pub(crate) use impl_audit_store;
