//! Email addresses: `a@example.com` or `Name <a@example.com>`.
//!
//! Addresses go into SMTP commands (`RCPT TO:<…>`) and headers, so they are checked strictly:
//! a dot-atom local part and a domain of letters, digits and hyphens (RFC 5321 §4.1.2). Nothing
//! that could end a command or a header gets through.

/// A display name (optional) and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    /// Parse `addr@domain` or `Display Name <addr@domain>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, address) = match text.strip_suffix('>').and_then(|t| t.rsplit_once('<')) {
            Some((name, address)) => {
                let name = name.trim().trim_matches('"').trim();
                if name.chars().any(char::is_control) {
                    return Err(format!("`{text}`: the display name has control characters"));
                }
                ((!name.is_empty()).then(|| name.to_owned()), address.trim())
            }
            None => (None, text),
        };
        check_address(address)?;
        Ok(Mailbox {
            name,
            address: address.to_owned(),
        })
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

const LOCAL_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";

fn check_address(address: &str) -> Result<(), String> {
    if !address.is_ascii() {
        return Err(format!(
            "`{address}`: addresses with non-ASCII characters are not supported (use the punycode form of the domain)"
        ));
    }
    if address.len() > 254 {
        return Err(format!("`{address}` is longer than 254 characters"));
    }
    let (local, domain) = address
        .rsplit_once('@')
        .ok_or_else(|| format!("`{address}` is not an email address (no `@`)"))?;
    let atom = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c))
    };
    if local.len() > 64 || !local.split('.').all(atom) {
        return Err(format!(
            "`{address}`: the part before `@` must be letters, digits, dots and {LOCAL_SPECIALS}"
        ));
    }
    let label = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && !s.starts_with('-')
            && !s.ends_with('-')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !domain.split('.').all(label) {
        return Err(format!(
            "`{address}`: the domain must be dot-separated labels of letters, digits and hyphens"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_named_addresses_parse() {
        assert_eq!(
            Mailbox::parse("oncall@example.com").unwrap(),
            Mailbox {
                name: None,
                address: "oncall@example.com".into()
            }
        );
        let m = Mailbox::parse("\"Équipe SRE\" <sre+pager@mail.example.com>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Équipe SRE"));
        assert_eq!(m.address, "sre+pager@mail.example.com");
        assert_eq!(m.domain(), "mail.example.com");
    }

    #[test]
    fn anything_that_could_inject_is_refused() {
        for bad in [
            "a@b.com>\r\nRCPT TO:<evil@x.com",
            "a b@example.com",
            "a@exa mple.com",
            "noat",
            "a@-x.com",
            "a..b@x.com",
            "é@x.com",
            "Name\r\nBcc: x@y.com <a@b.com>",
        ] {
            assert!(Mailbox::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
