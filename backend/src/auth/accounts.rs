//! Registration and password login.

use shared::validation::{PasswordProblem, canonical_email, check_password, normalize_password};
use shared::{Credentials, ErrorCode, PasswordChange, Role};

use std::sync::Arc;

use super::device::{Account, DeviceCookies};
use super::password::{self, PasswordHasher};
use super::throttle::{self, Outcome};
use crate::clock::Clock;
use crate::crypto::sha256_hex;
use crate::error::Error;
use crate::store::{FailureScope, InsertError, NewUser, Store, UserRow};

/// Validates and normalises a new account's email and password.
/// Returns the canonical email and the normalised password.
pub fn validate_new_account(email: &str, password: &str) -> Result<(String, String), ErrorCode> {
    let email = canonical_email(email).map_err(|problem| problem.code())?;
    let password = normalize_password(password);
    check_password(&password, &email).map_err(|problem| problem.code())?;
    if password::is_common(&password) {
        return Err(PasswordProblem::Common.code());
    }
    Ok((email, password))
}

/// Creates an account: validates the email and password, hashes the password, stores the
/// user. Registration and the CLI's `user create` both come here.
pub async fn create_account(
    store: &Store,
    hasher: &PasswordHasher,
    credentials: &Credentials,
    role: Role,
    now: i64,
) -> Result<UserRow, Error> {
    let (email, password) =
        validate_new_account(&credentials.email, &credentials.password).map_err(Error::new)?;
    let password_hash = hasher.hash(password).await?;
    let user = NewUser {
        email: &email,
        password_hash: &password_hash,
        role,
        now,
    };
    match store.insert_user(user).await {
        Ok(user) => Ok(user),
        Err(InsertError::Conflict) => Err(Error::new(ErrorCode::EmailTaken)),
        Err(InsertError::Db(error)) => Err(error.into()),
    }
}

/// A password sign-in that succeeded.
#[derive(Debug)]
pub struct SignedIn {
    /// Who signed in.
    pub user: UserRow,
    /// The device id of the browser's valid device cookie for this account, if it had one.
    pub device_id: Option<String>,
}

/// The password sign-in flows, over what they use (cheap to clone).
#[derive(Clone)]
pub struct Accounts {
    /// The database.
    pub store: Store,
    /// The bounded argon2id pool.
    pub hasher: PasswordHasher,
    /// Makes and checks device cookies.
    pub devices: Arc<DeviceCookies>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
}

impl Accounts {
    /// Creates an account with role `user` (registration).
    pub async fn register(&self, credentials: Credentials) -> Result<UserRow, Error> {
        let now = self.clock.now_ms();
        create_account(&self.store, &self.hasher, &credentials, Role::User, now).await
    }

    /// Checks a password login, counting the attempt and enforcing the throttle.
    ///
    /// An unknown email costs the same work and gets the same answer as a wrong password,
    /// and is counted too, so neither timing nor throttling reveals which emails have
    /// accounts. A disabled account is only reported once the password is proven.
    pub async fn login(
        &self,
        credentials: Credentials,
        ip: &str,
        device_cookie: Option<&str>,
    ) -> Result<SignedIn, Error> {
        let account = throttle_subject(&credentials.email);
        let user = self.store.user_by_email(&account).await?;
        let attempt = PasswordAttempt {
            account: &account,
            password: &credentials.password,
            ip,
            device_cookie,
        };
        self.check_password(user, attempt).await
    }

    /// Replaces the signed-in user's password, after checking the current one exactly as a
    /// sign-in would (counted, throttled, device cookies honoured), and revokes every other
    /// session of the user in the same transaction; `session_id` (the caller's) must still
    /// be live. Returns the user as now stored and the ids of the sessions it revoked.
    pub async fn change_password(
        &self,
        session: (&str, &str),
        change: &PasswordChange,
        ip: &str,
        device_cookie: Option<&str>,
    ) -> Result<(SignedIn, Vec<String>), Error> {
        let (user_id, session_id) = session;
        let Some(user) = self.store.user_by_id(user_id).await? else {
            return Err(Error::new(ErrorCode::InvalidCredentials));
        };
        // The new password is judged first: that reveals nothing and counts nothing.
        let (_, new_password) =
            validate_new_account(&user.email, &change.new_password).map_err(Error::new)?;
        let account = user.email.clone();
        let attempt = PasswordAttempt {
            account: &account,
            password: &change.current_password,
            ip,
            device_cookie,
        };
        let SignedIn { user, device_id } = self.check_password(Some(user), attempt).await?;
        let new_hash = self.hasher.hash(new_password).await?;
        let now = self.clock.now_ms();
        let Some(ended) = self
            .store
            .change_password(&user.id, &user.password_hash, &new_hash, session_id, now)
            .await?
        else {
            // Meanwhile the password changed, the account was disabled, or this session
            // ended: nothing is changed.
            return Err(Error::new(ErrorCode::SessionRevoked));
        };
        let user = UserRow {
            password_hash: new_hash,
            ..user
        };
        Ok((SignedIn { user, device_id }, ended))
    }

    /// Counts an attempt with `password` against the account (or against the browser's
    /// device, when it presents a valid device cookie for it) *before* checking it, then
    /// checks it against `user`'s hash, or the dummy hash when there is no such user.
    /// Returns the user, and the device id of a valid device cookie, once the password is
    /// proven.
    async fn check_password(
        &self,
        user: Option<UserRow>,
        attempt: PasswordAttempt<'_>,
    ) -> Result<SignedIn, Error> {
        let now = self.clock.now_ms();
        let device_id = user
            .as_ref()
            .zip(attempt.device_cookie)
            .and_then(|(user, cookie)| {
                self.devices
                    .device_for(cookie, device_account(user), now.div_euclid(1000))
            });
        let owner = match &device_id {
            Some(device) => (FailureScope::Device, device.as_str()),
            None => (FailureScope::Account, attempt.account),
        };
        let id = uuid::Uuid::new_v4().to_string();
        throttle::admit(&self.store, owner, attempt.ip, &id, now).await?;

        let password = normalize_password(attempt.password);
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        let verified = match self.hasher.verify(password, stored_hash).await {
            Ok(verified) => verified,
            Err(error) => {
                // Not checked, so not held against anyone; if this fails too, it stays counted.
                let _ = throttle::settle(&self.store, owner, &id, Outcome::NotCounted).await;
                return Err(error);
            }
        };
        let Some(user) = user.filter(|_| verified) else {
            return Err(Error::new(ErrorCode::InvalidCredentials));
        };
        if user.disabled_at.is_some() {
            throttle::settle(&self.store, owner, &id, Outcome::NotCounted).await?;
            return Err(Error::new(ErrorCode::AccountDisabled));
        }
        // With a second factor, only a right code ends the streak (`auth::mfa`): a right
        // password alone must not give a code guesser a fresh start.
        let outcome = if user.totp_enabled_at.is_some() {
            Outcome::NotCounted
        } else {
            Outcome::Succeeded
        };
        throttle::settle(&self.store, owner, &id, outcome).await?;
        Ok(SignedIn { user, device_id })
    }
}

/// One password presented for an account, and where from.
#[derive(Clone, Copy)]
struct PasswordAttempt<'a> {
    /// What the attempt is counted against: the canonical email (or a digest of input that
    /// is no email).
    account: &'a str,
    /// The password as typed.
    password: &'a str,
    /// The client's address.
    ip: &'a str,
    /// The browser's device cookie, if any.
    device_cookie: Option<&'a str>,
}

/// The account a device cookie names.
pub fn device_account(user: &UserRow) -> Account<'_> {
    Account {
        id: &user.id,
        password_hash: &user.password_hash,
    }
}

/// What failures of a login attempt are counted against: the canonical email, or for
/// input that is no email at all, a fixed-size digest of it.
pub fn throttle_subject(email: &str) -> String {
    canonical_email(email)
        .unwrap_or_else(|_| format!("invalid:{}", sha256_hex(email.trim().to_lowercase())))
}
