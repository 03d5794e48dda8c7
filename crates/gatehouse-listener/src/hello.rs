//! What a client's TLS hello says about it (GW-4: bot identification by TLS
//! client-hello features). Browsers, HTTP libraries and attack tools each
//! offer their own cipher suites, signature schemes, groups and ALPN
//! protocols, in their own order; scripted clients often offer no ALPN at
//! all. The fingerprint follows the idea of JA4 (FoxIO) with what rustls
//! shows of the hello: `<d|i><ciphers><groups><alpn>_<ciphers hash>_<schemes
//! and groups hash>`, GREASE values left out so it stays stable. It is not
//! JA4 itself: rustls does not show the extension list, which JA4 hashes.

use sha2::{Digest, Sha256};

/// The features of one connection's TLS hello, shared by its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsHello {
    /// Whether the client named the server (SNI): by name, not by address.
    pub has_sni: bool,
    /// The ALPN protocols offered, in order (`h2`, `http/1.1`).
    pub alpn: Vec<String>,
    /// How many cipher suites it offered (GREASE left out).
    pub cipher_suites: usize,
    /// The fingerprint (see the module).
    pub fingerprint: String,
}

/// GREASE (RFC 8701): values clients add at random so servers tolerate
/// unknown ones; `0x?a?a` with both bytes equal.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

fn short_hash(parts: &[String]) -> String {
    let digest = Sha256::digest(parts.join(",").as_bytes());
    hex::encode(&digest[..6])
}

impl TlsHello {
    /// From the values a hello carried.
    pub fn from_values(
        has_sni: bool,
        alpn: Vec<String>,
        cipher_suites: &[u16],
        signature_schemes: &[u16],
        groups: &[u16],
    ) -> TlsHello {
        let hex4 = |v: &u16| format!("{v:04x}");
        let ciphers: Vec<u16> = cipher_suites
            .iter()
            .copied()
            .filter(|c| !is_grease(*c))
            .collect();
        let groups: Vec<u16> = groups.iter().copied().filter(|g| !is_grease(*g)).collect();
        let mut sorted: Vec<String> = ciphers.iter().map(hex4).collect();
        sorted.sort_unstable();
        let schemes: Vec<String> = signature_schemes
            .iter()
            .filter(|s| !is_grease(**s))
            .map(hex4)
            .chain(groups.iter().map(hex4))
            .collect();
        // The first and last character of the first protocol, as JA4 does.
        let alpn_tag = match alpn.first().map(|p| p.as_bytes()) {
            Some([first, .., last]) if first.is_ascii_alphanumeric() => {
                format!("{}{}", *first as char, *last as char)
            }
            Some([only]) if only.is_ascii_alphanumeric() => format!("{0}{0}", *only as char),
            Some(_) => "99".to_owned(),
            None => "00".to_owned(),
        };
        let fingerprint = format!(
            "{}{:02}{:02}{}_{}_{}",
            if has_sni { 'd' } else { 'i' },
            ciphers.len().min(99),
            groups.len().min(99),
            alpn_tag,
            short_hash(&sorted),
            short_hash(&schemes),
        );
        TlsHello {
            has_sni,
            alpn,
            cipher_suites: ciphers.len(),
            fingerprint,
        }
    }

    /// From the hello rustls read.
    pub fn of(hello: &rustls::server::ClientHello<'_>) -> TlsHello {
        let alpn = hello
            .alpn()
            .map(|protocols| {
                protocols
                    .take(8)
                    .map(|p| String::from_utf8_lossy(&p[..p.len().min(32)]).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let ciphers: Vec<u16> = hello
            .cipher_suites()
            .iter()
            .map(|c| u16::from(*c))
            .collect();
        let schemes: Vec<u16> = hello
            .signature_schemes()
            .iter()
            .map(|s| u16::from(*s))
            .collect();
        let groups: Vec<u16> = hello
            .named_groups()
            .unwrap_or_default()
            .iter()
            .map(|g| u16::from(*g))
            .collect();
        TlsHello::from_values(
            hello.server_name().is_some(),
            alpn,
            &ciphers,
            &schemes,
            &groups,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // proves: GW-4 (bots told apart by their TLS hello)
    #[test]
    fn the_fingerprint_ignores_grease_and_cipher_order_but_not_the_rest() {
        let h2 = || vec!["h2".to_owned(), "http/1.1".to_owned()];
        let a = TlsHello::from_values(true, h2(), &[0x1301, 0x1302, 0x1303], &[0x0403], &[0x001d]);
        // GREASE added, ciphers reordered: the same client.
        let b = TlsHello::from_values(
            true,
            h2(),
            &[0x2a2a, 0x1303, 0x1301, 0x1302],
            &[0x0403, 0x5a5a],
            &[0x3a3a, 0x001d],
        );
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(b.cipher_suites, 3);
        assert!(a.fingerprint.starts_with("d0301h2_"), "{}", a.fingerprint);
        // Another scheme order, no SNI, no ALPN, one cipher fewer: each differs.
        let c = TlsHello::from_values(
            true,
            h2(),
            &[0x1301, 0x1302, 0x1303],
            &[0x0804, 0x0403],
            &[0x001d],
        );
        assert_ne!(a.fingerprint, c.fingerprint);
        let d = TlsHello::from_values(
            false,
            vec![],
            &[0x1301, 0x1302, 0x1303],
            &[0x0403],
            &[0x001d],
        );
        assert!(d.fingerprint.starts_with("i030100_"), "{}", d.fingerprint);
        let e = TlsHello::from_values(true, h2(), &[0x1301, 0x1302], &[0x0403], &[0x001d]);
        assert_ne!(a.fingerprint, e.fingerprint);
        assert!(is_grease(0xfafa) && !is_grease(0x0a1a) && !is_grease(0x1301));
    }
}
