//! The entries a throwaway directory starts with, written as LDIF for `slapadd`.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

/// The directory's suffix.
pub const SUFFIX: &str = "dc=example,dc=test";
/// Where users live.
pub const PEOPLE_BASE: &str = "ou=people,dc=example,dc=test";
/// Where groups (`groupOfNames`) live.
pub const GROUPS_BASE: &str = "ou=groups,dc=example,dc=test";
/// The service account that searches (it may read everything but passwords).
pub const SERVICE_DN: &str = "cn=gatehouse,ou=services,dc=example,dc=test";
pub const SERVICE_PASSWORD: &str = "gatehouse service account secret";

/// The DN of the group named `cn`.
pub fn group_dn(cn: &str) -> String {
    format!("cn={cn},{GROUPS_BASE}")
}

/// The DN of the user `uid`.
pub fn user_dn(uid: &str) -> String {
    format!("uid={uid},{PEOPLE_BASE}")
}

/// The password every standard user has: distinct per user, so one user's password is
/// another's wrong one.
pub fn password_for(uid: &str) -> String {
    format!("{uid} correct horse battery staple")
}

/// What the password policy overlay says of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Active,
    /// Locked by an administrator (`pwdAccountLockedTime: 000001010000Z`).
    Locked,
    /// Reset by an administrator: the password must be changed (`pwdReset: TRUE`).
    MustChange,
    /// Last changed in 2000 under a policy whose passwords last a minute, no grace.
    Expired,
}

/// One `inetOrgPerson` under `PEOPLE_BASE`.
#[derive(Debug, Clone)]
pub struct SeedUser {
    pub uid: String,
    pub password: String,
    pub mail: Option<String>,
    pub mobile: Option<String>,
    pub display_name: Option<String>,
    /// `cn`s of the groups under `GROUPS_BASE` it is a `member` of.
    pub groups: Vec<String>,
    pub state: AccountState,
}

impl SeedUser {
    pub fn new(uid: &str, password: &str) -> Self {
        Self {
            uid: uid.to_owned(),
            password: password.to_owned(),
            mail: None,
            mobile: None,
            display_name: None,
            groups: Vec::new(),
            state: AccountState::Active,
        }
    }

    pub fn mail(mut self, mail: &str) -> Self {
        self.mail = Some(mail.to_owned());
        self
    }

    pub fn mobile(mut self, mobile: &str) -> Self {
        self.mobile = Some(mobile.to_owned());
        self
    }

    pub fn display_name(mut self, name: &str) -> Self {
        self.display_name = Some(name.to_owned());
        self
    }

    pub fn group(mut self, cn: &str) -> Self {
        self.groups.push(cn.to_owned());
        self
    }

    pub fn state(mut self, state: AccountState) -> Self {
        self.state = state;
        self
    }
}

/// The standard users, each with `password_for(uid)`:
/// - `alice`: clinicians and researchers; mail, mobile and display name
/// - `bob`: operators; mail only
/// - `carol`: no group
/// - `dave` (locked), `erin` (must change), `frank` (expired): clinicians
/// - `o*neil(x)`: clinicians; a login made of filter metacharacters
pub fn standard_users() -> Vec<SeedUser> {
    let user = |uid: &str| SeedUser::new(uid, &password_for(uid));
    vec![
        user("alice")
            .mail("alice@example.test")
            .mobile("+15550100001")
            .display_name("Alice Adams")
            .group("clinicians")
            .group("researchers"),
        user("bob").mail("bob@example.test").group("operators"),
        user("carol").mail("carol@example.test"),
        user("dave").group("clinicians").state(AccountState::Locked),
        user("erin")
            .group("clinicians")
            .state(AccountState::MustChange),
        user("frank")
            .group("clinicians")
            .state(AccountState::Expired),
        user("o*neil(x)").group("clinicians"),
    ]
}

/// The whole LDIF: the tree, the password policies, the service account, the users
/// (with their `{SSHA}` hashes from `hashes`, by uid) and their groups.
pub(crate) fn ldif(
    users: &[SeedUser],
    service_hash: &str,
    hashes: &BTreeMap<String, String>,
) -> Result<String> {
    let mut out = String::new();
    let mut entry = |dn: &str, attrs: &[(&str, &str)]| -> Result<()> {
        out.push_str(&line("dn", dn)?);
        for (name, value) in attrs {
            out.push_str(&line(name, value)?);
        }
        out.push('\n');
        Ok(())
    };
    entry(
        SUFFIX,
        &[
            ("objectClass", "dcObject"),
            ("objectClass", "organization"),
            ("dc", "example"),
            ("o", "example"),
        ],
    )?;
    for ou in ["people", "groups", "services", "policies"] {
        entry(
            &format!("ou={ou},{SUFFIX}"),
            &[("objectClass", "organizationalUnit"), ("ou", ou)],
        )?;
    }
    // `pwdMaxFailure: 0`: failed binds in tests never lock anyone by themselves.
    entry(
        &format!("cn=default,ou=policies,{SUFFIX}"),
        &[
            ("objectClass", "device"),
            ("objectClass", "pwdPolicy"),
            ("cn", "default"),
            ("pwdAttribute", "userPassword"),
            ("pwdLockout", "TRUE"),
            ("pwdMaxFailure", "0"),
            ("pwdMustChange", "TRUE"),
        ],
    )?;
    entry(
        &format!("cn=expiring,ou=policies,{SUFFIX}"),
        &[
            ("objectClass", "device"),
            ("objectClass", "pwdPolicy"),
            ("cn", "expiring"),
            ("pwdAttribute", "userPassword"),
            ("pwdMaxAge", "60"),
            ("pwdGraceAuthNLimit", "0"),
        ],
    )?;
    entry(
        SERVICE_DN,
        &[
            ("objectClass", "applicationProcess"),
            ("objectClass", "simpleSecurityObject"),
            ("cn", "gatehouse"),
            ("userPassword", service_hash),
        ],
    )?;

    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for user in users {
        let Some(hash) = hashes.get(&user.uid) else {
            bail!("no password hash for {}", user.uid);
        };
        let mut attrs: Vec<(&str, &str)> = vec![
            ("objectClass", "inetOrgPerson"),
            ("uid", &user.uid),
            ("cn", &user.uid),
            ("sn", &user.uid),
            ("userPassword", hash),
        ];
        for (name, value) in [
            ("mail", &user.mail),
            ("mobile", &user.mobile),
            ("displayName", &user.display_name),
        ] {
            if let Some(value) = value {
                attrs.push((name, value));
            }
        }
        let expiring = format!("cn=expiring,ou=policies,{SUFFIX}");
        match user.state {
            AccountState::Active => {}
            AccountState::Locked => attrs.push(("pwdAccountLockedTime", "000001010000Z")),
            AccountState::MustChange => attrs.push(("pwdReset", "TRUE")),
            AccountState::Expired => {
                attrs.push(("pwdPolicySubentry", &expiring));
                attrs.push(("pwdChangedTime", "20000101000000Z"));
            }
        }
        entry(&user_dn(&user.uid), &attrs)?;
        for cn in &user.groups {
            groups.entry(cn).or_default().push(user_dn(&user.uid));
        }
    }
    for (cn, members) in &groups {
        let mut attrs: Vec<(&str, &str)> = vec![("objectClass", "groupOfNames"), ("cn", cn)];
        attrs.extend(members.iter().map(|m| ("member", m.as_str())));
        entry(&group_dn(cn), &attrs)?;
    }
    Ok(out)
}

/// `name: value`, refusing what would need base64 (the seed never does).
fn line(name: &str, value: &str) -> Result<String> {
    let safe = value.is_ascii()
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ')
        && !value.contains(['\n', '\r', '\0']);
    if !safe {
        bail!("seed value for {name} needs base64, which the harness does not write: {value:?}");
    }
    Ok(format!("{name}: {value}\n"))
}
