//! One-time codes (ID-8), sign-in challenges (ID-4, ID-5) and sign-ups in
//! progress (ID-1, ID-2). Codes arrive hashed; challenge and registration ids
//! arrive as their SHA-256. A code's try and its consumption are
//! compare-and-swaps on the row as read, so two requests racing with the same
//! code cannot both count as its first try or both use it; a registration's
//! progress is a compare-and-swap on its version for the same reason.
//! Everything here expires: [`ChallengeStore::prune`] removes what is past.

use crate::StoreError;

/// A one-time code's stored half.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CodeRow {
    /// The challenge or registration the code belongs to.
    pub binding: String,
    pub purpose: String,
    pub hash: Vec<u8>,
    pub expires_at_us: i64,
    pub checks: i64,
    pub is_consumed: bool,
}

impl std::fmt::Debug for CodeRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRow")
            .field("binding", &self.binding)
            .field("purpose", &self.purpose)
            .field("checks", &self.checks)
            .field("is_consumed", &self.is_consumed)
            .finish_non_exhaustive()
    }
}

/// A sign-in in progress: who (none for a decoy), what was proven (`amr`), what
/// may finish it (`methods`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChallengeRow {
    pub id_hash: Vec<u8>,
    /// `first_factor` or `second_factor`.
    pub stage: String,
    pub user_id: Option<String>,
    /// JSON array of the methods that may complete it (`sms`, `email`, `totp`,
    /// `recovery_code`).
    pub methods: String,
    /// JSON array of the factors proven so far.
    pub amr: String,
    /// The masked address a code went to, or empty.
    pub destination: String,
    pub source_ip: String,
    pub created_at_us: i64,
    pub expires_at_us: i64,
    /// Wrong codes presented so far (TOTP and recovery codes have no row of
    /// their own to count them).
    pub checks: i64,
    pub completed_at_us: Option<i64>,
    /// The authorization request (its id's SHA-256) whose hosted page began
    /// it; `None` for a sign-in through the API.
    pub authorization_hash: Option<Vec<u8>>,
}

/// A sign-up in progress.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegistrationRow {
    pub id_hash: Vec<u8>,
    pub user_type: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    /// The attributes the person gave, checked against the type (JSON object).
    pub attributes: String,
    /// An Argon2id PHC string.
    pub password: Option<Vec<u8>>,
    /// The TOTP secret being enrolled, sealed by the server.
    pub totp_secret: Option<Vec<u8>>,
    /// The flow's progress (JSON).
    pub progress: String,
    pub is_decoy: bool,
    pub source_ip: String,
    pub created_at_us: i64,
    pub expires_at_us: i64,
    /// The user created when every step was proven.
    pub user_id: Option<String>,
    pub version: i64,
}

impl std::fmt::Debug for RegistrationRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationRow")
            .field("user_type", &self.user_type)
            .field("progress", &self.progress)
            .field("is_decoy", &self.is_decoy)
            .field("user_id", &self.user_id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
pub trait ChallengeStore: Send + Sync {
    /// Stores a new code in place of any for the same binding and purpose, and
    /// counts a send to `destination` (an HMAC of the address) at `at_us`.
    async fn put_code(
        &self,
        code: &CodeRow,
        destination: &[u8],
        at_us: i64,
    ) -> Result<(), StoreError>;
    async fn find_code(&self, binding: &str, purpose: &str) -> Result<Option<CodeRow>, StoreError>;
    /// Stores `after` (one more try, or consumed) if the code is still as in
    /// `before`; `false` when another request changed it first.
    async fn check_code(&self, before: &CodeRow, after: &CodeRow) -> Result<bool, StoreError>;
    /// Codes sent to `destination` since `since_us`.
    async fn count_sends(&self, destination: &[u8], since_us: i64) -> Result<u64, StoreError>;
    async fn create_challenge(&self, row: &ChallengeRow) -> Result<(), StoreError>;
    async fn find_challenge(&self, id_hash: &[u8]) -> Result<Option<ChallengeRow>, StoreError>;
    /// Counts one wrong code against the challenge if it still has `checks`;
    /// `false` when another request counted first.
    async fn count_challenge_check(&self, id_hash: &[u8], checks: i64) -> Result<bool, StoreError>;
    /// Marks the challenge used; `false` when it already was (once only).
    async fn complete_challenge(&self, id_hash: &[u8], at_us: i64) -> Result<bool, StoreError>;
    async fn create_registration(&self, row: &RegistrationRow) -> Result<(), StoreError>;
    async fn find_registration(
        &self,
        id_hash: &[u8],
    ) -> Result<Option<RegistrationRow>, StoreError>;
    /// Stores `row` if the stored one still has `row.version - 1`.
    async fn update_registration(&self, row: &RegistrationRow) -> Result<bool, StoreError>;
    /// Removes codes, challenges and registrations that expired before
    /// `before_us`, and sends counted before `sends_before_us`.
    async fn prune(&self, before_us: i64, sends_before_us: i64) -> Result<u64, StoreError>;
}

pub(crate) const CODE_COLUMNS: &str = "binding, purpose, hash, expires_at_us, checks, is_consumed";
pub(crate) const CHALLENGE_COLUMNS: &str = "id_hash, stage, user_id, methods, amr, destination, \
     source_ip, created_at_us, expires_at_us, checks, completed_at_us, authorization_hash";
pub(crate) const REGISTRATION_COLUMNS: &str = "id_hash, user_type, email, phone, display_name, \
     attributes, password, totp_secret, progress, is_decoy, source_ip, created_at_us, \
     expires_at_us, user_id, version";

macro_rules! impl_challenge_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::ChallengeStore for $store {
            async fn put_code(
                &self,
                code: &$crate::CodeRow,
                destination: &[u8],
                at_us: i64,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                sqlx::query("DELETE FROM one_time_codes WHERE binding = $1 AND purpose = $2")
                    .bind(&code.binding)
                    .bind(&code.purpose)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO one_time_codes (binding, purpose, hash, expires_at_us, \
                     checks, is_consumed) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&code.binding)
                .bind(&code.purpose)
                .bind(&code.hash)
                .bind(code.expires_at_us)
                .bind(code.checks)
                .bind(code.is_consumed)
                .execute(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO code_sends (destination, at_us) VALUES ($1, $2)")
                    .bind(destination)
                    .bind(at_us)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_code(
                &self,
                binding: &str,
                purpose: &str,
            ) -> Result<Option<$crate::CodeRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM one_time_codes WHERE binding = $1 AND purpose = $2",
                    $crate::challenges::CODE_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(binding)
                    .bind(purpose)
                    .fetch_optional(&self.lookup)
                    .await?)
            }

            async fn check_code(
                &self,
                before: &$crate::CodeRow,
                after: &$crate::CodeRow,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE one_time_codes SET checks = $3, is_consumed = $4 \
                     WHERE binding = $1 AND purpose = $2 AND hash = $5 AND checks = $6 \
                     AND is_consumed = $7",
                )
                .bind(&before.binding)
                .bind(&before.purpose)
                .bind(after.checks)
                .bind(after.is_consumed)
                .bind(&before.hash)
                .bind(before.checks)
                .bind(before.is_consumed)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn count_sends(
                &self,
                destination: &[u8],
                since_us: i64,
            ) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM code_sends WHERE destination = $1 AND at_us >= $2",
                )
                .bind(destination)
                .bind(since_us)
                .fetch_one(&self.lookup)
                .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn create_challenge(
                &self,
                row: &$crate::ChallengeRow,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO challenges (id_hash, stage, user_id, methods, amr, \
                     destination, source_ip, created_at_us, expires_at_us, checks, \
                     completed_at_us, authorization_hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&row.id_hash)
                .bind(&row.stage)
                .bind(&row.user_id)
                .bind(&row.methods)
                .bind(&row.amr)
                .bind(&row.destination)
                .bind(&row.source_ip)
                .bind(row.created_at_us)
                .bind(row.expires_at_us)
                .bind(row.checks)
                .bind(row.completed_at_us)
                .bind(&row.authorization_hash)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn find_challenge(
                &self,
                id_hash: &[u8],
            ) -> Result<Option<$crate::ChallengeRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM challenges WHERE id_hash = $1",
                    $crate::challenges::CHALLENGE_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(id_hash)
                    .fetch_optional(&self.lookup)
                    .await?)
            }

            async fn count_challenge_check(
                &self,
                id_hash: &[u8],
                checks: i64,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE challenges SET checks = checks + 1 \
                     WHERE id_hash = $1 AND checks = $2 AND completed_at_us IS NULL",
                )
                .bind(id_hash)
                .bind(checks)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn complete_challenge(
                &self,
                id_hash: &[u8],
                at_us: i64,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE challenges SET completed_at_us = $2 \
                     WHERE id_hash = $1 AND completed_at_us IS NULL",
                )
                .bind(id_hash)
                .bind(at_us)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_registration(
                &self,
                row: &$crate::RegistrationRow,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO registrations (id_hash, user_type, email, phone, \
                     display_name, attributes, password, totp_secret, progress, is_decoy, \
                     source_ip, created_at_us, expires_at_us, user_id, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&row.id_hash)
                .bind(&row.user_type)
                .bind(&row.email)
                .bind(&row.phone)
                .bind(&row.display_name)
                .bind(&row.attributes)
                .bind(&row.password)
                .bind(&row.totp_secret)
                .bind(&row.progress)
                .bind(row.is_decoy)
                .bind(&row.source_ip)
                .bind(row.created_at_us)
                .bind(row.expires_at_us)
                .bind(&row.user_id)
                .bind(row.version)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn find_registration(
                &self,
                id_hash: &[u8],
            ) -> Result<Option<$crate::RegistrationRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM registrations WHERE id_hash = $1",
                    $crate::challenges::REGISTRATION_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(id_hash)
                    .fetch_optional(&self.lookup)
                    .await?)
            }

            async fn update_registration(
                &self,
                row: &$crate::RegistrationRow,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE registrations SET progress = $2, totp_secret = $3, user_id = $4, \
                     version = $5 WHERE id_hash = $1 AND version = $6",
                )
                .bind(&row.id_hash)
                .bind(&row.progress)
                .bind(&row.totp_secret)
                .bind(&row.user_id)
                .bind(row.version)
                .bind(row.version.saturating_sub(1))
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn prune(
                &self,
                before_us: i64,
                sends_before_us: i64,
            ) -> Result<u64, $crate::StoreError> {
                let mut removed = 0;
                for sql in [
                    "DELETE FROM one_time_codes WHERE expires_at_us < $1",
                    "DELETE FROM challenges WHERE expires_at_us < $1",
                    "DELETE FROM registrations WHERE expires_at_us < $1",
                ] {
                    removed += sqlx::query(sql)
                        .bind(before_us)
                        .execute(&self.writer)
                        .await?
                        .rows_affected();
                }
                removed += sqlx::query("DELETE FROM code_sends WHERE at_us < $1")
                    .bind(sends_before_us)
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                Ok(removed)
            }
        }
    };
}
pub(crate) use impl_challenge_store;
