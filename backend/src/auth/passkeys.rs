//! Passkeys (WebAuthn, with `webauthn-rs`): a signed-in user adds several and removes
//! them; anyone signs in with one, with no email and no password, and that sign-in counts
//! as a second factor.
//!
//! The relying party is `PUBLIC_URL`: its host is the RP id and its origin the only one
//! accepted (browsers refuse IP addresses as RP ids, so with an IP in `PUBLIC_URL` passkeys
//! are off). Each ceremony's state is stored under its challenge, which the browser's
//! answer carries back in `clientDataJSON`, so start and finish may reach different
//! instances; finishing takes the state with one `DELETE … RETURNING`, so a ceremony is
//! finished at most once. Credentials are discoverable (resident key required), so sign-in
//! needs no email; the user handle they carry is a random UUID per user, and a credential
//! only signs in the user who owns it.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::Value;
use shared::ErrorCode;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::sessions::{recently_signed_in, require_recent_sign_in};
use super::throttle;
use crate::clock::Clock;
use crate::error::Error;
use crate::store::{InsertError, NewPasskey, PasskeyRow, PasskeyUse, Store, UserRow};

/// How long a ceremony may take (ms): WebAuthn's own default time-out.
pub const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;
/// The longest name a passkey may have (characters).
pub const MAX_NAME_CHARS: usize = 64;

const REGISTER: &str = "register";
const LOGIN: &str = "login";

/// The passkey flows (cheap to clone).
#[derive(Clone)]
pub struct Passkeys {
    /// The database.
    pub store: Store,
    /// The relying party, or `None` when `PUBLIC_URL` names no domain.
    pub webauthn: Option<Arc<Webauthn>>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
}

/// The relying party for `public_url` (an origin), or `None` (with the reason) when its
/// host is an IP address.
pub fn relying_party(public_url: &str) -> anyhow::Result<Option<Webauthn>> {
    let url = Url::parse(public_url)?;
    let Some(url::Host::Domain(rp_id)) = url.host() else {
        return Ok(None);
    };
    let rp_id = rp_id.to_owned();
    Ok(Some(
        WebauthnBuilder::new(&rp_id, &url)?
            .rp_name(&rp_id)
            .build()?,
    ))
}

impl Passkeys {
    fn webauthn(&self) -> Result<&Webauthn, Error> {
        self.webauthn
            .as_deref()
            .ok_or_else(|| Error::new(ErrorCode::NotFound))
    }

    /// Creation options for a new passkey of the user (its existing ones excluded). Like
    /// every change of how the account signs in, it needs a session that signed in
    /// recently.
    pub async fn register_start(&self, user: &UserRow, session_id: &str) -> Result<Value, Error> {
        let webauthn = self.webauthn()?;
        let now = self.clock.now_ms();
        require_recent_sign_in(&self.store, recently_signed_in(&user.id, session_id, now)).await?;
        let handle = self
            .store
            .webauthn_user_id(&user.id, &Uuid::new_v4().to_string())
            .await?;
        let handle = Uuid::parse_str(&handle).map_err(Error::internal)?;
        let existing = self
            .store
            .passkeys_of(&user.id)
            .await?
            .iter()
            .filter_map(|row| serde_json::from_str::<Passkey>(&row.credential).ok())
            .map(|passkey| passkey.cred_id().clone())
            .collect();
        let (mut options, state) = webauthn
            .start_passkey_registration(handle, &user.email, &user.email, Some(existing))
            .map_err(Error::internal)?;
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        let challenge = URL_SAFE_NO_PAD.encode(&options.public_key.challenge);
        let state = serde_json::to_string(&state).map_err(Error::internal)?;
        let expires_at = self.clock.now_ms() + CEREMONY_TTL_MS;
        self.store
            .insert_ceremony(&challenge, REGISTER, Some(&user.id), &state, expires_at)
            .await?;
        serde_json::to_value(options).map_err(Error::internal)
    }

    /// Verifies and stores the browser's new credential, while the session is live and
    /// recent. Returns it, and the sessions it ended (the user's other sessions, when it is
    /// their first passkey).
    pub async fn register_finish(
        &self,
        user_id: &str,
        keep_session: &str,
        credential: &Value,
        name: &str,
    ) -> Result<(PasskeyRow, Vec<String>), Error> {
        let invalid = || Error::new(ErrorCode::InvalidPasskey);
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::new(ErrorCode::InvalidBody));
        }
        let webauthn = self.webauthn()?;
        let challenge = challenge_of(credential).ok_or_else(invalid)?;
        let now = self.clock.now_ms();
        let state = self
            .store
            .take_ceremony(&challenge, REGISTER, Some(user_id), now)
            .await?
            .ok_or_else(invalid)?;
        let state: PasskeyRegistration = serde_json::from_str(&state).map_err(Error::internal)?;
        let response: RegisterPublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(|_| invalid())?;
        let passkey = webauthn
            .finish_passkey_registration(&response, &state)
            .map_err(|_| invalid())?;
        let stored = serde_json::to_string(&passkey).map_err(Error::internal)?;
        let new = NewPasskey {
            user_id,
            credential_id: &URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            name,
            credential: &stored,
            now,
        };
        let acting = recently_signed_in(user_id, keep_session, now);
        match self.store.insert_passkey(new, acting).await {
            Ok(Some(inserted)) => Ok(inserted),
            Ok(None) => Err(Error::new(ErrorCode::ReauthenticationRequired)),
            Err(InsertError::Conflict) => Err(invalid()),
            Err(InsertError::Db(error)) => Err(error.into()),
        }
    }

    /// Removes one of the user's passkeys, while the session is live and recent; false when
    /// the user has no such passkey.
    pub async fn remove(&self, user_id: &str, session_id: &str, id: &str) -> Result<bool, Error> {
        let acting = recently_signed_in(user_id, session_id, self.clock.now_ms());
        self.store
            .delete_passkey(acting, id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::ReauthenticationRequired))
    }

    /// Request options for signing in with any passkey of this site; counted against the
    /// client's IP until the sign-in completes (429 after 100 open or failed ones in 15
    /// minutes).
    pub async fn login_start(&self, ip: &str) -> Result<Value, Error> {
        let webauthn = self.webauthn()?;
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(Error::internal)?;
        let challenge = URL_SAFE_NO_PAD.encode(&options.public_key.challenge);
        throttle::admit_passkey_start(&self.store, ip, &challenge, self.clock.now_ms()).await?;
        let state = serde_json::to_string(&state).map_err(Error::internal)?;
        let expires_at = self.clock.now_ms() + CEREMONY_TTL_MS;
        self.store
            .insert_ceremony(&challenge, LOGIN, None, &state, expires_at)
            .await?;
        serde_json::to_value(options).map_err(Error::internal)
    }

    /// Verifies the browser's assertion; returns the user it signs in and the passkey's
    /// use, which the session's start records (`Proof::Passkey`), taking back the count of
    /// the ceremony's start: it refuses the sign-in (the start still counted) if the
    /// passkey is gone by then, or another sign-in used its counter value. Every
    /// failure is `invalid_credentials`, as for a wrong password; it counts as a failed
    /// attempt (for the audit log) only once one of our ceremonies was used up, which
    /// login start limits per IP, and names the account once the credential is known.
    pub async fn login_finish(&self, credential: &Value) -> Result<(UserRow, PasskeyUse), Refused> {
        let invalid = || Error::new(ErrorCode::InvalidCredentials);
        let webauthn = self.webauthn()?;
        let challenge = challenge_of(credential).ok_or_else(invalid)?;
        let now = self.clock.now_ms();
        let state = self
            .store
            .take_ceremony(&challenge, LOGIN, None, now)
            .await?
            .ok_or_else(invalid)?;
        let mut user_id = None;
        self.finish_login(credential, webauthn, &challenge, state, &mut user_id)
            .await
            .map_err(|error| Refused {
                error,
                attempt: Some(user_id),
            })
    }

    async fn finish_login(
        &self,
        credential: &Value,
        webauthn: &Webauthn,
        challenge: &str,
        state: String,
        user_id: &mut Option<String>,
    ) -> Result<(UserRow, PasskeyUse), Error> {
        let invalid = || Error::new(ErrorCode::InvalidCredentials);
        let state: DiscoverableAuthentication =
            serde_json::from_str(&state).map_err(Error::internal)?;
        let response: PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(|_| invalid())?;
        let (handle, credential_id) = webauthn
            .identify_discoverable_authentication(&response)
            .map_err(|_| invalid())?;
        let row = self
            .store
            .passkey_by_credential(&URL_SAFE_NO_PAD.encode(credential_id))
            .await?
            .ok_or_else(invalid)?;
        *user_id = Some(row.user_id.clone());
        // The credential must be the one the user handle's owner registered.
        let owner = self
            .store
            .user_id_by_webauthn_handle(&handle.to_string())
            .await?;
        if owner.as_deref() != Some(row.user_id.as_str()) {
            return Err(invalid());
        }
        let mut passkey: Passkey =
            serde_json::from_str(&row.credential).map_err(Error::internal)?;
        let result = webauthn
            .finish_discoverable_authentication_v2(&response, state, &passkey)
            .map_err(|_| invalid())?;
        let updated = passkey
            .update_credential(&result)
            .unwrap_or(false)
            .then(|| serde_json::to_string(&passkey))
            .transpose()
            .map_err(Error::internal)?;
        let user = self
            .store
            .user_by_id(&row.user_id)
            .await?
            .ok_or_else(invalid)?;
        if user.disabled_at.is_some() {
            // Proven, so not held against the IP, as a right password on a disabled
            // account is not.
            self.store.settle_attempt(challenge, None).await?;
            return Err(Error::new(ErrorCode::AccountDisabled));
        }
        let used = PasskeyUse {
            id: row.id,
            user_id: row.user_id,
            counter: result.counter(),
            credential: updated,
            ceremony: challenge.to_owned(),
        };
        Ok((user, used))
    }
}

/// A refused passkey sign-in.
#[derive(Debug)]
pub struct Refused {
    /// What to answer.
    pub error: Error,
    /// `Some` when one of our ceremonies was used up (a real attempt), with the account of
    /// the credential when it was one of ours.
    pub attempt: Option<Option<String>>,
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Self {
            error,
            attempt: None,
        }
    }
}

impl From<sqlx::Error> for Refused {
    fn from(error: sqlx::Error) -> Self {
        Error::from(error).into()
    }
}

/// The challenge in a credential's `clientDataJSON`, in canonical base64url.
pub fn challenge_of(credential: &Value) -> Option<String> {
    let encoded = credential["response"]["clientDataJSON"].as_str()?;
    let decode = |text: &str| {
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .or_else(|_| URL_SAFE.decode(text))
            .ok()
    };
    let client_data: Value = serde_json::from_slice(&decode(encoded)?).ok()?;
    let challenge = decode(client_data["challenge"].as_str()?)?;
    Some(URL_SAFE_NO_PAD.encode(challenge))
}
