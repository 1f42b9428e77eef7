//! Outbound HTTP: the one `reqwest` client configuration of the issuer and the
//! verifier, and a capped body reader.
//!
//! Every client is built from [`client_builder`]: 5 s to connect, 30 s per
//! request in all, redirects never followed (a redirect answers as the 3xx it
//! is), no proxy from the environment, and a resolver that refuses names whose
//! addresses are all loopback, private, link-local, CGNAT, unique-local,
//! multicast, unspecified or otherwise reserved (see [`is_public`]) unless
//! [`PrivateAddresses::Allowed`]. A URL with a literal IP address does not
//! go through the resolver: callers fetching URLs they did not choose check
//! them with [`check_url`] first (the verifier checks every status-list URL,
//! and its configured URLs at start).
//!
//! Bodies are read with [`read_capped`]: streamed, and refused (an error,
//! never a truncated body) once they pass the cap.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Time allowed to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole request, body included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether outbound requests may reach non-public addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrivateAddresses {
    /// Only public addresses (the default).
    #[default]
    Refused,
    /// Any address: tests, a development machine, a node the operator
    /// configured on a private network.
    Allowed,
}

impl PrivateAddresses {
    /// `Allowed` when `allow` is true.
    pub fn allowed_if(allow: bool) -> Self {
        if allow {
            Self::Allowed
        } else {
            Self::Refused
        }
    }
}

/// Why an outbound request was refused or its body not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// Not an absolute `http`/`https` URL with a host.
    #[error("not an http(s) URL: {0}")]
    NotHttp(String),
    /// The URL's host is, or resolves only to, a non-public address.
    #[error("{host} is not a public address (private, loopback, link-local, … addresses are refused)")]
    NotPublic {
        /// The host (name or literal address).
        host: String,
    },
    /// The body is larger than the cap.
    #[error("the response body is larger than {max} bytes")]
    TooLarge {
        /// The cap, in bytes.
        max: usize,
    },
    /// Network, timeout or protocol error.
    #[error("{0}")]
    Transport(String),
}

/// The client configuration every outbound client starts from (see the module docs).
/// Callers add what is theirs (default headers, an extra root certificate) and build.
pub fn client_builder(private: PrivateAddresses) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    match private {
        PrivateAddresses::Allowed => builder,
        PrivateAddresses::Refused => builder.dns_resolver(Arc::new(PublicOnlyResolver)),
    }
}

/// Parse `url` and refuse what an outbound fetch must not reach: anything but
/// `http`/`https`, and (unless `Allowed`) a literal non-public IP address.
/// Host names are checked when resolved (by the client's resolver).
///
/// # Errors
/// [`OutboundError::NotHttp`], [`OutboundError::NotPublic`].
pub fn check_url(url: &str, private: PrivateAddresses) -> Result<Url, OutboundError> {
    let parsed = Url::parse(url).map_err(|_| OutboundError::NotHttp(shorten(url)))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(OutboundError::NotHttp(shorten(url)));
    }
    let ip = match parsed.host() {
        None => return Err(OutboundError::NotHttp(shorten(url))),
        Some(url::Host::Domain(_)) => None,
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
    };
    if let (Some(ip), PrivateAddresses::Refused) = (ip, private) {
        if !is_public(ip) {
            return Err(OutboundError::NotPublic { host: ip.to_string() });
        }
    }
    Ok(parsed)
}

/// The origin (`scheme://host[:port]`, default ports left out) of `url`, as
/// compared by allowlists; `None` for a URL without a host.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok()?;
    match parsed.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// Read `response`'s body, refusing it once it passes `max` bytes (a declared
/// `Content-Length` above `max` is refused before anything is read).
///
/// # Errors
/// [`OutboundError::TooLarge`]; [`OutboundError::Transport`] for network errors and timeouts.
pub async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, OutboundError> {
    if response.content_length().is_some_and(|len| len > max as u64) {
        return Err(OutboundError::TooLarge { max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| OutboundError::Transport(e.to_string()))? {
        if body.len() + chunk.len() > max {
            return Err(OutboundError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Is `ip` an address on the public internet? No for unspecified, loopback,
/// private (RFC 1918), CGNAT (100.64/10), link-local, multicast, broadcast,
/// "this network" (0/8), reserved (240/4), benchmarking (198.18/15),
/// documentation ranges, IPv6 unique-local (fc00::/7), site-local and
/// link-local, and for IPv6 forms that embed such an IPv4 address
/// (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() {
        return false;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::a.b.c.d).
    if seg[..6] == [0; 6] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(seg[6], seg[7]));
    }
    // 6to4: 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD.
    if seg[0] == 0x2002 {
        return is_public_v4(embedded_v4(seg[1], seg[2]));
    }
    !((seg[0] & 0xfe00) == 0xfc00          // unique-local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80     // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0     // site-local fec0::/10 (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8)) // documentation 2001:db8::/32
}

/// Resolves with the system resolver and keeps only public addresses; a name
/// with none is refused.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(OutboundError::NotPublic { host }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        for refused in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
        ] {
            assert!(!is_public(ip(refused)), "{refused} must be refused");
        }
        for public in
            ["8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]
        {
            assert!(is_public(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn literal_private_ips_in_urls_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8080/status/1",
            "http://[::1]/x",
            "https://10.0.0.7/",
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00::5]:443/",
            "http://[::ffff:192.168.0.1]/",
            "http://0.0.0.0/",
        ] {
            let err = check_url(url, PrivateAddresses::Refused).unwrap_err();
            assert!(matches!(err, OutboundError::NotPublic { .. }), "{url}: {err}");
            check_url(url, PrivateAddresses::Allowed).unwrap();
        }
        check_url("https://issuer.example.gov.cn/status/1", PrivateAddresses::Refused).unwrap();
        check_url("https://8.8.8.8/status/1", PrivateAddresses::Refused).unwrap();
        for bad in ["file:///etc/passwd", "ftp://example.com/x", "not a url", "data:text/plain,hi"] {
            assert!(matches!(check_url(bad, PrivateAddresses::Allowed), Err(OutboundError::NotHttp(_))), "{bad}");
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(origin_of("http://127.0.0.1:8080/status/1").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("https://Issuer.Example/status/1").as_deref(), Some("https://issuer.example"));
        assert_eq!(origin_of("https://issuer.example:443/x").as_deref(), Some("https://issuer.example"));
        assert_eq!(origin_of("mailto:a@b.c"), None);
    }

    /// A local HTTP/1.1 server answering each request with `response`,
    /// counting the requests it received.
    fn serve(response: Vec<u8>) -> (String, Arc<AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = stream.write_all(&response);
            }
        });
        (base, hits)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn a_body_over_the_cap_is_an_error_with_or_without_content_length() {
        let body = vec![b'x'; 5000];
        let mut declared =
            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len()).into_bytes();
        declared.extend_from_slice(&body);
        // Chunked, no length declared: the cap is found while streaming.
        let mut chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
        for part in body.chunks(1000) {
            chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            chunked.extend_from_slice(part);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        runtime().block_on(async {
            let client = client_builder(PrivateAddresses::Allowed).build().unwrap();
            for response in [declared, chunked] {
                let (base, _) = serve(response);
                let resp = client.get(format!("{base}/")).send().await.unwrap();
                assert_eq!(read_capped(resp, 4999).await, Err(OutboundError::TooLarge { max: 4999 }));
                let resp = client.get(format!("{base}/")).send().await.unwrap();
                assert_eq!(read_capped(resp, 5000).await.unwrap().len(), 5000);
            }
        });
    }

    #[test]
    fn redirects_are_not_followed() {
        let (target, target_hits) =
            serve(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_vec());
        let redirect = format!(
            "HTTP/1.1 302 Found\r\nlocation: {target}/secret\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let (base, hits) = serve(redirect.into_bytes());
        runtime().block_on(async {
            let client = client_builder(PrivateAddresses::Allowed).build().unwrap();
            let resp = client.get(format!("{base}/status/1")).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 302);
        });
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(target_hits.load(Ordering::SeqCst), 0, "the redirect target was requested");
    }

    #[test]
    fn names_resolving_to_private_addresses_are_refused_unless_allowed() {
        let (base, hits) = serve(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_vec());
        let port = base.rsplit(':').next().unwrap().to_owned();
        runtime().block_on(async {
            let refused = client_builder(PrivateAddresses::Refused).build().unwrap();
            let err = refused.get(format!("http://localhost:{port}/")).send().await.unwrap_err();
            assert!(format!("{err:?}").contains("NotPublic"), "{err:?}");
            assert_eq!(hits.load(Ordering::SeqCst), 0);
            let allowed = client_builder(PrivateAddresses::Allowed).build().unwrap();
            let resp = allowed.get(format!("http://localhost:{port}/")).send().await.unwrap();
            assert_eq!(read_capped(resp, 100).await.unwrap(), b"ok");
        });
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
