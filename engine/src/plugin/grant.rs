//! Capability grants: what a plugin's manifest requests, what the operator grants, and the
//! intersection the host enforces. Pure matching logic; no IO except name resolution for TCP.

use std::net::{IpAddr, SocketAddr};

use super::PluginError;

/// An HTTP origin pattern: `*`, or `scheme://host[:port]` where host may start with `*.`
/// (one or more labels) and port may be `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    Any,
    Origin {
        scheme: String,
        host: HostPattern,
        port: PortPattern,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    /// `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`.
    Subdomain(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPattern {
    Any,
    Exact(u16),
}

impl OriginPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "*" {
            return Ok(OriginPattern::Any);
        }
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            format!("`{text}` is not an origin: expected scheme://host[:port] or `*`")
        })?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!("`{text}`: scheme must be http or https"));
        }
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') || rest.contains('?') || rest.contains('@') {
            return Err(format!(
                "`{text}`: an origin has no path, query or credentials"
            ));
        }
        let (host, port) = split_host_port(rest);
        let port = match port {
            None => PortPattern::Exact(default_port(&scheme)),
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(
                p.parse()
                    .map_err(|_| format!("`{text}`: port `{p}` is not a number"))?,
            ),
        };
        let host = host.to_ascii_lowercase();
        let host = if let Some(suffix) = host.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains('*') {
                return Err(format!(
                    "`{text}`: a wildcard is only allowed as the first label (`*.example.com`)"
                ));
            }
            HostPattern::Subdomain(suffix.to_owned())
        } else if host.contains('*') || host.is_empty() {
            return Err(format!(
                "`{text}`: a wildcard is only allowed as the first label (`*.example.com`)"
            ));
        } else {
            HostPattern::Exact(host)
        };
        Ok(OriginPattern::Origin { scheme, host, port })
    }

    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        match self {
            OriginPattern::Any => true,
            OriginPattern::Origin {
                scheme: s,
                host: h,
                port: p,
            } => {
                let host = host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase();
                s.eq_ignore_ascii_case(scheme)
                    && match h {
                        HostPattern::Exact(e) => {
                            e.trim_start_matches('[').trim_end_matches(']') == host
                        }
                        HostPattern::Subdomain(suffix) => {
                            host.len() > suffix.len() + 1
                                && host.ends_with(suffix.as_str())
                                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                        }
                    }
                    && match p {
                        PortPattern::Any => true,
                        PortPattern::Exact(e) => *e == port,
                    }
            }
        }
    }
}

fn split_host_port(text: &str) -> (&str, Option<&str>) {
    if let Some(rest) = text.strip_prefix('[') {
        // [v6]:port
        if let Some((host, after)) = rest.split_once(']') {
            return (&text[..host.len() + 2], after.strip_prefix(':'));
        }
    }
    match text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (text, None),
    }
}

pub fn default_port(scheme: &str) -> u16 {
    if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    }
}

/// A TCP address pattern: `host:port`, where host may be `*` and port may be `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPattern {
    pub host: Option<String>,
    pub port: PortPattern,
}

impl TcpPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (host, port) = split_host_port(text);
        let port = match port {
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(
                p.parse()
                    .map_err(|_| format!("`{text}`: port `{p}` is not a number"))?,
            ),
            None => {
                return Err(format!(
                    "`{text}` is not host:port (use `*` for any host or any port)"
                ));
            }
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("`{text}` has no host"));
        }
        let host = (host != "*").then(|| host.to_ascii_lowercase());
        Ok(TcpPattern { host, port })
    }

    /// Whether `addr` is one of the addresses this pattern names (resolving a host name).
    pub async fn matches(&self, addr: SocketAddr) -> bool {
        if let PortPattern::Exact(p) = self.port
            && p != addr.port()
        {
            return false;
        }
        let Some(host) = &self.host else { return true };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return ip == addr.ip();
        }
        match tokio::net::lookup_host((host.as_str(), addr.port())).await {
            Ok(mut addrs) => addrs.any(|a| a.ip() == addr.ip()),
            Err(_) => false,
        }
    }
}

/// What the operator grants an instance (the `allow:` and `secrets:` of its `kind: Plugin`).
#[derive(Debug, Clone, Default)]
pub struct Grant {
    pub http: Vec<String>,
    pub tcp: Vec<String>,
    pub secrets: Vec<String>,
}

/// The enforced capabilities: requested by the manifest AND granted by the operator.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    http_requested: Vec<OriginPattern>,
    http_granted: Vec<OriginPattern>,
    tcp_requested: Vec<TcpPattern>,
    tcp_granted: Vec<TcpPattern>,
    secrets: Vec<String>,
}

impl Capabilities {
    /// Intersect. A grant the manifest never asked for is an error: it is almost always a typo,
    /// and silently ignoring it would hide why the plugin is denied later.
    pub fn intersect(
        instance: &str,
        requested: &super::RequestedCapabilities,
        grant: &Grant,
    ) -> Result<Self, PluginError> {
        let bad = |field: &str, msg: String| PluginError::Grant {
            instance: instance.to_owned(),
            field: field.to_owned(),
            message: msg,
        };
        let parse_origins = |field: &str, list: &[String]| {
            list.iter()
                .map(|s| OriginPattern::parse(s).map_err(|m| bad(field, m)))
                .collect::<Result<Vec<_>, _>>()
        };
        let parse_tcp = |field: &str, list: &[String]| {
            list.iter()
                .map(|s| TcpPattern::parse(s).map_err(|m| bad(field, m)))
                .collect::<Result<Vec<_>, _>>()
        };
        let caps = Capabilities {
            http_requested: parse_origins("manifest.requests.http", &requested.http)?,
            http_granted: parse_origins("allow.http", &grant.http)?,
            tcp_requested: parse_tcp("manifest.requests.tcp", &requested.tcp)?,
            tcp_granted: parse_tcp("allow.tcp", &grant.tcp)?,
            secrets: grant.secrets.clone(),
        };
        if !grant.http.is_empty() && caps.http_requested.is_empty() {
            return Err(bad(
                "allow.http",
                "the plugin does not request HTTP access; remove `allow.http`".into(),
            ));
        }
        if !grant.tcp.is_empty() && caps.tcp_requested.is_empty() {
            return Err(bad(
                "allow.tcp",
                "the plugin does not request TCP access; remove `allow.tcp`".into(),
            ));
        }
        for name in &grant.secrets {
            if !requested.secrets.iter().any(|r| r == name) {
                return Err(bad(
                    "secrets",
                    format!(
                        "the plugin does not request secret `{name}` (it requests: {}); remove it",
                        list_or_none(&requested.secrets)
                    ),
                ));
            }
        }
        Ok(caps)
    }

    pub fn allows_http(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.http_requested
            .iter()
            .any(|p| p.matches(scheme, host, port))
            && self
                .http_granted
                .iter()
                .any(|p| p.matches(scheme, host, port))
    }

    pub fn has_tcp(&self) -> bool {
        !self.tcp_requested.is_empty() && !self.tcp_granted.is_empty()
    }

    pub async fn allows_tcp(&self, addr: SocketAddr) -> bool {
        let mut requested = false;
        for p in &self.tcp_requested {
            if p.matches(addr).await {
                requested = true;
                break;
            }
        }
        if !requested {
            return false;
        }
        for p in &self.tcp_granted {
            if p.matches(addr).await {
                return true;
            }
        }
        false
    }

    pub fn allows_secret(&self, name: &str) -> bool {
        self.secrets.iter().any(|s| s == name)
    }

    pub fn secret_names(&self) -> &[String] {
        &self.secrets
    }
}

pub fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> OriginPattern {
        OriginPattern::parse(s).unwrap()
    }

    #[test]
    fn origin_patterns_match_scheme_host_and_port() {
        assert!(o("https://api.twilio.com").matches("https", "api.twilio.com", 443));
        assert!(!o("https://api.twilio.com").matches("http", "api.twilio.com", 80));
        assert!(!o("https://api.twilio.com").matches("https", "api.twilio.com", 8443));
        assert!(!o("https://api.twilio.com").matches("https", "evil-api.twilio.com", 443));
        assert!(o("http://127.0.0.1:8080").matches("http", "127.0.0.1", 8080));
        assert!(o("http://127.0.0.1:*").matches("http", "127.0.0.1", 1));
        assert!(o("*").matches("https", "anything.example", 1));
    }

    #[test]
    fn subdomain_wildcard_needs_a_label_boundary() {
        let p = o("https://*.slack.com");
        assert!(p.matches("https", "hooks.slack.com", 443));
        assert!(p.matches("https", "a.b.slack.com", 443));
        assert!(!p.matches("https", "slack.com", 443));
        assert!(!p.matches("https", "evilslack.com", 443));
        assert!(!p.matches("https", "slack.com.evil.net", 443));
    }

    #[test]
    fn malformed_origins_are_rejected_with_the_rule() {
        for bad in [
            "api.twilio.com",
            "ftp://x",
            "https://a/b",
            "https://a*.b",
            "https://x.*.com",
            "https://u@x",
        ] {
            let err = OriginPattern::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[tokio::test]
    async fn tcp_patterns_match_ips_names_and_wildcards() {
        let addr: SocketAddr = "127.0.0.1:2525".parse().unwrap();
        assert!(
            TcpPattern::parse("127.0.0.1:2525")
                .unwrap()
                .matches(addr)
                .await
        );
        assert!(
            TcpPattern::parse("localhost:2525")
                .unwrap()
                .matches(addr)
                .await
        );
        assert!(TcpPattern::parse("*:2525").unwrap().matches(addr).await);
        assert!(
            TcpPattern::parse("127.0.0.1:*")
                .unwrap()
                .matches(addr)
                .await
        );
        assert!(
            !TcpPattern::parse("127.0.0.1:25")
                .unwrap()
                .matches(addr)
                .await
        );
        assert!(
            !TcpPattern::parse("10.0.0.1:2525")
                .unwrap()
                .matches(addr)
                .await
        );
        assert!(TcpPattern::parse("127.0.0.1").is_err());
    }
}
