//! The notification as every provider renders it, and text limits shared by them.

/// What one chat post says.
pub struct Page {
    /// The bold first line (the notify contract's `subject`).
    pub title: Option<String>,
    pub message: String,
    /// The signed one-click acknowledge link, shown as a button or a link.
    pub accept_url: Option<String>,
    pub incident_arn: Option<String>,
    /// Where to post, for providers whose webhooks may choose (Mattermost).
    pub channel: Option<String>,
    /// The acknowledge button's label.
    pub accept_label: String,
}

impl Page {
    /// `title: message`, the one-line form for notification previews.
    pub fn one_line(&self) -> String {
        match &self.title {
            Some(t) => format!("{t}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// At most `max` characters, ending with `…` when cut: a page goes out even when it is long.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters_not_bytes() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
    }
}
