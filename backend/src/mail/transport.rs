//! `MAIL_URL`: parsing it, and the transport it names.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Where mail goes, as `MAIL_URL` says.
#[derive(Clone)]
pub enum MailUrl {
    /// An SMTP server.
    Smtp {
        /// Host name (also the name its TLS certificate must have).
        host: String,
        /// Port: by default 587 with STARTTLS, 465 with TLS.
        port: u16,
        /// How the connection is secured.
        security: Security,
        /// `user` and `password` from the URL, if any.
        credentials: Option<(String, SecretString)>,
    },
    /// A folder where each message is written as an `.eml` file.
    Folder(PathBuf),
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    Tls,
    /// `smtp://`: STARTTLS, required (the default).
    StartTls,
    /// `smtp://…?tls=opportunistic`: STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp://…?tls=none`: plain text, for a relay on the same host or network.
    None,
}

impl MailUrl {
    /// Parses `smtp://[user:pass@]host[:port][?tls=required|opportunistic|none]`,
    /// `smtps://[user:pass@]host[:port]` or `file://DIR` (a relative or absolute path).
    /// Errors never repeat the password.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        if let Some(dir) = value.strip_prefix("file://") {
            if dir.is_empty() {
                bail!("MAIL_URL file:// needs a folder, like file://data/outbox");
            }
            return Ok(Self::Folder(PathBuf::from(dir)));
        }
        let refused = || {
            anyhow::anyhow!(
                "MAIL_URL must look like smtp://user:pass@host:587, smtps://user:pass@host:465 or file://DIR"
            )
        };
        let url = url::Url::parse(value).map_err(|_| refused())?;
        let mut security = match url.scheme() {
            "smtp" => Security::StartTls,
            "smtps" => Security::Tls,
            _ => return Err(refused()),
        };
        for (key, value) in url.query_pairs() {
            security = match (key.as_ref(), value.as_ref(), security) {
                ("tls", "required", Security::StartTls) => Security::StartTls,
                ("tls", "opportunistic", Security::StartTls) => Security::Opportunistic,
                ("tls", "none", Security::StartTls) => Security::None,
                _ => bail!(
                    "MAIL_URL: unknown option {key:?}; smtp:// takes tls=required, tls=opportunistic or tls=none"
                ),
            };
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(refused)?;
        let port = url.port().unwrap_or(match security {
            Security::Tls => 465,
            _ => 587,
        });
        let credentials = if url.username().is_empty() {
            None
        } else if !matches!(security, Security::Tls | Security::StartTls) && !is_loopback(host) {
            bail!(
                "MAIL_URL: a user and password are only sent over TLS (smtps://, or smtp:// with STARTTLS required), except to this host"
            );
        } else {
            let decode = |part: &str| {
                percent_decode(part).context("MAIL_URL: the user or password is not valid UTF-8")
            };
            let user = decode(url.username())?;
            let password = decode(url.password().unwrap_or_default())?;
            Some((user, SecretString::from(password)))
        };
        Ok(Self::Smtp {
            host: host.trim_matches(['[', ']']).to_owned(),
            port,
            security,
            credentials,
        })
    }

    /// Where mail goes, without the password, for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp {
                host,
                port,
                security,
                credentials,
            } => {
                let user = credentials
                    .as_ref()
                    .map(|(user, _)| format!("{user}:***@"))
                    .unwrap_or_default();
                format!("smtp://{user}{host}:{port} ({security:?})")
            }
            Self::Folder(dir) => format!("file://{}", dir.display()),
        }
    }
}

/// Whether `host` names this machine (where a plain-text relay is safe to log in to).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(part: &str) -> anyhow::Result<String> {
    Ok(percent_encoding::percent_decode_str(part)
        .decode_utf8()?
        .into_owned())
}

/// The transport `MAIL_URL` names.
#[derive(Clone)]
pub enum MailTransport {
    /// An SMTP server, with a small connection pool.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in a folder.
    Folder(AsyncFileTransport<Tokio1Executor>),
}

impl MailTransport {
    /// Builds the transport (creating the folder of `file://`); connects to nothing yet.
    pub fn new(url: &MailUrl) -> anyhow::Result<Self> {
        match url {
            MailUrl::Folder(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the mail folder {}", dir.display()))?;
                Ok(Self::Folder(AsyncFileTransport::new(dir)))
            }
            MailUrl::Smtp {
                host,
                port,
                security,
                credentials,
            } => {
                let tls = || TlsParameters::new(host.clone()).context("MAIL_URL: TLS set-up");
                let tls = match security {
                    Security::Tls => Tls::Wrapper(tls()?),
                    Security::StartTls => Tls::Required(tls()?),
                    Security::Opportunistic => Tls::Opportunistic(tls()?),
                    Security::None => Tls::None,
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(*port)
                    .tls(tls)
                    .timeout(Some(SMTP_TIMEOUT));
                if let Some((user, password)) = credentials {
                    builder = builder.credentials(Credentials::new(
                        user.clone(),
                        password.expose_secret().to_owned(),
                    ));
                }
                Ok(Self::Smtp(builder.build()))
            }
        }
    }

    /// Sends one message.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(drop)
                .map_err(|error| SendError {
                    permanent: error.is_permanent(),
                    source: error.into(),
                }),
            Self::Folder(folder) => {
                folder
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|error| SendError {
                        permanent: false,
                        source: error.into(),
                    })
            }
        }
    }
}

/// Why a message was not sent.
#[derive(Debug)]
pub struct SendError {
    /// The server refused it for good (a 5xx answer, such as "no such user"): trying
    /// again would get the same answer.
    pub permanent: bool,
    /// What went wrong, for the log.
    pub source: anyhow::Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn security(url: &str) -> Security {
        match MailUrl::parse(url).unwrap() {
            MailUrl::Smtp { security, .. } => security,
            MailUrl::Folder(_) => panic!("not smtp"),
        }
    }

    #[test]
    fn smtp_requires_starttls_unless_told_otherwise() {
        assert_eq!(security("smtp://mail.example.com"), Security::StartTls);
        assert_eq!(
            security("smtp://mail.example.com?tls=required"),
            Security::StartTls
        );
        assert_eq!(
            security("smtp://mail.example.com?tls=opportunistic"),
            Security::Opportunistic
        );
        assert_eq!(security("smtp://127.0.0.1:2525?tls=none"), Security::None);
        assert_eq!(security("smtps://mail.example.com"), Security::Tls);
        assert!(MailUrl::parse("smtps://mail.example.com?tls=none").is_err());
        assert!(MailUrl::parse("smtp://mail.example.com?tls=maybe").is_err());
        assert!(MailUrl::parse("http://mail.example.com").is_err());
        assert!(MailUrl::parse("file://").is_err());
    }

    #[test]
    fn ports_default_by_security_and_credentials_are_decoded() {
        let MailUrl::Smtp {
            port, credentials, ..
        } = MailUrl::parse("smtp://app%40example.com:p%2Fa%3Ass+w@mail.example.com").unwrap()
        else {
            panic!("not smtp")
        };
        assert_eq!(port, 587);
        let (user, password) = credentials.unwrap();
        assert_eq!(user, "app@example.com");
        assert_eq!(password.expose_secret(), "p/a:ss+w");
        let MailUrl::Smtp { port, .. } = MailUrl::parse("smtps://mail.example.com").unwrap() else {
            panic!("not smtp")
        };
        assert_eq!(port, 465);
    }

    #[test]
    fn passwords_go_in_clear_text_only_to_this_host() {
        for url in [
            "smtp://app:pw@mail.example.com?tls=none",
            "smtp://app:pw@mail.example.com?tls=opportunistic",
        ] {
            let error = MailUrl::parse(url).err().expect(url).to_string();
            assert!(error.contains("only sent over TLS"), "{error}");
            assert!(!error.contains("pw@"), "{error}");
        }
        for url in [
            "smtp://app:pw@127.0.0.1:2525?tls=none",
            "smtp://app:pw@localhost?tls=opportunistic",
            "smtp://app:pw@[::1]:25?tls=none",
            "smtp://app:pw@mail.example.com",
            "smtps://app:pw@mail.example.com",
            "smtp://mail.example.com?tls=none",
        ] {
            assert!(MailUrl::parse(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn the_description_never_shows_the_password() {
        let url = MailUrl::parse("smtp://app:hunter2@mail.example.com:2525").unwrap();
        let text = url.describe();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("app:***@mail.example.com:2525"), "{text}");
        assert_eq!(
            MailUrl::parse("file://data/outbox").unwrap().describe(),
            "file://data/outbox"
        );
    }
}
