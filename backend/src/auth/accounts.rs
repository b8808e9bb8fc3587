//! Registration and password login.

use sha2::{Digest, Sha256};
use shared::validation::{PasswordProblem, canonical_email, check_password, normalize_password};
use shared::{Credentials, ErrorCode, Role};

use super::{password, throttle};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{FailureScope, InsertError, NewUser, UserRow};

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

/// Creates an account with role `user`.
pub async fn register(state: &AppState, credentials: Credentials) -> Result<UserRow, ApiError> {
    let (email, password) =
        validate_new_account(&credentials.email, &credentials.password).map_err(ApiError::new)?;
    let password_hash = state.hasher.hash(password).await?;
    let user = NewUser {
        email: &email,
        password_hash: &password_hash,
        role: Role::User.as_str(),
        now: state.clock.now(),
    };
    match state.store.insert_user(user).await {
        Ok(user) => Ok(user),
        Err(InsertError::Conflict) => Err(ApiError::new(ErrorCode::EmailTaken)),
        Err(InsertError::Db(error)) => Err(error.into()),
    }
}

/// Checks a password login, counting failures and enforcing the throttle.
///
/// An unknown email costs the same work and gets the same answer as a wrong password, and
/// its failures are counted too, so neither timing nor throttling reveals which emails
/// have accounts. A disabled account is only reported once the password is proven.
pub async fn login(
    state: &AppState,
    credentials: Credentials,
    ip: &str,
) -> Result<UserRow, ApiError> {
    let now = state.clock.now();
    let account = throttle_subject(&credentials.email);
    throttle::check(&state.store, &account, ip, now).await?;

    let user = state.store.user_by_email(&account).await?;
    let password = normalize_password(&credentials.password);
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state.hasher.verify(password, stored_hash).await?;
    let Some(user) = user.filter(|_| verified) else {
        state.store.record_failure(&account, ip, now).await?;
        return Err(ApiError::new(ErrorCode::InvalidCredentials));
    };
    if user.disabled_at.is_some() {
        return Err(ApiError::new(ErrorCode::AccountDisabled));
    }
    state
        .store
        .clear_failures(FailureScope::Account, &account)
        .await?;
    Ok(user)
}

/// What failures of a login attempt are counted against: the canonical email, or for
/// input that is no email at all, a fixed-size digest of it.
fn throttle_subject(email: &str) -> String {
    canonical_email(email).unwrap_or_else(|_| {
        let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("invalid:{hex}")
    })
}
