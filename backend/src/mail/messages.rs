//! The emails we send: plain text and simple HTML, in English, holding the link and
//! nothing else secret.

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};

/// What an email is for, with the link it carries.
#[derive(Clone, PartialEq, Eq)]
pub enum Email {
    /// A link to set a new password.
    ResetPassword {
        /// `{PUBLIC_URL}/reset-password#token=…`
        link: String,
    },
    /// A link to prove the address is the user's.
    VerifyEmail {
        /// `{PUBLIC_URL}/verify-email#token=…`
        link: String,
    },
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// One email to one user.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The recipient's address.
    pub to: String,
    /// The user it is for (for the log).
    pub user_id: String,
    /// What it says.
    pub email: Email,
    /// How long its link works: a letter not sent by then is not sent at all.
    pub valid_for: std::time::Duration,
}

impl Email {
    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ResetPassword { .. } => "reset_password",
            Self::VerifyEmail { .. } => "verify_email",
        }
    }

    fn subject(&self) -> &'static str {
        match self {
            Self::ResetPassword { .. } => "Reset your password",
            Self::VerifyEmail { .. } => "Verify your email",
        }
    }

    /// The paragraphs before the link, the link's label, and the paragraph after it.
    fn wording(&self) -> (&'static str, &'static str, &'static str, &str) {
        match self {
            Self::ResetPassword { link } => (
                "Someone asked to reset the password of your account. To choose a new \
                 password, open this link within 30 minutes:",
                "Choose a new password",
                "If it was not you, ignore this email: your password stays as it is. \
                 Setting a new password signs you out everywhere.",
                link,
            ),
            Self::VerifyEmail { link } => (
                "Please confirm that this is your email address by opening this link \
                 within 24 hours:",
                "Verify my email",
                "If you did not create an account, ignore this email.",
                link,
            ),
        }
    }

    /// The plain-text body.
    pub fn text(&self) -> String {
        let (before, _, after, link) = self.wording();
        format!("Hello,\n\n{before}\n\n{link}\n\n{after}\n")
    }

    /// The HTML body.
    pub fn html(&self) -> String {
        let (before, label, after, link) = self.wording();
        let link = escape_html(link);
        format!(
            "<!doctype html><html><body style=\"font-family: sans-serif\">\
             <p>Hello,</p><p>{before}</p>\
             <p><a href=\"{link}\">{label}</a></p>\
             <p style=\"color: #555\">{after}</p></body></html>"
        )
    }

    /// The whole message.
    pub fn message(&self, from: &Mailbox, to: Mailbox) -> Result<Message, lettre::error::Error> {
        Message::builder()
            .from(from.clone())
            .to(to)
            .subject(self.subject())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(self.text()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(self.html()),
                    ),
            )
    }
}

/// `text` safe inside HTML text and double-quoted attributes.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bodies_carry_the_link_and_the_html_escapes_it() {
        let email = Email::ResetPassword {
            link: "http://x/reset-password#token=a\"<b>&c".into(),
        };
        assert!(
            email
                .text()
                .contains("http://x/reset-password#token=a\"<b>&c")
        );
        assert!(
            email
                .html()
                .contains("href=\"http://x/reset-password#token=a&quot;&lt;b&gt;&amp;c\"")
        );
    }

    #[test]
    fn the_debug_form_never_shows_the_link() {
        let email = Email::VerifyEmail {
            link: "http://x/verify-email#token=secret".into(),
        };
        assert_eq!(format!("{email:?}"), "verify_email");
        let letter = Letter {
            to: "a@example.com".into(),
            user_id: "u".into(),
            email,
            valid_for: std::time::Duration::from_secs(60),
        };
        assert!(!format!("{letter:?}").contains("secret"));
    }
}
