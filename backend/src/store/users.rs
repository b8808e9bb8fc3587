//! The `users` table.

use shared::Role;

use super::{InsertError, Store, USERS_EMAIL, on_constraint, sessions};

/// A user as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    /// User id.
    pub id: String,
    /// Canonical email.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Parsed here, once: a row with any other role is an error where it is read.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, when disabled.
    pub disabled_at: Option<i64>,
    /// Unix ms, when the user proved the email is theirs.
    pub email_verified_at: Option<i64>,
    /// The sealed TOTP secret, once set up (see `auth::mfa`).
    pub totp_secret: Option<String>,
    /// Unix ms, when TOTP was confirmed: from then on sign-in asks for a code.
    pub totp_enabled_at: Option<i64>,
}

/// What creating a user needs.
pub struct NewUser<'a> {
    /// Canonical email.
    pub email: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// The role.
    pub role: Role,
    /// Unix ms.
    pub now: i64,
}

/// The columns of a [`UserRow`].
pub(super) const COLUMNS: &str = "id, email, password_hash, role, created_at, disabled_at, \
     email_verified_at, totp_secret, totp_enabled_at";

impl Store {
    /// Inserts a user; [`InsertError::Conflict`] when the email is taken.
    pub async fn insert_user(&self, user: NewUser<'_>) -> Result<UserRow, InsertError> {
        sqlx::query_as(&format!(
            "INSERT INTO users (id, email, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ))
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.role.as_str())
        .bind(user.now)
        .fetch_one(&self.writes)
        .await
        .map_err(|error| on_constraint(error, &USERS_EMAIL))
    }

    /// The user with this canonical email.
    pub async fn user_by_email(&self, email: &str) -> sqlx::Result<Option<UserRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.reads)
            .await
    }

    /// The user with this id.
    pub async fn user_by_id(&self, id: &str) -> sqlx::Result<Option<UserRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.reads)
            .await
    }

    /// Every user, oldest first.
    pub async fn list_users(&self) -> sqlx::Result<Vec<UserRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM users ORDER BY created_at, email"
        ))
        .fetch_all(&self.reads)
        .await
    }

    /// Sets a user's role; false when there is no such user.
    pub async fn set_role(&self, email: &str, role: Role) -> sqlx::Result<bool> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE email = $2")
            .bind(role.as_str())
            .bind(email)
            .execute(&self.writes)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Marks a user disabled and revokes all of their sessions in one transaction.
    /// Returns the user id, or `None` when there is no such user.
    pub async fn disable_user(&self, email: &str, now: i64) -> sqlx::Result<Option<String>> {
        let mut tx = self.writes.begin().await?;
        let id: Option<(String,)> = sqlx::query_as(
            "UPDATE users SET disabled_at = COALESCE(disabled_at, $1) WHERE email = $2 RETURNING id",
        )
        .bind(now)
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id,)) = &id {
            sessions::revoke_user_sessions(&mut tx, id, None, now).await?;
        }
        tx.commit().await?;
        Ok(id.map(|(id,)| id))
    }
}
