//! The hosted sign-in page of `/oauth2/authorize` (TK-6): plain HTML forms,
//! no script at all, served under a strict CSP (no third-party anything, the
//! one style sheet pinned by its hash, forms posting only here and to the
//! client's redirect origin). Every value shown is escaped. Each view is one
//! form with labels, so it works from the keyboard alone; errors are
//! announced (`role="alert"`) and name what to do.

use std::sync::LazyLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_types::ChallengeMethod;
use sha2::{Digest, Sha256};

const STYLE: &str = include_str!("sign_in.css");

static STYLE_HASH: LazyLock<String> =
    LazyLock::new(|| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(STYLE))));

/// The CSP of every page: `form-action` also allows the client's redirect
/// origin, since a form's answer redirects there and browsers hold
/// redirects after a form to it.
pub fn content_security_policy(redirect_origin: Option<&str>) -> String {
    let mut form_action = "'self'".to_owned();
    if let Some(origin) = redirect_origin {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    format!(
        "default-src 'none'; style-src {}; img-src 'none'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'",
        *STYLE_HASH
    )
}

/// `scheme://host[:port]` of a redirect URI, if it has a plain one.
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let is_plain = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    is_plain.then(|| format!("{scheme}://{authority}"))
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// How codes reach the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Phone,
    Email,
}

/// One screen of the sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    Password {
        email: String,
    },
    CodeStart {
        channel: Channel,
        address: String,
    },
    CodeVerify {
        channel: Channel,
        challenge: String,
        sent_to: String,
    },
    SecondFactor {
        challenge: String,
        methods: Vec<ChallengeMethod>,
        sent_to: Option<String>,
    },
    Directory {
        login: String,
    },
    Consent {
        person: String,
        scopes: Vec<String>,
    },
    /// Nothing can go on: why, and what to do.
    Problem,
}

/// What every view of one request shares.
pub struct Frame<'a> {
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub has_directory: bool,
    pub error: Option<&'a str>,
}

/// The whole page for `view`.
pub fn render(frame: &Frame<'_>, view: &View) -> String {
    let (title, body) = match view {
        View::Password { email } => ("Sign in", password(frame, email)),
        View::CodeStart { channel, address } => {
            ("Sign in with a code", code_start(frame, *channel, address))
        }
        View::CodeVerify {
            channel,
            challenge,
            sent_to,
        } => (
            "Enter your code",
            code_verify(frame, *channel, challenge, sent_to),
        ),
        View::SecondFactor {
            challenge,
            methods,
            sent_to,
        } => (
            "Confirm it is you",
            second_factor(frame, challenge, methods, sent_to.as_deref()),
        ),
        View::Directory { login } => ("Sign in with your organisation", directory(frame, login)),
        View::Consent { person, scopes } => ("Allow access?", consent(frame, person, scopes)),
        View::Problem => ("Sign-in stopped", String::new()),
    };
    let client = escape(frame.client_name);
    let subtitle = if frame.client_name.is_empty() {
        String::new()
    } else {
        format!("<p class=\"sub\">to continue to <strong>{client}</strong></p>")
    };
    let error = frame.error.map_or_else(String::new, |e| {
        format!(
            "<div class=\"error\" role=\"alert\" id=\"error\">{}</div>",
            escape(e)
        )
    });
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title} · Gatehouse</title><style>{STYLE}</style></head>\
         <body><main class=\"card\" aria-labelledby=\"title\">\
         <p class=\"brand\">Gatehouse</p><h1 id=\"title\">{title}</h1>{subtitle}{error}{body}\
         </main></body></html>"
    )
}

fn open_form(frame: &Frame<'_>, step: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/oauth2/authorize\">\
         <input type=\"hidden\" name=\"request\" value=\"{}\">\
         <input type=\"hidden\" name=\"step\" value=\"{step}\">",
        escape(frame.request_id)
    )
}

/// The other ways in, and the way out.
fn alternatives(frame: &Frame<'_>, except: &str) -> String {
    let mut out = format!(
        "<form method=\"post\" action=\"/oauth2/authorize\" class=\"alternatives\">\
         <input type=\"hidden\" name=\"request\" value=\"{}\">\
         <p class=\"divider\">Or sign in another way</p>",
        escape(frame.request_id)
    );
    let ways = [
        ("choose_password", "Email and password"),
        ("choose_phone", "Text me a code"),
        ("choose_email", "Email me a code"),
        ("choose_directory", "Organisation account"),
    ];
    for (step, label) in ways {
        if step == except || (step == "choose_directory" && !frame.has_directory) {
            continue;
        }
        out.push_str(&format!(
            "<button type=\"submit\" name=\"step\" value=\"{step}\" class=\"secondary\">{label}</button>"
        ));
    }
    out.push_str(&cancel_button(frame));
    out.push_str("</form>");
    out
}

fn cancel_button(frame: &Frame<'_>) -> String {
    format!(
        "<button type=\"submit\" name=\"step\" value=\"cancel\" class=\"link\">Cancel and return to {}</button>",
        escape(frame.client_name)
    )
}

fn password(frame: &Frame<'_>, email: &str) -> String {
    let focus_password = !email.is_empty();
    format!(
        "{}<label for=\"email\">Email address</label>\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required \
         maxlength=\"254\" value=\"{}\"{}>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" \
         required maxlength=\"1024\"{}>\
         <button type=\"submit\" class=\"primary\">Sign in</button></form>{}",
        open_form(frame, "password"),
        escape(email),
        if focus_password { "" } else { " autofocus" },
        if focus_password { " autofocus" } else { "" },
        alternatives(frame, "choose_password"),
    )
}

fn code_start(frame: &Frame<'_>, channel: Channel, address: &str) -> String {
    let (field, label, kind, autocomplete, hint, except) = match channel {
        Channel::Phone => (
            "phone",
            "Mobile number",
            "tel",
            "tel",
            "With the country code, for example +44 7700 900123.",
            "choose_phone",
        ),
        Channel::Email => (
            "email",
            "Email address",
            "email",
            "username",
            "We will email you a code of 8 digits.",
            "choose_email",
        ),
    };
    format!(
        "{}<input type=\"hidden\" name=\"channel\" value=\"{field}\">\
         <label for=\"address\">{label}</label>\
         <input id=\"address\" name=\"address\" type=\"{kind}\" autocomplete=\"{autocomplete}\" \
         required maxlength=\"254\" aria-describedby=\"address-hint\" value=\"{}\" autofocus>\
         <p class=\"hint\" id=\"address-hint\">{hint}</p>\
         <button type=\"submit\" class=\"primary\">Send code</button></form>{}",
        open_form(frame, "otp_start"),
        escape(address),
        alternatives(frame, except),
    )
}

fn code_input(label: &str) -> String {
    format!(
        "<label for=\"code\">{label}</label>\
         <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         required maxlength=\"64\" autofocus>"
    )
}

fn code_verify(frame: &Frame<'_>, channel: Channel, challenge: &str, sent_to: &str) -> String {
    let (by, name) = match channel {
        Channel::Phone => ("text message", "phone"),
        Channel::Email => ("email", "email"),
    };
    format!(
        "{}<input type=\"hidden\" name=\"challenge\" value=\"{}\">\
         <input type=\"hidden\" name=\"channel\" value=\"{name}\">\
         <input type=\"hidden\" name=\"sent_to\" value=\"{}\">\
         <p class=\"hint\">We sent a code by {by} to <strong>{}</strong>. It works for 5 minutes.</p>\
         {}<button type=\"submit\" class=\"primary\">Continue</button></form>{}",
        open_form(frame, "otp_verify"),
        escape(challenge),
        escape(sent_to),
        escape(sent_to),
        code_input("Code"),
        alternatives(frame, ""),
    )
}

fn method_label(method: ChallengeMethod) -> &'static str {
    match method {
        ChallengeMethod::Totp => "Authenticator app",
        ChallengeMethod::RecoveryCode => "Recovery code",
        ChallengeMethod::Sms => "Code by text message",
        ChallengeMethod::Email => "Code by email",
    }
}

fn second_factor(
    frame: &Frame<'_>,
    challenge: &str,
    methods: &[ChallengeMethod],
    sent_to: Option<&str>,
) -> String {
    let mut choices = String::from("<fieldset><legend>Confirm with</legend>");
    for (i, method) in methods.iter().enumerate() {
        let id = format!("method-{}", method.as_str());
        choices.push_str(&format!(
            "<div class=\"choice\"><input type=\"radio\" id=\"{id}\" name=\"method\" value=\"{}\"{}>\
             <label for=\"{id}\">{}</label></div>",
            method.as_str(),
            if i == 0 { " checked" } else { "" },
            method_label(*method),
        ));
    }
    choices.push_str("</fieldset>");
    let sent = sent_to.map_or_else(String::new, |to| {
        format!(
            "<p class=\"hint\">We sent a code by text message to <strong>{}</strong>.</p>",
            escape(to)
        )
    });
    let listed: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
    let resend = if methods.contains(&ChallengeMethod::Sms) {
        format!(
            "{}<input type=\"hidden\" name=\"challenge\" value=\"{}\">\
             <input type=\"hidden\" name=\"method\" value=\"sms\">\
             <input type=\"hidden\" name=\"methods\" value=\"{}\">\
             <button type=\"submit\" class=\"secondary\">Text me a code</button></form>",
            open_form(frame, "mfa_send"),
            escape(challenge),
            listed.join(",")
        )
    } else {
        String::new()
    };
    let carried = format!(
        "<input type=\"hidden\" name=\"methods\" value=\"{}\">\
         <input type=\"hidden\" name=\"sent_to\" value=\"{}\">",
        listed.join(","),
        escape(sent_to.unwrap_or(""))
    );
    format!(
        "{}<input type=\"hidden\" name=\"challenge\" value=\"{}\">{carried}{sent}{choices}{}\
         <button type=\"submit\" class=\"primary\">Continue</button></form>{resend}\
         <form method=\"post\" action=\"/oauth2/authorize\" class=\"alternatives\">\
         <input type=\"hidden\" name=\"request\" value=\"{}\">{}</form>",
        open_form(frame, "mfa"),
        escape(challenge),
        code_input("Code"),
        escape(frame.request_id),
        cancel_button(frame),
    )
}

fn directory(frame: &Frame<'_>, login: &str) -> String {
    format!(
        "{}<label for=\"login\">Organisation sign-in name</label>\
         <input id=\"login\" name=\"login\" autocomplete=\"username\" required maxlength=\"256\" \
         value=\"{}\" autofocus>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" \
         required maxlength=\"1024\">\
         <button type=\"submit\" class=\"primary\">Sign in</button></form>{}",
        open_form(frame, "directory"),
        escape(login),
        alternatives(frame, "choose_directory"),
    )
}

/// What a scope lets the application do, in words.
fn scope_words(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are".into(),
        "profile" => "See your name and user type".into(),
        "email" => "See your email address".into(),
        "phone" => "See your phone number".into(),
        "offline_access" => "Stay signed in when you are not using it".into(),
        other => match other.split_once(':') {
            Some((area, "read")) => format!("Read {} for you", area.replace('_', " ")),
            Some((area, "write")) => format!("Change {} for you", area.replace('_', " ")),
            _ => format!("Use {other}"),
        },
    }
}

fn consent(frame: &Frame<'_>, person: &str, scopes: &[String]) -> String {
    let items: String = scopes
        .iter()
        .map(|s| {
            format!(
                "<li>{} <code>{}</code></li>",
                escape(&scope_words(s)),
                escape(s)
            )
        })
        .collect();
    format!(
        "<p>You are signed in as <strong>{}</strong>. <strong>{}</strong> asks to:</p>\
         <ul class=\"scopes\">{items}</ul>{}\
         <button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></form>",
        escape(person),
        escape(frame.client_name),
        open_form(frame, "consent"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // proves: TK-6 (the hosted page escapes every value it shows)
    #[test]
    fn every_value_shown_is_escaped() {
        let frame = Frame {
            client_name: "<script>alert(1)</script>",
            request_id: "\"><img src=x>",
            has_directory: true,
            error: Some("<b>bad</b>"),
        };
        let page = render(
            &frame,
            &View::Password {
                email: "a\"onfocus=\"x".into(),
            },
        );
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>bad"));
        assert!(!page.contains("a\"onfocus"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("role=\"alert\""));
    }

    #[test]
    fn the_policy_pins_the_style_and_allows_only_the_clients_origin() {
        let csp = content_security_policy(Some("http://127.0.0.1:4711"));
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(csp.contains("form-action 'self' http://127.0.0.1:4711;"));
        assert_eq!(
            origin_of("http://127.0.0.1:4711/cb?x=1").as_deref(),
            Some("http://127.0.0.1:4711")
        );
        assert_eq!(
            origin_of("https://app.example").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(origin_of("https://a b/").as_deref(), None);
        assert_eq!(origin_of("https://a;script-src *").as_deref(), None);
        assert_eq!(origin_of("javascript:alert(1)"), None);
    }
}
