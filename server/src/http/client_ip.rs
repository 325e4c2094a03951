//! The client's IP: the socket peer, or — only when the peer is a trusted proxy — the right-most
//! `X-Forwarded-For` hop that is not itself a trusted proxy.

use std::net::IpAddr;

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, request::Parts},
};
use ipnet::IpNet;

use super::context::RequestContext;

pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = canonical(peer);
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect();
    // Walk from the right (nearest hop) past our own proxies; the first stranger is the client.
    hops.iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .copied()
        .or_else(|| hops.first().copied())
        .unwrap_or(peer)
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The unit the limiter and the threat guard count by: an IPv4 address, or the `/64` an IPv6 address
/// belongs to (returned as its network address), since one host or customer line gets a whole /64.
pub fn bucket(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// The client network for the audit log: `/24` for IPv4, `/48` for IPv6.
pub fn truncated_network(ip: IpAddr) -> String {
    let prefix = if ip.is_ipv4() { 24 } else { 48 };
    IpNet::new(ip, prefix)
        .map(|n| n.trunc().to_string())
        .unwrap_or_else(|_| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(resolve(stranger, &headers("1.2.3.4"), &trusted), stranger);
        assert_eq!(
            resolve(peer, &headers("1.2.3.4"), &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        // A client-supplied left-most hop does not win over the right-most untrusted one.
        assert_eq!(
            resolve(peer, &headers("6.6.6.6, 203.0.113.9, 10.0.0.2"), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(resolve(peer, &HeaderMap::new(), &trusted), peer);
        assert_eq!(resolve(peer, &headers("garbage"), &trusted), peer);
    }

    #[test]
    fn networks_are_truncated() {
        assert_eq!(truncated_network("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(
            truncated_network("2001:db8:abcd:12::1".parse().unwrap()),
            "2001:db8:abcd::/48"
        );
        assert_eq!(
            truncated_network("::ffff:1.2.3.4".parse::<IpAddr>().map(canonical).unwrap()),
            "1.2.3.0/24"
        );
    }
}

/// The client's IP as resolved by the request-context middleware (trusted proxies honoured).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<RequestContext>()
                .map(|c| c.client_ip)
                .unwrap_or(IpAddr::from([127, 0, 0, 1])),
        ))
    }
}
