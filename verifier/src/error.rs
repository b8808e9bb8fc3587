//! Why a token was refused, and why a verifier could not be built.

/// Why [`crate::Verifier::verify`] refused a token. Every variant refuses: a verifier that
/// cannot check a token never accepts it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No key set to check against: the JWKS was never fetched, or its cache time ended
    /// and fetching it again failed. Fail closed: the token may be fine, but it cannot be
    /// known, so it is refused (an HTTP service answers 503, not 401).
    #[error("cannot verify access tokens: the JWKS at {url} is unavailable: {reason}")]
    JwksUnavailable {
        /// The JWKS URL.
        url: String,
        /// What went wrong with the last fetch.
        reason: String,
    },
    /// The token names a key (`kid`) that the JWKS does not publish, even after fetching
    /// it again (or a fetch was made too recently to make another).
    #[error("the token's key {kid:?} is not in the JWKS")]
    UnknownKey {
        /// The `kid` the token names.
        kid: String,
    },
    /// Signed by a known key and otherwise valid, but past its `exp` (no leeway).
    #[error("the token has expired")]
    Expired,
    /// Anything else: malformed, forged, wrong algorithm, bad claims.
    #[error("the token is invalid: {0}")]
    Invalid(#[from] Invalid),
}

/// What is wrong with an invalid token (for logs; HTTP answers say only `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Longer than [`crate::MAX_TOKEN_BYTES`]; not read at all.
    #[error("it is longer than the 4096 bytes an access token may have")]
    TooLong,
    /// Not three base64url parts with a JSON header of a known algorithm.
    #[error("it is not a JWT with a readable header")]
    Malformed,
    /// The header has no `kid`, so no key can be chosen for it.
    #[error("its header has no kid")]
    MissingKid,
    /// The header offers a key or a place to fetch one (`jku`, `x5u`, `jwk`, `x5c`):
    /// trusting it would let the token choose its own verifier.
    #[error("its header offers a key of its own (jku, x5u, jwk or x5c), which is never used")]
    KeyInHeader,
    /// The header lists critical extensions (`crit`), none of which this verifier knows.
    #[error("its header lists critical extensions (crit) that are not understood")]
    CriticalHeader,
    /// The header's `alg` is not the one algorithm its key is for (algorithm confusion).
    #[error("its alg is not the algorithm its key is for")]
    WrongAlgorithm,
    /// The signature does not verify with the key its `kid` names.
    #[error("its signature does not verify")]
    BadSignature,
    /// `iss` is not the expected issuer.
    #[error("its issuer is not the expected one")]
    WrongIssuer,
    /// `aud` is not the expected audience.
    #[error("its audience is not this service's")]
    WrongAudience,
    /// A claim is missing, empty or of the wrong JSON type.
    #[error("a claim is missing, empty or of the wrong type")]
    Claims,
    /// `nbf` or `iat` is later than now plus the leeway.
    #[error("it is not valid yet (nbf or iat in the future)")]
    NotYetValid,
}

/// Why a [`crate::Verifier`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The JWKS URL does not parse, or is not `http(s)`.
    #[error("the JWKS URL {url:?} is not an http(s) URL: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain `http` to a host that is not loopback: anyone on the path could swap the keys.
    #[error(
        "the JWKS URL {0} is plain http to a host that is not loopback; use https, or allow \
         plain http explicitly for a private network"
    )]
    InsecureUrl(String),
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}
