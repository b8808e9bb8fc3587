//! The second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step) with recovery codes,
//! and the second step of a sign-in.
//!
//! Set-up stores a new secret, sealed under a key derived from the signing secret and
//! bound to the user; a first code confirms it, turns it on, answers 10 recovery codes
//! (stored as hashes, each good once) and ends the user's other sessions. A code is
//! accepted once: the newest accepted step is kept, and a guarded `UPDATE` accepts only a
//! newer one.
//!
//! With TOTP on, a right password gets a ticket (a random value in an HttpOnly cookie,
//! hashed in the database, 5 minutes, at most 5 tries, each try counted before its code is
//! checked) instead of a session. Codes are counted by the sign-in throttle like passwords,
//! against the account or the browser's device, so guessing codes meets the same delays;
//! and a right password on such an account does not end the streak: only a right code does.

use std::sync::Arc;

use shared::{ErrorCode, MfaMethod, TotpSetup};
use totp_rs::{Algorithm, Builder, Totp};

use super::accounts::SignedIn;
use super::sessions::{recently_signed_in, require_recent_sign_in};
use super::throttle::{self, Outcome};
use crate::clock::Clock;
use crate::crypto::{Sealer, is_token_shaped, random_token, sha256_hex};
use crate::error::Error;
use crate::store::{FailureScope, NotEnabled, Store, TicketTry, TotpConfirmation, UserRow};

/// How long a sign-in waits for its second step (ms).
pub const TICKET_TTL_MS: i64 = 5 * 60 * 1000;
/// Codes a ticket may try.
pub const TICKET_MAX_TRIES: i64 = 5;
/// Recovery codes given at confirmation.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Bytes of a TOTP secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;

/// The second-factor flows (cheap to clone).
#[derive(Clone)]
pub struct Mfa {
    /// The database.
    pub store: Store,
    /// Seals TOTP secrets.
    pub sealer: Arc<Sealer>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// The name authenticator apps show beside the account (the site's host).
    pub issuer: String,
}

/// A sign-in waiting for its second step.
#[derive(Debug)]
pub struct Ticket {
    /// The value for the `mfa_ticket` cookie.
    pub token: String,
    /// How the user may complete it.
    pub methods: Vec<MfaMethod>,
}

impl Mfa {
    /// A new secret for the user's authenticator app; TOTP is not required until
    /// [`Mfa::confirm`]. Set-up again replaces a secret not yet confirmed. Like every
    /// change of how the account signs in, it needs a session that signed in recently.
    pub async fn setup(&self, user_id: &str, session_id: &str) -> Result<TotpSetup, Error> {
        let now = self.clock.now_ms();
        require_recent_sign_in(&self.store, recently_signed_in(user_id, session_id, now)).await?;
        let user = self.user(user_id).await?;
        if user.totp_enabled_at.is_some() {
            return Err(Error::new(ErrorCode::MfaAlreadyEnabled));
        }
        let mut secret = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut secret).expect("the operating system's random source failed");
        let sealed = self.sealer.seal(&secret, &user.id);
        if !self.store.set_pending_totp(&user.id, &sealed).await? {
            return Err(Error::new(ErrorCode::MfaAlreadyEnabled));
        }
        let totp = self.totp(secret, &user.email)?;
        let otpauth_uri = totp
            .to_url()
            .map_err(|error| Error::internal(anyhow::anyhow!("TOTP: {error}")))?;
        let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
            .map_err(Error::internal)?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build();
        Ok(TotpSetup {
            secret: totp.secret().to_base32(),
            otpauth_uri,
            qr_svg,
        })
    }

    /// Turns TOTP on with a first code from the app: returns the recovery codes (shown
    /// once) and the ids of the user's other sessions, which end. The confirming session
    /// must be live and have signed in recently, checked in the same transaction.
    pub async fn confirm(
        &self,
        user_id: &str,
        session_id: &str,
        code: &str,
    ) -> Result<(Vec<String>, Vec<String>), Error> {
        let user = self.user(user_id).await?;
        if user.totp_enabled_at.is_some() {
            return Err(Error::new(ErrorCode::MfaAlreadyEnabled));
        }
        let (Some(sealed), Some(step)) = (&user.totp_secret, self.totp_step(&user, code)?) else {
            return Err(Error::new(ErrorCode::InvalidCode));
        };
        let codes: Vec<String> = (0..RECOVERY_CODE_COUNT)
            .map(|_| new_recovery_code())
            .collect();
        let hashes: Vec<String> = codes.iter().map(|code| recovery_code_hash(code)).collect();
        let confirmation = TotpConfirmation {
            user_id: &user.id,
            sealed_secret: sealed,
            step,
            code_hashes: &hashes,
            acting: recently_signed_in(user_id, session_id, self.clock.now_ms()),
        };
        match self.store.enable_totp(confirmation).await? {
            Ok(ended) => Ok((codes, ended)),
            Err(NotEnabled::SecretChanged) => Err(Error::new(ErrorCode::InvalidCode)),
            Err(NotEnabled::SessionNotRecent) => {
                Err(Error::new(ErrorCode::ReauthenticationRequired))
            }
        }
    }

    /// Turns TOTP off, with a current code or a recovery code. The code is counted by the
    /// sign-in throttle like a sign-in's (against the account and the IP), so a stolen
    /// session cannot guess its way to turning the second factor off; and the session must
    /// have signed in recently.
    pub async fn disable(
        &self,
        user_id: &str,
        session_id: &str,
        code: &str,
        ip: &str,
    ) -> Result<(), Error> {
        let acting = || recently_signed_in(user_id, session_id, self.clock.now_ms());
        require_recent_sign_in(&self.store, acting()).await?;
        let user = self.user(user_id).await?;
        if user.totp_enabled_at.is_none() {
            return Err(Error::new(ErrorCode::InvalidCode));
        }
        let owner = (FailureScope::Account, user.email.as_str());
        let attempt = self.counted_code(&user, owner, code, ip).await?;
        throttle::settle(&self.store, owner, &attempt, Outcome::NotCounted).await?;
        if self.store.disable_totp(acting()).await? {
            Ok(())
        } else {
            Err(Error::new(ErrorCode::ReauthenticationRequired))
        }
    }

    /// A ticket for a sign-in whose password was right on an account with TOTP on. It is
    /// good only while that password is the account's and TOTP stays on since.
    pub async fn start_ticket(
        &self,
        user: &UserRow,
        device_id: Option<&str>,
    ) -> Result<Ticket, Error> {
        let token = random_token(32);
        let now = self.clock.now_ms();
        let ticket = TicketTry {
            user_id: user.id.clone(),
            device_id: device_id.map(str::to_owned),
            password_fingerprint: Some(sha256_hex(&user.password_hash)),
            created_at: now,
        };
        self.store
            .insert_mfa_ticket(&sha256_hex(&token), &ticket, now + TICKET_TTL_MS)
            .await?;
        let mut methods = vec![MfaMethod::Totp, MfaMethod::RecoveryCode];
        if !self.store.passkeys_of(&user.id).await?.is_empty() {
            methods.push(MfaMethod::Passkey);
        }
        Ok(Ticket { token, methods })
    }

    /// The second step of a sign-in: counts the try against the ticket and the throttle
    /// before checking the code, and on a right code uses the ticket up and returns who
    /// signed in.
    pub async fn verify(&self, ticket: &str, code: &str, ip: &str) -> Result<SignedIn, Error> {
        let invalid_ticket = || Error::new(ErrorCode::MfaTicketInvalid);
        if !is_token_shaped(ticket) {
            return Err(invalid_ticket());
        }
        let ticket_hash = sha256_hex(ticket);
        let now = self.clock.now_ms();
        let Some(claimed) = self
            .store
            .claim_mfa_try(&ticket_hash, TICKET_MAX_TRIES, now)
            .await?
        else {
            return Err(invalid_ticket());
        };
        // The password that earned the ticket must still be the account's (the session is
        // then created only while it is), and TOTP on since before the ticket: a password
        // change or reset, turning TOTP off or an operator's `mfa-reset` ends the ticket.
        let user = match self.store.user_by_id(&claimed.user_id).await? {
            Some(user)
                if user
                    .totp_enabled_at
                    .is_some_and(|enabled| enabled <= claimed.created_at)
                    && claimed.password_fingerprint.as_deref()
                        == Some(sha256_hex(&user.password_hash).as_str()) =>
            {
                user
            }
            _ => return Err(invalid_ticket()),
        };
        if user.disabled_at.is_some() {
            return Err(Error::new(ErrorCode::AccountDisabled));
        }
        let owner = match &claimed.device_id {
            Some(device) => (FailureScope::Device, device.as_str()),
            None => (FailureScope::Account, user.email.as_str()),
        };
        let attempt = self.counted_code(&user, owner, code, ip).await?;
        if !self
            .store
            .use_mfa_ticket(&ticket_hash, self.clock.now_ms())
            .await?
        {
            throttle::settle(&self.store, owner, &attempt, Outcome::NotCounted).await?;
            return Err(invalid_ticket());
        }
        throttle::settle(&self.store, owner, &attempt, Outcome::Succeeded).await?;
        Ok(SignedIn {
            user,
            device_id: claimed.device_id,
        })
    }

    /// Checks a code as a sign-in checks a password: counted against `owner` and the IP
    /// first (429 when they must wait), then checked. Returns the attempt, to settle, when
    /// the code was accepted; a wrong code stays counted.
    async fn counted_code(
        &self,
        user: &UserRow,
        owner: (FailureScope, &str),
        code: &str,
        ip: &str,
    ) -> Result<String, Error> {
        let attempt = uuid::Uuid::new_v4().to_string();
        throttle::admit(&self.store, owner, ip, &attempt, self.clock.now_ms()).await?;
        match self.accept_code(user, code).await {
            Ok(true) => Ok(attempt),
            Ok(false) => Err(Error::new(ErrorCode::InvalidCode)),
            Err(error) => {
                let _ = throttle::settle(&self.store, owner, &attempt, Outcome::NotCounted).await;
                Err(error)
            }
        }
    }

    /// Accepts a TOTP code (once per step) or an unused recovery code of the user.
    async fn accept_code(&self, user: &UserRow, code: &str) -> Result<bool, Error> {
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            return match self.totp_step(user, &digits)? {
                Some(step) => Ok(self.store.accept_totp_step(&user.id, step).await?),
                None => Ok(false),
            };
        }
        let hash = recovery_code_hash(code);
        let now = self.clock.now_ms();
        Ok(self.store.use_recovery_code(&user.id, &hash, now).await?)
    }

    /// The step of the user's TOTP that `code` belongs to (now, or one step either side).
    fn totp_step(&self, user: &UserRow, code: &str) -> Result<Option<i64>, Error> {
        let Some(sealed) = &user.totp_secret else {
            return Ok(None);
        };
        let Some(secret) = self.sealer.open(sealed, &user.id) else {
            return Err(Error::internal(anyhow::anyhow!(
                "a TOTP secret does not open with this signing secret"
            )));
        };
        let totp = self.totp(secret, &user.email)?;
        let now = u64::try_from(self.clock.now_secs()).unwrap_or_default();
        Ok(totp
            .check(code.trim(), now)
            .and_then(|step| i64::try_from(step).ok()))
    }

    fn totp(&self, secret: Vec<u8>, account: &str) -> Result<Totp, Error> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(secret)
            .with_issuer(Some(self.issuer.as_str()))
            .with_account_name(account)
            .build()
            .map_err(|error| Error::internal(anyhow::anyhow!("TOTP: {error}")))
    }

    async fn user(&self, user_id: &str) -> Result<UserRow, Error> {
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::SessionRevoked))
    }
}

/// A new recovery code: 80 random bits as 20 hex digits in groups of five.
fn new_recovery_code() -> String {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let hex = crate::crypto::hex(bytes);
    hex.as_bytes()
        .chunks(5)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored hash of a recovery code as typed: case, spaces and dashes do not matter.
pub fn recovery_code_hash(code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    sha256_hex(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_long_random_and_forgiving_to_type() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 23, "{code}");
        assert_eq!(code.matches('-').count(), 3);
        assert_ne!(code, new_recovery_code());
        let typed = format!(" {} ", code.to_uppercase().replace('-', " "));
        assert_eq!(recovery_code_hash(&typed), recovery_code_hash(&code));
    }
}
