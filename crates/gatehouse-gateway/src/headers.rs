//! Headers in and out (GW-5, GW-10): what a client may not hand an upstream
//! (hop-by-hop headers, anything claiming an identity or a forwarding path)
//! is taken off the request; every response, the upstream's or the
//! gateway's own, leaves with the security headers.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded either way.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The header the upstream reads the caller's verified identity from
/// (a short-lived token signed by the gateway).
pub const IDENTITY_HEADER: &str = "x-gatehouse-identity";
/// The request id, the same in the gateway's records and the upstream's.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Whether a client-sent header claims an identity or a path the gateway
/// vouches for: such headers are the gateway's to set, never the client's.
fn is_identity_claim(name: &str) -> bool {
    name.starts_with("x-gatehouse-")
        || name.starts_with("x-forwarded-")
        || name.starts_with("x-auth")
        || name.starts_with("x-user")
        || name.starts_with("x-remote-")
        || matches!(
            name,
            "forwarded"
                | "x-real-ip"
                | "x-client-ip"
                | "true-client-ip"
                | "x-request-id"
                | "x-original-url"
                | "x-rewrite-url"
                | "x-original-uri"
                | "cf-connecting-ip"
        )
}

/// Removes hop-by-hop headers, those `Connection` names, and identity claims.
/// `Authorization` is removed too: the upstream gets the identity the
/// gateway verified, not the caller's credential.
pub fn strip_request(headers: &mut HeaderMap) {
    strip_hop_by_hop(headers);
    let claims: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_identity_claim(n.as_str()))
        .cloned()
        .collect();
    for name in claims {
        headers.remove(&name);
    }
    headers.remove(header::AUTHORIZATION);
}

/// Removes hop-by-hop headers and those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(&name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The security headers every response leaves with. An upstream's own CSP or
/// framing rule is kept (it knows its pages); the rest are set.
pub fn secure_response(headers: &mut HeaderMap) {
    strip_hop_by_hop(headers);
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=63072000; includeSubDomains",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if !headers.contains_key(header::X_FRAME_OPTIONS) {
        set(headers, header::X_FRAME_OPTIONS, "DENY");
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            headers,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        );
    }
    headers.remove(header::SERVER);
    headers.remove("x-powered-by");
}

#[cfg(test)]
mod tests {
    use super::*;

    // proves: GW-10 (hop-by-hop and identity headers from clients are stripped)
    #[test]
    fn a_client_cannot_hand_the_upstream_an_identity_or_a_hop_header() {
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("connection", "close, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("x-gatehouse-identity", "forged"),
            ("x-forwarded-for", "10.0.0.1"),
            ("forwarded", "for=10.0.0.1"),
            ("x-real-ip", "10.0.0.1"),
            ("x-user-id", "admin"),
            ("x-authenticated-user", "admin"),
            ("x-request-id", "chosen"),
            ("authorization", "Bearer abc"),
            ("accept", "application/json"),
            ("content-type", "application/json"),
            ("user-agent", "curl/8"),
        ] {
            h.append(name, HeaderValue::from_static(value));
        }
        strip_request(&mut h);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, vec!["accept", "content-type", "user-agent"]);
    }

    // proves: GW-5 (security headers on every response)
    #[test]
    fn every_response_leaves_with_the_security_headers() {
        let mut h = HeaderMap::new();
        h.insert(header::SERVER, HeaderValue::from_static("nginx/1.22"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        secure_response(&mut h);
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert!(h[header::STRICT_TRANSPORT_SECURITY]
            .to_str()
            .unwrap()
            .starts_with("max-age="));
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], "default-src 'self'");
        assert!(!h.contains_key(header::SERVER));
        assert!(!h.contains_key(header::CONNECTION));
    }
}
