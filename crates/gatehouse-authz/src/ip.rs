//! `ip("…")` expressions for the sources seen lately. Cedar's
//! `RestrictedExpression::new_ip` parses the extension's name (`ip`) with
//! its policy grammar on every call, which took a sixth of a gateway
//! request's decision; an expression, once built, is a cheap clone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};

use cedar_policy::RestrictedExpression;

/// Sources kept at most: an anonymous caller chooses its address, so the
/// cache is emptied when full and never grows past this.
const KEPT: usize = 4096;

fn seen() -> &'static Mutex<HashMap<IpAddr, RestrictedExpression>> {
    static SEEN: OnceLock<Mutex<HashMap<IpAddr, RestrictedExpression>>> = OnceLock::new();
    SEEN.get_or_init(Mutex::default)
}

/// `ip("<source>")`, as `RestrictedExpression::new_ip` builds it.
pub(crate) fn ip_expression(ip: IpAddr) -> RestrictedExpression {
    if let Some(kept) = seen().lock().ok().and_then(|m| m.get(&ip).cloned()) {
        return kept;
    }
    let built = RestrictedExpression::new_ip(ip.to_string());
    if let Ok(mut m) = seen().lock() {
        if m.len() >= KEPT {
            m.clear();
        }
        m.insert(ip, built.clone());
    }
    built
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn same(ip: IpAddr) -> String {
        format!("{:?}", RestrictedExpression::new_ip(ip.to_string()))
    }

    // proves: GW-3 (what an anonymous caller can grow stays bounded: a
    // source rotating its address never grows the kept expressions past KEPT)
    #[test]
    fn the_kept_expressions_stay_bounded_under_address_rotation() {
        for n in 0..(KEPT as u32 + 500) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            assert_eq!(same(ip), format!("{:?}", ip_expression(ip)));
        }
        assert!(seen().lock().unwrap().len() <= KEPT);
        let v6: IpAddr = "2001:db8::7".parse().unwrap();
        assert_eq!(same(v6), format!("{:?}", ip_expression(v6)));
        // Kept: the same expression the second time.
        assert_eq!(same(v6), format!("{:?}", ip_expression(v6)));
    }
}
