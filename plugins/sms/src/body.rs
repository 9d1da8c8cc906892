//! The text of a page: the message, then how to acknowledge it, within a length budget.

/// The message, then "Reply <code> to acknowledge" when there is an accept code, cut to
/// `max_chars` characters. The reply instruction is never cut: without it the text cannot be
/// acknowledged.
pub fn compose(message: &str, accept_code: Option<&str>, max_chars: usize) -> String {
    let suffix = accept_code
        .map(|code| format!("\nReply {} to acknowledge", code.trim()))
        .unwrap_or_default();
    let message = message.trim();
    let room = max_chars.saturating_sub(suffix.chars().count());
    let mut text = if message.chars().count() <= room {
        message.to_owned()
    } else {
        // "..." rather than "…": one character outside the GSM alphabet switches the whole
        // text to UCS-2, 70 characters a segment instead of 160.
        let kept: String = message.chars().take(room.saturating_sub(3)).collect();
        format!("{}...", kept.trim_end())
    };
    text.push_str(&suffix);
    text
}

#[cfg(test)]
mod tests {
    use super::compose;

    #[test]
    fn the_reply_instruction_follows_the_message() {
        assert_eq!(
            compose(" db-1 down ", Some("482913"), 1600),
            "db-1 down\nReply 482913 to acknowledge"
        );
        assert_eq!(compose("db-1 down", None, 1600), "db-1 down");
    }

    #[test]
    fn a_long_message_is_cut_and_the_reply_instruction_kept() {
        let text = compose(&"x".repeat(400), Some("482913"), 160);
        assert_eq!(text.chars().count(), 160);
        assert!(text.ends_with("...\nReply 482913 to acknowledge"), "{text}");
        let text = compose(&"é".repeat(400), None, 70);
        assert_eq!(text.chars().count(), 70);
    }
}
