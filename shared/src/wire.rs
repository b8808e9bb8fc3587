//! Unit enums by their names on the wire (their serde names), for a client that reads
//! JSON without serde: the SPA, where serde's derived decoders and their error messages
//! would be download weight.

use crate::{ErrorCode, MfaMethod, Role};

/// A unit enum whose values travel as fixed names.
pub trait WireName: Copy + 'static {
    /// Every value.
    const ALL: &'static [Self];

    /// Its name on the wire.
    fn wire_name(self) -> &'static str;

    /// The value with this name on the wire.
    fn from_wire_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.wire_name() == name)
    }
}

impl WireName for ErrorCode {
    const ALL: &'static [Self] = &[
        Self::InvalidBody,
        Self::InvalidEmail,
        Self::WeakPassword,
        Self::PasswordTooLong,
        Self::EmailTaken,
        Self::InvalidCredentials,
        Self::AccountDisabled,
        Self::EmailNotVerified,
        Self::InvalidLink,
        Self::InvalidCode,
        Self::MfaAlreadyEnabled,
        Self::MfaTicketInvalid,
        Self::InvalidPasskey,
        Self::ReauthenticationRequired,
        Self::TooManyAttempts,
        Self::InvalidRefreshToken,
        Self::MissingToken,
        Self::TokenExpired,
        Self::InvalidToken,
        Self::SessionRevoked,
        Self::NotFound,
        Self::Forbidden,
        Self::CsrfRejected,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::MethodNotAllowed,
        Self::ServerBusy,
        Self::NotReady,
        Self::DatabaseUnavailable,
        Self::Timeout,
        Self::InternalError,
    ];

    fn wire_name(self) -> &'static str {
        self.as_str()
    }
}

impl WireName for Role {
    const ALL: &'static [Self] = &[Self::User, Self::Admin];

    fn wire_name(self) -> &'static str {
        self.as_str()
    }
}

impl WireName for MfaMethod {
    const ALL: &'static [Self] = &[Self::Totp, Self::RecoveryCode, Self::Passkey];

    fn wire_name(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::Passkey => "passkey",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::*;

    /// `ALL` holds every value, in declaration order, each named as serde names it.
    fn names_are_the_serde_names<T>()
    where
        T: WireName + Serialize + DeserializeOwned + PartialEq + Debug,
    {
        // Meeting an unknown name, serde lists every variant's name, each in backticks.
        let error = serde_json::from_str::<T>("\"?\"").unwrap_err().to_string();
        let serde_names: Vec<&str> = error.split('`').skip(1).step_by(2).skip(1).collect();
        let names: Vec<&str> = T::ALL.iter().map(|value| value.wire_name()).collect();
        assert_eq!(names, serde_names, "{error}");
        for &value in T::ALL {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(json, format!("\"{}\"", value.wire_name()));
            assert_eq!(T::from_wire_name(value.wire_name()), Some(value));
        }
        assert_eq!(T::from_wire_name("?"), None);
    }

    #[test]
    fn every_error_code_is_named_as_serde_names_it() {
        names_are_the_serde_names::<ErrorCode>();
    }

    #[test]
    fn every_role_is_named_as_serde_names_it() {
        names_are_the_serde_names::<Role>();
    }

    #[test]
    fn every_second_step_method_is_named_as_serde_names_it() {
        names_are_the_serde_names::<MfaMethod>();
    }
}
