//! A software WebAuthn authenticator and client, for API tests without a browser.
//!
//! `webauthn-authenticator-rs` cannot stand in: its software tokens make no discoverable
//! (resident) credentials and send no user handle, which passkey sign-in needs.
//!
//! It consumes the JSON the server sends (`{"publicKey": {...}}`, base64url binary fields,
//! the shape `PublicKeyCredential.parse*OptionsFromJSON` accepts) and returns the JSON a
//! browser's `credential.toJSON()` would POST back. ES256 (P-256) only, "none" attestation,
//! every credential is discoverable (resident), so discoverable login returns `userHandle`.
use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ciborium::Value as Cbor;
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const FLAG_UP: u8 = 0x01; // user present
const FLAG_UV: u8 = 0x04; // user verified
const FLAG_BE: u8 = 0x08; // backup eligible
const FLAG_BS: u8 = 0x10; // backup state
const FLAG_AT: u8 = 0x40; // attested credential data included

#[derive(Clone)]
pub struct StoredCredential {
    pub id: Vec<u8>,
    pub rp_id: String,
    pub user_handle: Vec<u8>,
    pub user_name: String,
    key: SigningKey,
    pub counter: u32,
}

#[derive(Clone)]
pub struct SoftAuthenticator {
    /// What the "browser" puts in clientDataJSON.origin, e.g. "http://localhost:3000".
    pub origin: String,
    /// Set the UV flag (a PIN/biometric was checked). Turn off to test UV enforcement.
    pub user_verified: bool,
    /// Behave like a synced passkey (BE|BS flags, counter stays 0) instead of a hardware key.
    pub synced: bool,
    pub credentials: Vec<StoredCredential>,
}

fn b64d(v: &Value, what: &str) -> Result<Vec<u8>> {
    let s = v
        .as_str()
        .with_context(|| format!("{what}: not a string"))?;
    B64.decode(s)
        .with_context(|| format!("{what}: bad base64url"))
}

/// Accept either `{"publicKey": {...}}` (webauthn-rs' CreationChallengeResponse /
/// RequestChallengeResponse) or the bare options object.
fn public_key(options: &Value) -> &Value {
    options.get("publicKey").unwrap_or(options)
}

impl SoftAuthenticator {
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.trim_end_matches('/').to_owned(),
            user_verified: true,
            synced: false,
            credentials: vec![],
        }
    }

    fn client_data(&self, ty: &str, challenge: &str) -> Vec<u8> {
        // Key order is irrelevant: the server parses this JSON and hashes the exact bytes sent.
        serde_json::to_vec(&json!({"type": ty, "challenge": challenge, "origin": self.origin, "crossOrigin": false}))
            .expect("json")
    }

    fn flags(&self) -> u8 {
        let mut f = FLAG_UP;
        if self.user_verified {
            f |= FLAG_UV;
        }
        if self.synced {
            f |= FLAG_BE | FLAG_BS;
        }
        f
    }

    /// navigator.credentials.create(): returns RegistrationResponseJSON.
    pub fn create(&mut self, options: &Value) -> Result<Value> {
        let pk = public_key(options);
        let rp_id = pk["rp"]["id"].as_str().context("rp.id")?.to_owned();
        let host = self
            .origin
            .split("://")
            .nth(1)
            .and_then(|h| h.split(':').next())
            .unwrap_or("");
        ensure!(
            host == rp_id || host.ends_with(&format!(".{rp_id}")),
            "SecurityError: rp.id {rp_id} not valid for origin {}",
            self.origin
        );
        let challenge = pk["challenge"].as_str().context("challenge")?;
        let user_handle = b64d(&pk["user"]["id"], "user.id")?;
        ensure!(
            (1..=64).contains(&user_handle.len()),
            "user.id must be 1..=64 bytes"
        );
        let es256 = pk["pubKeyCredParams"]
            .as_array()
            .context("pubKeyCredParams")?
            .iter()
            .any(|p| p["alg"].as_i64() == Some(-7) && p["type"] == "public-key");
        ensure!(es256, "NotSupportedError: ES256 not offered");
        if pk["authenticatorSelection"]["userVerification"] == "required" && !self.user_verified {
            bail!("NotAllowedError: user verification required");
        }
        for ex in pk["excludeCredentials"].as_array().into_iter().flatten() {
            let id = b64d(&ex["id"], "excludeCredentials.id")?;
            if self
                .credentials
                .iter()
                .any(|c| c.id == id && c.rp_id == rp_id)
            {
                bail!("InvalidStateError: authenticator already registered (excludeCredentials)");
            }
        }

        let key = loop {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow!("rng: {e}"))?;
            if let Ok(k) = SigningKey::from_slice(&seed) {
                break k;
            }
        };
        let mut id = vec![0u8; 32];
        getrandom::fill(&mut id).map_err(|e| anyhow!("rng: {e}"))?;

        let point = key.verifying_key().to_encoded_point(false);
        let cose_key = Cbor::Map(vec![
            (Cbor::from(1), Cbor::from(2)),  // kty: EC2
            (Cbor::from(3), Cbor::from(-7)), // alg: ES256
            (Cbor::from(-1), Cbor::from(1)), // crv: P-256
            (
                Cbor::from(-2),
                Cbor::Bytes(point.x().context("x")?.to_vec()),
            ),
            (
                Cbor::from(-3),
                Cbor::Bytes(point.y().context("y")?.to_vec()),
            ),
        ]);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags() | FLAG_AT);
        auth_data.extend_from_slice(&0u32.to_be_bytes()); // signCount
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID (none)
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        ciborium::into_writer(&cose_key, &mut auth_data)?;

        let att_obj = Cbor::Map(vec![
            (Cbor::from("fmt"), Cbor::from("none")),
            (Cbor::from("attStmt"), Cbor::Map(vec![])),
            (Cbor::from("authData"), Cbor::Bytes(auth_data.clone())),
        ]);
        let mut att_bytes = Vec::new();
        ciborium::into_writer(&att_obj, &mut att_bytes)?;
        let client_data = self.client_data("webauthn.create", challenge);

        self.credentials.push(StoredCredential {
            id: id.clone(),
            rp_id,
            user_handle,
            user_name: pk["user"]["name"].as_str().unwrap_or_default().to_owned(),
            key,
            counter: 0,
        });
        let id = B64.encode(&id);
        Ok(json!({
            "id": id, "rawId": id, "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "attestationObject": B64.encode(&att_bytes),
                "authenticatorData": B64.encode(&auth_data),
                "transports": ["internal"],
                "publicKeyAlgorithm": -7,
            },
            "clientExtensionResults": {"credProps": {"rk": true}},
        }))
    }

    /// navigator.credentials.get(): returns AuthenticationResponseJSON. With an empty
    /// allowCredentials (discoverable login) it uses `pick` (a credential id) or else the
    /// most recently created credential for the RP, like a user choosing in the account picker.
    pub fn get(&mut self, options: &Value, pick: Option<&[u8]>) -> Result<Value> {
        let pk = public_key(options);
        let rp_id = pk["rpId"].as_str().context("rpId")?.to_owned();
        let challenge = pk["challenge"].as_str().context("challenge")?;
        if pk["userVerification"] == "required" && !self.user_verified {
            bail!("NotAllowedError: user verification required");
        }
        let allow: Vec<Vec<u8>> = pk["allowCredentials"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| b64d(&c["id"], "allowCredentials.id"))
            .collect::<Result<_>>()?;
        let flags = self.flags();
        let client_data = self.client_data("webauthn.get", challenge);
        let cred = self
            .credentials
            .iter_mut()
            .rev()
            .filter(|c| c.rp_id == rp_id)
            .filter(|c| allow.is_empty() || allow.contains(&c.id))
            .find(|c| pick.is_none_or(|p| p == c.id.as_slice()))
            .context("NotAllowedError: no matching credential")?;
        // Hardware-style signCount; synced passkeys send 0 every time.
        if !self.synced {
            cred.counter += 1;
        }

        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(flags);
        auth_data.extend_from_slice(&cred.counter.to_be_bytes());
        let mut msg = auth_data.clone();
        msg.extend_from_slice(&Sha256::digest(&client_data));
        let sig: Signature = cred.key.sign(&msg); // ECDSA P-256 over SHA-256(msg)
        let id = B64.encode(&cred.id);
        Ok(json!({
            "id": id, "rawId": id, "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "authenticatorData": B64.encode(&auth_data),
                "signature": B64.encode(sig.to_der().as_bytes()),
                "userHandle": B64.encode(&cred.user_handle),
            },
            "clientExtensionResults": {},
        }))
    }
}
