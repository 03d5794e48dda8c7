//! Registration flows per user type (ID-1, ID-2): which flows can be saved,
//! the steps a person goes through, and their progress.

use gatehouse_identity::flow::{Proof, RegistrationFlow, SignUpProgress, Step};
use gatehouse_identity::user_type::{SecondFactor, SignInMethod, UserType};
use gatehouse_identity::IdentityError;
use serde_json::{json, Map, Value};

use crate::user_type::staff;

fn flow(proofs: &[Proof]) -> RegistrationFlow {
    RegistrationFlow {
        user_type: staff().name,
        is_open: true,
        proofs: proofs.to_vec(),
        requires_approval: false,
        attributes: vec!["department".into(), "projects".into()],
    }
}

fn message_of(err: IdentityError) -> (String, String) {
    match err {
        IdentityError::Invalid { field, message } => (field, message),
        other => panic!("expected an invalid-input error, got {other}"),
    }
}

fn map(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

#[test]
fn a_complete_flow_is_valid_and_round_trips() {
    // proves: ID-2 (a flow per user type, stored as checked)
    let flow = flow(&[Proof::Email, Proof::Password, Proof::Totp]);
    flow.validate(&staff()).unwrap();
    let json = serde_json::to_value(&flow).unwrap();
    assert_eq!(json["proofs"], json!(["email", "password", "totp"]));
    assert_eq!(
        serde_json::from_value::<RegistrationFlow>(json).unwrap(),
        flow
    );
    let typo =
        json!({"user_type": "staff", "is_open": true, "proofs": ["email"], "approval": true});
    assert!(serde_json::from_value::<RegistrationFlow>(typo).is_err());
}

#[test]
fn flows_that_could_not_produce_a_usable_user_are_refused() {
    // proves: ID-2 (each rule in flow.rs's doc, one case each)
    let password_only = UserType {
        sign_in: vec![SignInMethod::Password],
        ..staff()
    };
    let phone_only = UserType {
        sign_in: vec![SignInMethod::PhoneCode],
        second_factor: SecondFactor::Optional,
        ..staff()
    };
    let mut other_type = flow(&[Proof::Email, Proof::Totp]);
    other_type.user_type = gatehouse_identity::user_type::UserTypeName::parse("guest").unwrap();
    let mut repeated_attribute = flow(&[Proof::Email, Proof::Totp]);
    repeated_attribute.attributes.push("department".into());
    let mut undeclared = flow(&[Proof::Email, Proof::Totp]);
    undeclared.attributes.push("salary".into());
    let mut missing_required = flow(&[Proof::Email, Proof::Totp]);
    missing_required.attributes = vec!["projects".into()];
    let cases = [
        (other_type, staff(), "user_type", "another type's flow"),
        (flow(&[]), staff(), "proofs", "no proofs"),
        (
            flow(&[Proof::Password, Proof::Totp]),
            staff(),
            "proofs",
            "nobody to reach",
        ),
        (
            flow(&[Proof::Email, Proof::Email, Proof::Totp]),
            staff(),
            "proofs",
            "repeated proof",
        ),
        (
            repeated_attribute,
            staff(),
            "attributes.department",
            "repeated attribute",
        ),
        (undeclared, staff(), "attributes", "undeclared attribute"),
        (
            missing_required,
            staff(),
            "attributes.department",
            "required never asked",
        ),
        (
            flow(&[Proof::Email, Proof::Password]),
            staff(),
            "proofs",
            "second factor required, none enrolled",
        ),
        (
            flow(&[Proof::Email, Proof::Totp]),
            password_only,
            "proofs",
            "password sign-in without a password",
        ),
        (
            flow(&[Proof::Email, Proof::Password]),
            phone_only.clone(),
            "proofs",
            "password the type cannot use",
        ),
        (
            flow(&[Proof::Email]),
            phone_only,
            "proofs",
            "phone sign-in without a phone",
        ),
    ];
    for (flow, user_type, field, why) in cases {
        let err = flow.validate(&user_type).expect_err(why);
        assert_eq!(message_of(err).0, field, "{why}");
    }
}

#[test]
fn approval_lets_the_admin_supply_required_attributes() {
    // proves: ID-2 (a required attribute is either asked or set on approval)
    let mut flow = flow(&[Proof::Email, Proof::Totp]);
    flow.attributes = vec![];
    assert!(flow.validate(&staff()).is_err());
    flow.requires_approval = true;
    flow.validate(&staff()).unwrap();
}

#[test]
fn a_phone_proof_satisfies_a_required_second_factor() {
    // proves: ID-5 (a type requiring a second factor gets one at sign-up)
    flow(&[Proof::Email, Proof::Phone])
        .validate(&staff())
        .unwrap();
    let directory = UserType {
        sign_in: vec![SignInMethod::Directory],
        second_factor: SecondFactor::Optional,
        ..staff()
    };
    flow(&[Proof::Email]).validate(&directory).unwrap();
}

#[test]
fn steps_follow_the_fixed_order_whatever_the_listing() {
    // proves: ID-2 (the console preview matches what a person meets)
    let mut flow = flow(&[Proof::Totp, Proof::Password, Proof::Phone, Proof::Email]);
    flow.requires_approval = true;
    assert_eq!(
        flow.steps(),
        [
            Step::EnterDetails,
            Step::VerifyEmail,
            Step::VerifyPhone,
            Step::SetPassword,
            Step::EnrolTotp,
            Step::AwaitApproval,
            Step::Done,
        ]
    );
    let short = self::flow(&[Proof::Phone]);
    assert_eq!(
        short.steps(),
        [Step::EnterDetails, Step::VerifyPhone, Step::Done]
    );
}

#[test]
fn progress_cannot_skip_reorder_or_invent_proofs() {
    // proves: ID-1 (a password is only set once a contact point is proven)
    let mut flow = flow(&[Proof::Email, Proof::Password, Proof::Totp]);
    flow.requires_approval = true;
    let mut progress = SignUpProgress::default();
    assert_eq!(progress.next_step(&flow), Step::VerifyEmail);
    assert!(
        progress.prove(&flow, Proof::Password).is_err(),
        "skipping email"
    );
    assert!(
        progress.prove(&flow, Proof::Phone).is_err(),
        "not in the flow"
    );
    assert!(
        progress.approve(&flow).is_err(),
        "approval before the proofs"
    );
    progress.prove(&flow, Proof::Email).unwrap();
    assert!(
        progress.prove(&flow, Proof::Email).is_err(),
        "proving twice"
    );
    assert_eq!(progress.next_step(&flow), Step::SetPassword);
    progress.prove(&flow, Proof::Password).unwrap();
    progress.prove(&flow, Proof::Totp).unwrap();
    assert_eq!(progress.next_step(&flow), Step::AwaitApproval);
    assert!(!progress.is_complete(&flow));
    progress.approve(&flow).unwrap();
    assert!(progress.is_complete(&flow));
    assert_eq!(progress.next_step(&flow), Step::Done);
    assert!(progress.approve(&flow).is_err(), "approving twice");
}

#[test]
fn stored_progress_is_judged_against_the_flow() {
    // proves: ID-2 (a stored progress with stray proofs is not complete)
    let flow = flow(&[Proof::Email, Proof::Password]);
    let stray: SignUpProgress =
        serde_json::from_value(json!({"proven": ["phone", "totp"], "is_approved": true})).unwrap();
    assert_eq!(stray.next_step(&flow), Step::VerifyEmail);
    assert!(!stray.is_complete(&flow));
}

#[test]
fn sign_up_attributes_are_only_those_the_flow_asks_for() {
    // proves: ID-3 (a person cannot set policy-relevant attributes on themselves)
    let flow = flow(&[Proof::Email, Proof::Totp]);
    let ok = flow
        .check_sign_up_attributes(
            &staff(),
            &map(json!({"department": "ops", "projects": ["b", "a"]})),
        )
        .unwrap();
    assert_eq!(ok.len(), 2);
    let escalation = json!({"department": "ops", "clearance": 9});
    let (field, _) = message_of(
        flow.check_sign_up_attributes(&staff(), &map(escalation))
            .unwrap_err(),
    );
    assert_eq!(field, "attributes");
    let missing = json!({"projects": []});
    let (field, _) = message_of(
        flow.check_sign_up_attributes(&staff(), &map(missing))
            .unwrap_err(),
    );
    assert_eq!(field, "attributes.department");
    let wrong_type = json!({"department": 3});
    assert!(flow
        .check_sign_up_attributes(&staff(), &map(wrong_type))
        .is_err());
}
