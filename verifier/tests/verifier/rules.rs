//! The token rules, with tokens the tests sign themselves: the backend's own rules, to the
//! second.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_verifier::{Invalid, VerifyError};
use serde_json::json;

use crate::support::{Fixture, claims, hs256, part};

#[tokio::test]
async fn a_token_signed_by_a_published_key_verifies_and_gives_its_claims() {
    let s = Fixture::start().await;
    let claims = s.verify_claims(&claims(s.clock.now_secs())).await.unwrap();
    assert_eq!(claims.sub, "user-1");
    assert_eq!(claims.sid, "session-1");
    assert_eq!(claims.role, shared::Role::User);
    assert_eq!(s.jwks.fetches(), 1);
}

#[tokio::test]
async fn every_claim_is_required_with_its_json_type() {
    let s = Fixture::start().await;
    let valid = claims(s.clock.now_secs());
    for name in [
        "sub", "sid", "role", "iat", "nbf", "exp", "iss", "aud", "jti",
    ] {
        let mut missing = valid.clone();
        missing.as_object_mut().unwrap().remove(name);
        let refused = s.verify_claims(&missing).await;
        assert_eq!(refused, Err(Invalid::Claims.into()), "without {name}");
    }
    let wrong_types = [
        ("exp", json!(valid["exp"].to_string())),
        ("nbf", json!(null)),
        ("iat", json!(1.5)),
        ("sub", json!(42)),
        ("role", json!("superuser")),
        ("aud", json!([valid["aud"]])),
        ("sub", json!("")),
        ("sid", json!("")),
    ];
    for (name, value) in wrong_types {
        let mut wrong = valid.clone();
        wrong[name] = value.clone();
        let refused = s.verify_claims(&wrong).await;
        assert_eq!(refused, Err(Invalid::Claims.into()), "{name}: {value}");
    }
}

#[tokio::test]
async fn the_issuer_and_the_audience_must_be_the_expected_ones() {
    let s = Fixture::start().await;
    let valid = claims(s.clock.now_secs());
    for (name, wrong, error) in [
        ("iss", "someone-else", Invalid::WrongIssuer),
        ("aud", "another-app", Invalid::WrongAudience),
    ] {
        let mut claims = valid.clone();
        claims[name] = json!(wrong);
        assert_eq!(s.verify_claims(&claims).await, Err(error.into()), "{name}");
    }
}

#[tokio::test]
async fn exp_has_no_leeway_while_nbf_and_iat_have_thirty_seconds() {
    let s = Fixture::start().await;
    let now = s.clock.now_secs();
    let mut claims = claims(now);
    claims["exp"] = json!(now + 10);
    let token = s.key.sign(&claims);

    s.clock.set_ms((now + 10) * 1000 - 1);
    assert!(
        s.verifier.verify(&token).await.is_ok(),
        "a millisecond before exp"
    );
    s.clock.set_ms((now + 10) * 1000);
    assert_eq!(s.verifier.verify(&token).await, Err(VerifyError::Expired));

    s.clock.set_ms(now * 1000);
    for name in ["nbf", "iat"] {
        let mut ahead = crate::support::claims(now);
        ahead[name] = json!(now + 30);
        assert!(s.verify_claims(&ahead).await.is_ok(), "{name} 30 s ahead");
        ahead[name] = json!(now + 31);
        let refused = s.verify_claims(&ahead).await;
        assert_eq!(
            refused,
            Err(Invalid::NotYetValid.into()),
            "{name} 31 s ahead"
        );
    }
}

#[tokio::test]
async fn headers_that_offer_a_key_or_name_none_are_refused_before_any_fetch() {
    let s = Fixture::start().await;
    let claims = claims(s.clock.now_secs());
    let kid = json!(s.key.kid);
    let url = json!(s.jwks.url());
    let cases = [
        (
            json!({"alg": "EdDSA", "kid": kid, "jku": url}),
            Invalid::KeyInHeader,
        ),
        (
            json!({"alg": "EdDSA", "kid": kid, "x5u": url}),
            Invalid::KeyInHeader,
        ),
        (
            json!({"alg": "EdDSA", "kid": kid, "x5c": ["MIIB"]}),
            Invalid::KeyInHeader,
        ),
        (
            json!({"alg": "EdDSA", "kid": kid, "jwk": s.key.jwk()}),
            Invalid::KeyInHeader,
        ),
        (
            json!({"alg": "EdDSA", "kid": kid, "crit": ["exp"]}),
            Invalid::CriticalHeader,
        ),
        (json!({"alg": "EdDSA"}), Invalid::MissingKid),
        (json!({"alg": "EdDSA", "kid": ""}), Invalid::MissingKid),
        (json!({"alg": "none", "kid": kid}), Invalid::Malformed),
    ];
    for (header, error) in cases {
        let token = s.key.sign_with_header(&header, &claims);
        assert_eq!(
            s.verifier.verify(&token).await,
            Err(error.into()),
            "{header}"
        );
    }
    assert_eq!(s.jwks.fetches(), 0, "nothing a token says makes a fetch");
}

#[tokio::test]
async fn algorithm_confusion_and_unsigned_tokens_are_refused() {
    let s = Fixture::start().await;
    let claims = claims(s.clock.now_secs());
    let x = s.key.jwk()["x"].as_str().unwrap().to_owned();
    let raw = URL_SAFE_NO_PAD.decode(&x).unwrap();
    for secret in [raw.as_slice(), x.as_bytes()] {
        let confused = hs256(&json!(s.key.kid), &claims, secret);
        let refused = s.verifier.verify(&confused).await;
        assert_eq!(refused, Err(Invalid::WrongAlgorithm.into()));
    }
    let none = format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT", "kid": s.key.kid})),
        part(&claims)
    );
    assert_eq!(
        s.verifier.verify(&none).await,
        Err(Invalid::Malformed.into())
    );
    let unsigned = s.key.sign(&claims).rsplit_once('.').unwrap().0.to_owned() + ".";
    let refused = s.verifier.verify(&unsigned).await;
    assert!(
        matches!(refused, Err(VerifyError::Invalid(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_tampered_token_or_one_over_4096_bytes_is_refused() {
    let s = Fixture::start().await;
    let token = s.token();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut admin = claims(s.clock.now_secs());
    admin["role"] = json!("admin");
    let (header, _) = input.split_once('.').unwrap();
    let promoted = format!("{header}.{}.{signature}", part(&admin));
    let flipped = format!(
        "{input}.{}{}",
        if signature.starts_with('A') { "B" } else { "A" },
        &signature[1..]
    );
    for forged in [promoted, flipped] {
        let refused = s.verifier.verify(&forged).await;
        assert_eq!(refused, Err(Invalid::BadSignature.into()));
    }

    let mut padded = claims(s.clock.now_secs());
    padded["pad"] = json!("x".repeat(3000));
    let long = s.key.sign(&padded);
    assert!(long.len() > 4096);
    assert_eq!(s.verifier.verify(&long).await, Err(Invalid::TooLong.into()));
    for garbage in ["", "a.b", "not a jwt", "..", "a.b.c.d"] {
        let refused = s.verifier.verify(garbage).await;
        assert_eq!(refused, Err(Invalid::Malformed.into()), "{garbage:?}");
    }
    // The control: the genuine token verifies.
    assert!(s.verifier.verify(&token).await.is_ok());
}
