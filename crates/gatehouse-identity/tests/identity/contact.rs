//! Email addresses and phone numbers: what is accepted, what is refused and
//! why, and how they are masked.

use gatehouse_identity::contact::{Email, Phone};
use gatehouse_identity::IdentityError;

#[test]
fn good_addresses_are_accepted_and_lower_cased() {
    // proves: ID-1 (one person, one stored spelling)
    let cases = [
        ("ann@example.com", "ann@example.com", "plain"),
        (
            "  Ann@Example.COM ",
            "ann@example.com",
            "trimmed, lower-cased",
        ),
        (
            "a.b+tag@sub.example.co.uk",
            "a.b+tag@sub.example.co.uk",
            "dots, plus, subdomains",
        ),
        (
            "o'neil@example.ie",
            "o'neil@example.ie",
            "apostrophe is atext",
        ),
        (
            "x@xn--bcher-kva.example",
            "x@xn--bcher-kva.example",
            "punycode domain",
        ),
        ("a@b-c.io", "a@b-c.io", "inner hyphen"),
        (
            "!#$%&'*+/=?^_`{|}~-@x.com",
            "!#$%&'*+/=?^_`{|}~-@x.com",
            "every atext symbol",
        ),
        ("a@x.com1", "a@x.com1", "top label with a letter"),
    ];
    for (input, stored, why) in cases {
        let email = Email::parse(input).unwrap_or_else(|e| panic!("{why}: {input:?}: {e}"));
        assert_eq!(email.as_str(), stored, "{why}");
        assert_eq!(email.to_string(), stored, "{why}: Display is the address");
    }
}

#[test]
fn bad_addresses_are_refused() {
    // proves: ID-1 (nothing a header, a log line or a second spelling hides in)
    let long_local = format!("{}@x.com", "a".repeat(65));
    let long_label = format!("a@{}.com", "b".repeat(64));
    let long_address = address_of_len(255);
    assert_eq!(long_address.len(), 255);
    let cases: Vec<(&str, &str)> = vec![
        ("a@b.com\r\nBcc: x@evil.com", "header injection"),
        ("a@b.com\nx", "newline"),
        ("a\0@b.com", "NUL"),
        (&long_address, "255 bytes"),
        (&long_local, "local part over 64"),
        (&long_label, "label over 63"),
        ("a..b@x.com", "double dot"),
        (".a@x.com", "leading dot"),
        ("a.@x.com", "trailing dot in the local part"),
        ("@x.com", "empty local part"),
        ("a@", "empty domain"),
        ("a@x", "single label"),
        ("a@-x.com", "label starts with a hyphen"),
        ("a@x-.com", "label ends with a hyphen"),
        ("a@1.2.3.4", "IP address as a name"),
        ("a@[1.2.3.4]", "IP literal"),
        ("a@x.123", "all-digit top label"),
        ("\"a b\"@x.com", "quoted local part"),
        ("a(comment)@x.com", "comment"),
        ("üser@x.com", "unicode local part"),
        ("a@bücher.de", "unicode domain (must be punycode)"),
        ("a@x.com.", "trailing dot"),
        ("a@x..com", "empty label"),
        ("a@b@x.com", "two @"),
        ("ax.com", "no @"),
        ("a @x.com", "inner space"),
        ("a@x_y.com", "underscore in domain"),
        ("", "empty"),
        ("   ", "blank"),
    ];
    for (input, why) in cases {
        let err = Email::parse(input).expect_err(why);
        assert!(
            matches!(&err, IdentityError::Invalid { field, .. } if field == "email"),
            "{why}: {err}"
        );
    }
}

/// A valid-shaped address of `len` bytes (245 to 255).
fn address_of_len(len: usize) -> String {
    let last = len - (64 + 1 + 62 + 1 + 62 + 1 + 4);
    format!(
        "{}@{}.{}.{}.com",
        "a".repeat(64),
        "b".repeat(62),
        "c".repeat(62),
        "d".repeat(last)
    )
}

#[test]
fn the_length_limit_is_254_bytes_exactly() {
    // proves: ID-1 (RFC 5321's path limit, at its boundary)
    let at_limit = address_of_len(254);
    assert_eq!(at_limit.len(), 254);
    assert!(Email::parse(&at_limit).is_ok());
    assert!(Email::parse(&address_of_len(255)).is_err());
    let local_64 = format!("{}@x.com", "a".repeat(64));
    assert!(Email::parse(&local_64).is_ok());
    let label_63 = format!("a@{}.com", "b".repeat(63));
    assert!(Email::parse(&label_63).is_ok());
}

#[test]
fn email_deserialising_checks_it_too() {
    // proves: ID-1 (no way around the parser through serde)
    let ok: Email = serde_json::from_str("\"Ann@Example.com\"").unwrap();
    assert_eq!(ok.as_str(), "ann@example.com");
    assert!(serde_json::from_str::<Email>("\"a@1.2.3.4\"").is_err());
    assert_eq!(serde_json::to_string(&ok).unwrap(), "\"ann@example.com\"");
}

#[test]
fn good_numbers_are_accepted_without_separators() {
    // proves: ID-8 (codes go to one canonical number)
    let cases = [
        ("+447911123456", "+447911123456", "plain"),
        ("+44 7911 123456", "+447911123456", "spaces"),
        ("+1 (415) 555-0100", "+14155550100", "brackets and hyphen"),
        ("+33.1.23.45.67.89", "+33123456789", "dots"),
        ("+12345678", "+12345678", "8 digits"),
        ("+123456789012345", "+123456789012345", "15 digits"),
    ];
    for (input, stored, why) in cases {
        let phone = Phone::parse(input).unwrap_or_else(|e| panic!("{why}: {e}"));
        assert_eq!(phone.as_str(), stored, "{why}");
    }
}

#[test]
fn bad_numbers_are_refused() {
    // proves: ID-8 (no guessing at national dialling rules)
    let cases = [
        ("00447911123456", "00 prefix"),
        ("447911123456", "missing +"),
        ("+0447911123456", "country code starting with 0"),
        ("+1234567", "7 digits"),
        ("+1234567890123456", "16 digits"),
        ("+44 7911 ABC456", "letters"),
        ("+44\t7911123456", "tab is not a separator"),
        ("+44791112345\n", "newline"),
        ("++447911123456", "two +"),
        ("+44+7911123456", "inner +"),
        ("+", "only +"),
        ("", "empty"),
        ("+４４7911123456", "full-width digits"),
        ("+44 7911 123456 ext 2", "extension"),
        (
            "+44 (0)20 7946 0958",
            "trunk prefix would change the number",
        ),
    ];
    for (input, why) in cases {
        let err = Phone::parse(input).expect_err(why);
        assert!(
            matches!(&err, IdentityError::Invalid { field, .. } if field == "phone"),
            "{why}: {err}"
        );
    }
    let padded = format!("+44{}7911123456", " ".repeat(100));
    assert!(Phone::parse(&padded).is_err(), "oversized input refused");
}

#[test]
fn masks_show_little() {
    // proves: ID-7 (audit records do not harvest contact points)
    let cases = [
        ("ann@example.com", "a•••@example.com"),
        ("z@x.io", "z•••@x.io"),
        ("Long.Name+tag@mail.example.org", "l•••@mail.example.org"),
    ];
    for (input, masked) in cases {
        assert_eq!(Email::parse(input).unwrap().masked(), masked);
    }
    assert_eq!(
        Phone::parse("+447911123489").unwrap().masked(),
        "+44••••••••89"
    );
    assert_eq!(
        Phone::parse("+44 207 946 089").unwrap().masked(),
        "+44•••••••89"
    );
    assert_eq!(Phone::parse("+12345678").unwrap().masked(), "+12••••78");
    let phone = Phone::parse("+447911123456").unwrap();
    assert!(!phone.masked().contains("7911123"));
}
