//! Account recovery: verification and reset links sent by email, and what using one does.
//!
//! A link carries a one-time token in its fragment (`#token=…`), which browsers never send
//! to a server; the SPA posts it. Tokens are 256 bits from the OS's CSPRNG, stored as
//! SHA-256 hashes, used once (a guarded `UPDATE` decides), and expire: reset links after 30
//! minutes, verification links after 24 hours. A reset or a password change ends every
//! outstanding reset link of the user.
//!
//! Asking for a reset link answers the same, in the same time, whether or not the email
//! has an account: the request is counted (per email and per IP) and answered, and looking
//! the account up, making the token and sending the email happen after the answer, in a
//! bounded queue of its own.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use shared::names::pages;
use shared::{ErrorCode, PasswordReset};

use super::accounts::{throttle_subject, validate_new_account};
use super::password::PasswordHasher;
use super::throttle;
use crate::clock::Clock;
use crate::crypto::{is_token_shaped, random_token, sha256_hex};
use crate::error::Error;
use crate::mail::{Email, Letter, Outbox};
use crate::store::{NewAccountToken, Store, TokenPurpose, UserRow, VerificationSlot};

/// How long a reset link works (ms).
pub const RESET_LINK_TTL_MS: i64 = 30 * 60 * 1000;
/// How long a verification link works (ms).
pub const VERIFY_LINK_TTL_MS: i64 = 24 * 3600 * 1000;
/// The least time between two verification emails to one user (ms).
pub const RESEND_INTERVAL_MS: i64 = 60 * 1000;
/// Reset requests waiting to be looked up; beyond this, new ones are dropped (and logged).
const RESET_QUEUE_CAPACITY: usize = 1024;

/// What the recovery flows use.
pub struct RecoveryParts {
    /// The database.
    pub store: Store,
    /// The bounded argon2id pool.
    pub hasher: PasswordHasher,
    /// Where emails are posted.
    pub outbox: Outbox,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// The site's origin, for links.
    pub public_url: String,
}

/// The recovery flows (cheap to clone).
#[derive(Clone)]
pub struct Recovery {
    parts: Arc<RecoveryParts>,
    /// Canonical emails whose reset link is to be made and sent, after the answer.
    reset_requests: mpsc::Sender<String>,
}

impl std::ops::Deref for Recovery {
    type Target = RecoveryParts;

    fn deref(&self) -> &RecoveryParts {
        &self.parts
    }
}

impl Recovery {
    /// The flows, and the worker that makes and sends reset links, to stop at shutdown.
    pub fn start(parts: RecoveryParts) -> (Self, JoinHandle<()>) {
        let (reset_requests, mut queue) = mpsc::channel::<String>(RESET_QUEUE_CAPACITY);
        let parts = Arc::new(parts);
        let worker_parts = Arc::clone(&parts);
        let worker = tokio::spawn(async move {
            while let Some(email) = queue.recv().await {
                worker_parts.send_reset_link(&email).await;
            }
        });
        let recovery = Self {
            parts,
            reset_requests,
        };
        (recovery, worker)
    }

    /// Counts a request for a reset link and, unless the IP must wait (429), answers at
    /// once; the email is sent afterwards if the account exists and the email may be sent.
    pub async fn forgot(&self, email: &str, ip: &str) -> Result<(), Error> {
        let subject = throttle_subject(email);
        let now = self.clock.now_ms();
        if throttle::admit_reset_request(&self.store, &subject, ip, now).await?
            && self.reset_requests.try_send(subject).is_err()
        {
            tracing::error!("reset link dropped: too many requests are waiting");
        }
        Ok(())
    }

    /// Sets a new password with a reset link's token. Revokes every session of the user
    /// and ends every reset link; returns the user as now stored and the revoked session
    /// ids. The token stays usable when only the new password is refused (422), so the
    /// user can try another.
    pub async fn reset(&self, reset: &PasswordReset) -> Result<(UserRow, Vec<String>), Error> {
        let invalid = || Error::new(ErrorCode::InvalidLink);
        if !is_token_shaped(&reset.token) {
            return Err(invalid());
        }
        let token_hash = sha256_hex(&reset.token);
        let now = self.clock.now_ms();
        let user_id = self
            .store
            .account_token_user(&token_hash, TokenPurpose::ResetPassword, now)
            .await?
            .ok_or_else(invalid)?;
        let user = self.store.user_by_id(&user_id).await?.ok_or_else(invalid)?;
        let (_, password) =
            validate_new_account(&user.email, &reset.password).map_err(Error::new)?;
        let new_hash = self.hasher.hash(password).await?;
        let now = self.clock.now_ms();
        let ended = self
            .store
            .reset_password(&token_hash, &user.id, &new_hash, now)
            .await?
            .ok_or_else(invalid)?;
        let user = UserRow {
            password_hash: new_hash,
            email_verified_at: user.email_verified_at.or(Some(now)),
            ..user
        };
        Ok((user, ended))
    }

    /// Marks the email of a verification link's user verified.
    pub async fn verify_email(&self, token: &str) -> Result<String, Error> {
        if !is_token_shaped(token) {
            return Err(Error::new(ErrorCode::InvalidLink));
        }
        let now = self.clock.now_ms();
        match self.store.verify_email(&sha256_hex(token), now).await? {
            Some(user_id) => Ok(user_id),
            None => Err(Error::new(ErrorCode::InvalidLink)),
        }
    }

    /// Emails the user a verification link, unless the email is verified already or one
    /// was sent less than a minute ago (then 429 with the wait).
    pub async fn resend_verification(&self, user_id: &str) -> Result<(), Error> {
        let Some(user) = self.store.user_by_id(user_id).await? else {
            return Err(Error::new(ErrorCode::SessionRevoked));
        };
        match self.send_verification(&user).await? {
            VerificationSlot::TooSoon(wait_ms) => {
                Err(Error::too_many_attempts((wait_ms + 999) / 1000))
            }
            VerificationSlot::Taken | VerificationSlot::NotNeeded => Ok(()),
        }
    }

    /// Emails the user a verification link if none was sent in the last minute and the
    /// email is not verified yet (after registration, and at a refused sign-in).
    pub async fn send_verification(&self, user: &UserRow) -> Result<VerificationSlot, Error> {
        let now = self.clock.now_ms();
        let slot = self
            .store
            .take_verification_slot(&user.id, now, RESEND_INTERVAL_MS)
            .await?;
        if slot == VerificationSlot::Taken {
            self.post_link(user, TokenPurpose::VerifyEmail).await?;
        }
        Ok(slot)
    }
}

impl RecoveryParts {
    /// Makes a reset link for the account with this canonical email, if there is one and
    /// it is enabled, and posts it.
    async fn send_reset_link(&self, email: &str) {
        let user = match self.store.user_by_email(email).await {
            Ok(Some(user)) if user.disabled_at.is_none() => user,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(%error, "reset link not sent: the database failed");
                return;
            }
        };
        if let Err(error) = self.post_link(&user, TokenPurpose::ResetPassword).await {
            tracing::error!(user_id = %user.id, %error, "reset link not sent: the database failed");
        }
    }

    /// Stores a new token for `user` and posts the email with its link; nothing when the
    /// account was disabled or its password changed since `user` was read.
    async fn post_link(&self, user: &UserRow, purpose: TokenPurpose) -> sqlx::Result<()> {
        let token = random_token(32);
        let now = self.clock.now_ms();
        let (page, ttl_ms) = match purpose {
            TokenPurpose::ResetPassword => (pages::RESET_PASSWORD, RESET_LINK_TTL_MS),
            TokenPurpose::VerifyEmail => (pages::VERIFY_EMAIL, VERIFY_LINK_TTL_MS),
        };
        let new_token = NewAccountToken {
            token_hash: &sha256_hex(&token),
            user_id: &user.id,
            purpose,
            now,
            expires_at: now + ttl_ms,
        };
        if !self
            .store
            .insert_account_token(new_token, &user.password_hash)
            .await?
        {
            return Ok(());
        }
        let link = format!(
            "{}{page}#{}={token}",
            self.public_url,
            pages::TOKEN_FRAGMENT
        );
        let email = match purpose {
            TokenPurpose::ResetPassword => Email::ResetPassword { link },
            TokenPurpose::VerifyEmail => Email::VerifyEmail { link },
        };
        self.outbox.post(Letter {
            to: user.email.clone(),
            user_id: user.id.clone(),
            email,
            valid_for: Duration::from_millis(ttl_ms.unsigned_abs()),
        });
        Ok(())
    }
}
