//! Registration flows (ID-1, ID-2): how a person signs up as a user of a
//! given type: what they must prove, which attributes they supply, and
//! whether an administrator approves them before they can sign in.
//!
//! A flow is checked against its user type so that an administrator cannot
//! save one that produces users who can never sign in or never be completed.
//! The rules, all checked by [`RegistrationFlow::validate`]:
//!
//! 1. The flow is for this type, lists each proof once, and includes an email
//!    or a phone proof: every user must be reachable (codes, recovery).
//! 2. Its attributes are declared by the type, each listed once.
//! 3. A required attribute of the type that the flow does not ask for is an
//!    error, unless the flow requires approval: the administrator sets it then.
//! 4. A password proof needs the type to allow a password sign-in method.
//! 5. At least one of the type's sign-in methods must be usable with what the
//!    flow proves (a directory sign-in always is: the directory holds the
//!    credential).
//! 6. When the type requires a second factor, the flow enrols one: a TOTP or a
//!    phone proof.
//!
//! Proofs are made in one fixed order (email, phone, password, TOTP), so a
//! password is only set once the person has shown they own a contact point.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::user_type::{AttributeValue, SecondFactor, SignInMethod, UserType, UserTypeName};
use crate::IdentityError;

/// Something a person proves while signing up (the wire's enum), declared in
/// the order they are asked for.
pub use gatehouse_types::Proof;

const PROOF_ORDER: [Proof; 4] = [Proof::Email, Proof::Phone, Proof::Password, Proof::Totp];

/// One screen of a sign-up, in the order a person meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    EnterDetails,
    VerifyEmail,
    VerifyPhone,
    SetPassword,
    EnrolTotp,
    AwaitApproval,
    Done,
}

impl Step {
    fn of(proof: Proof) -> Step {
        match proof {
            Proof::Email => Step::VerifyEmail,
            Proof::Phone => Step::VerifyPhone,
            Proof::Password => Step::SetPassword,
            Proof::Totp => Step::EnrolTotp,
        }
    }
}

/// How people sign up as users of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationFlow {
    pub user_type: UserTypeName,
    /// Whether sign-up is allowed at all for this type.
    pub is_open: bool,
    pub proofs: Vec<Proof>,
    #[serde(default)]
    pub requires_approval: bool,
    /// Which of the type's declared attributes the person supplies.
    #[serde(default)]
    pub attributes: Vec<String>,
}

impl RegistrationFlow {
    /// Checks the flow against its type (the rules are in the module's doc).
    pub fn validate(&self, user_type: &UserType) -> Result<(), IdentityError> {
        if self.user_type != user_type.name {
            return Err(IdentityError::invalid(
                "user_type",
                "does not match the user type",
            ));
        }
        let proofs: BTreeSet<Proof> = self.proofs.iter().copied().collect();
        if proofs.len() != self.proofs.len() {
            return Err(IdentityError::invalid("proofs", "lists a proof twice"));
        }
        if !proofs.contains(&Proof::Email) && !proofs.contains(&Proof::Phone) {
            return Err(IdentityError::invalid(
                "proofs",
                "needs an email or a phone proof to reach the person by",
            ));
        }
        self.check_attributes(user_type)?;
        if proofs.contains(&Proof::Password) && !user_type.allows_password() {
            return Err(IdentityError::invalid(
                "proofs",
                "a password proof needs the user type to allow a password sign-in",
            ));
        }
        if !user_type.sign_in.iter().any(|m| is_usable(*m, &proofs)) {
            return Err(IdentityError::invalid(
                "proofs",
                "users from this flow could not use any sign-in method of their type",
            ));
        }
        if user_type.second_factor == SecondFactor::Required
            && !proofs.contains(&Proof::Totp)
            && !proofs.contains(&Proof::Phone)
        {
            return Err(IdentityError::invalid(
                "proofs",
                "the user type requires a second factor: add a totp or a phone proof",
            ));
        }
        Ok(())
    }

    fn check_attributes(&self, user_type: &UserType) -> Result<(), IdentityError> {
        let mut asked = BTreeSet::new();
        for name in &self.attributes {
            if !user_type.attributes.iter().any(|d| &d.name == name) {
                return Err(IdentityError::invalid(
                    "attributes",
                    "names an attribute the user type does not declare",
                ));
            }
            if !asked.insert(name.as_str()) {
                return Err(IdentityError::invalid(
                    format!("attributes.{name}"),
                    "is listed twice",
                ));
            }
        }
        if self.requires_approval {
            return Ok(());
        }
        match user_type
            .attributes
            .iter()
            .find(|d| d.is_required && !asked.contains(d.name.as_str()))
        {
            Some(missing) => Err(IdentityError::invalid(
                format!("attributes.{}", missing.name),
                "is required by the user type: ask for it, or require approval",
            )),
            None => Ok(()),
        }
    }

    /// Checks the attributes a person supplies at sign-up. Only those the flow
    /// asks for are taken: the others (a clearance, a department) feed access
    /// policies, so a person must never set them about themselves. The type's
    /// required ones among them must be present.
    pub fn check_sign_up_attributes(
        &self,
        user_type: &UserType,
        input: &Map<String, Value>,
    ) -> Result<BTreeMap<String, AttributeValue>, IdentityError> {
        if input.keys().any(|name| !self.attributes.contains(name)) {
            return Err(IdentityError::invalid(
                "attributes",
                "includes an attribute this sign-up does not ask for",
            ));
        }
        let checked = user_type.check_partial(input)?;
        if let Some(missing) = user_type.attributes.iter().find(|d| {
            d.is_required && self.attributes.contains(&d.name) && !checked.contains_key(&d.name)
        }) {
            return Err(IdentityError::invalid(
                format!("attributes.{}", missing.name),
                "is required",
            ));
        }
        Ok(checked)
    }

    /// The proofs this flow asks for, in the order they are made.
    fn ordered_proofs(&self) -> impl Iterator<Item = Proof> + '_ {
        PROOF_ORDER.into_iter().filter(|p| self.proofs.contains(p))
    }

    /// Every step a new user goes through, for the console's preview.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = vec![Step::EnterDetails];
        steps.extend(self.ordered_proofs().map(Step::of));
        if self.requires_approval {
            steps.push(Step::AwaitApproval);
        }
        steps.push(Step::Done);
        steps
    }
}

/// Whether a sign-in method works with what a sign-up proved.
fn is_usable(method: SignInMethod, proofs: &BTreeSet<Proof>) -> bool {
    match method {
        SignInMethod::Password => {
            proofs.contains(&Proof::Email) && proofs.contains(&Proof::Password)
        }
        SignInMethod::EmailCode => proofs.contains(&Proof::Email),
        SignInMethod::PhoneCode => proofs.contains(&Proof::Phone),
        SignInMethod::PasswordAndPhoneCode => {
            proofs.contains(&Proof::Password) && proofs.contains(&Proof::Phone)
        }
        SignInMethod::Directory => true,
    }
}

/// How far one person's sign-up has come, once their details are in (the
/// caller stores it with the pending sign-up).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpProgress {
    pub proven: BTreeSet<Proof>,
    /// Set when an administrator approves the sign-up (flows that require it).
    #[serde(default)]
    pub is_approved: bool,
}

impl SignUpProgress {
    /// What the person does next: the first proof not yet made, then the
    /// approval, then nothing.
    pub fn next_step(&self, flow: &RegistrationFlow) -> Step {
        if let Some(proof) = flow.ordered_proofs().find(|p| !self.proven.contains(p)) {
            return Step::of(proof);
        }
        if flow.requires_approval && !self.is_approved {
            return Step::AwaitApproval;
        }
        Step::Done
    }

    pub fn is_complete(&self, flow: &RegistrationFlow) -> bool {
        self.next_step(flow) == Step::Done
    }

    /// Records a proof the caller has checked. Only the next step's proof is
    /// taken: steps cannot be skipped or reordered, and a proof the flow does
    /// not ask for is refused.
    pub fn prove(&mut self, flow: &RegistrationFlow, proof: Proof) -> Result<(), IdentityError> {
        if self.next_step(flow) != Step::of(proof) {
            return Err(IdentityError::invalid("proof", "is not the next step"));
        }
        self.proven.insert(proof);
        Ok(())
    }

    /// Records an administrator's approval; only once every proof is made, so
    /// an approval cannot stand in for one.
    pub fn approve(&mut self, flow: &RegistrationFlow) -> Result<(), IdentityError> {
        if self.next_step(flow) != Step::AwaitApproval {
            return Err(IdentityError::invalid(
                "sign_up",
                "is not waiting for approval",
            ));
        }
        self.is_approved = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_are_ordered_by_declaration() {
        let mut sorted = PROOF_ORDER;
        sorted.sort();
        assert_eq!(sorted, PROOF_ORDER);
    }

    #[test]
    fn directory_needs_nothing_from_the_flow_and_password_needs_both() {
        let email: BTreeSet<Proof> = [Proof::Email].into();
        assert!(is_usable(SignInMethod::Directory, &email));
        assert!(!is_usable(SignInMethod::Password, &email));
        assert!(!is_usable(SignInMethod::PasswordAndPhoneCode, &email));
        assert!(is_usable(SignInMethod::EmailCode, &email));
    }
}
