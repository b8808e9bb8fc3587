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
//! the account up, making the token and sending the email happen after the answer.

use std::sync::Arc;

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

/// The recovery flows, over what they use (cheap to clone).
#[derive(Clone)]
pub struct Recovery {
    /// The database.
    pub store: Store,
    /// The bounded argon2id pool.
    pub hasher: PasswordHasher,
    /// Where emails are posted.
    pub outbox: Outbox,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// The site's origin, for links.
    pub public_url: Arc<str>,
}

impl Recovery {
    /// Counts a request for a reset link and, unless the IP must wait (429), answers at
    /// once; the email is sent afterwards if the account exists and the email may be sent.
    pub async fn forgot(&self, email: &str, ip: &str) -> Result<(), Error> {
        let subject = throttle_subject(email);
        let now = self.clock.now_ms();
        if throttle::admit_reset_request(&self.store, &subject, ip, now).await? {
            let recovery = self.clone();
            tokio::spawn(async move { recovery.send_reset_link(&subject).await });
        }
        Ok(())
    }

    async fn send_reset_link(&self, email: &str) {
        let user = match self.store.user_by_email(email).await {
            Ok(Some(user)) if user.disabled_at.is_none() => user,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(%error, "reset link not sent: the database failed");
                return;
            }
        };
        match self.new_link(&user, TokenPurpose::ResetPassword).await {
            Ok(link) => self.outbox.post(Letter {
                to: user.email,
                user_id: user.id,
                email: Email::ResetPassword { link },
            }),
            Err(error) => {
                tracing::error!(user_id = %user.id, %error, "reset link not sent: the database failed");
            }
        }
    }

    /// Sets a new password with a reset link's token. Revokes every session of the user
    /// and ends every reset link; returns the revoked session ids. The token stays usable
    /// when only the new password is refused (422), so the user can try another.
    pub async fn reset(&self, reset: &PasswordReset) -> Result<Vec<String>, Error> {
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
        self.store
            .reset_password(&token_hash, &user.id, &new_hash, now)
            .await?
            .ok_or_else(invalid)
    }

    /// Marks the email of a verification link's user verified.
    pub async fn verify_email(&self, token: &str) -> Result<(), Error> {
        if !is_token_shaped(token) {
            return Err(Error::new(ErrorCode::InvalidLink));
        }
        let now = self.clock.now_ms();
        match self.store.verify_email(&sha256_hex(token), now).await? {
            Some(_) => Ok(()),
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
            let link = self.new_link(user, TokenPurpose::VerifyEmail).await?;
            self.outbox.post(Letter {
                to: user.email.clone(),
                user_id: user.id.clone(),
                email: Email::VerifyEmail { link },
            });
        }
        Ok(slot)
    }

    /// Stores a new token for `user` and returns the link that carries it.
    async fn new_link(&self, user: &UserRow, purpose: TokenPurpose) -> sqlx::Result<String> {
        let token = random_token(32);
        let now = self.clock.now_ms();
        let (page, ttl) = match purpose {
            TokenPurpose::ResetPassword => (pages::RESET_PASSWORD, RESET_LINK_TTL_MS),
            TokenPurpose::VerifyEmail => (pages::VERIFY_EMAIL, VERIFY_LINK_TTL_MS),
        };
        self.store
            .insert_account_token(NewAccountToken {
                token_hash: &sha256_hex(&token),
                user_id: &user.id,
                purpose,
                now,
                expires_at: now + ttl,
            })
            .await?;
        Ok(format!(
            "{}{page}#{}={token}",
            self.public_url,
            pages::TOKEN_FRAGMENT
        ))
    }
}
