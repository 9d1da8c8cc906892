//! The TwiML of a page call: read the page, gather one key (1 = acknowledge) posting to the
//! page's callback, read it again when nobody presses, then say goodbye.
//!
//! Everything from the page is XML-escaped: a page text with `<`, `&` or quotes must not break
//! the document (Twilio would answer the call with "an application error has occurred").

/// Twilio refuses a `Twiml` parameter longer than this (error 32018).
pub const MAX_TWIML_CHARS: usize = 4000;
/// A subject longer than this is cut before it is read: it is an intro, not the page.
const MAX_SUBJECT_CHARS: usize = 200;

/// What to say and how.
pub struct Page<'a> {
    pub subject: Option<&'a str>,
    pub message: &'a str,
    /// Where `<Gather>` posts the pressed key; without it nothing can be gathered and the page
    /// is only read.
    pub callback_url: Option<&'a str>,
    /// `<Say voice=…>`, e.g. `Polly.Joanna`.
    pub voice: Option<&'a str>,
    /// `<Say language=…>`, e.g. `en-GB`.
    pub language: Option<&'a str>,
    /// How many times the page is read when nobody presses a key (at least 1).
    pub readings: u8,
    /// Seconds `<Gather>` waits for a key after each reading.
    pub gather_timeout_secs: u8,
}

/// The TwiML document, at most [`MAX_TWIML_CHARS`] characters: a long message is cut (ending
/// in "...") so that every reading and the acknowledgement prompt still fit.
pub fn build(page: &Page<'_>) -> String {
    let full = render(page, page.message);
    if full.chars().count() <= MAX_TWIML_CHARS {
        return full;
    }
    // The longest prefix of the message that fits; rendering is cheap, so search for it.
    let chars: Vec<char> = page.message.chars().collect();
    let (mut fits, mut too_long) = (0, chars.len());
    while too_long - fits > 1 {
        let mid = (fits + too_long) / 2;
        if render(page, &cut(&chars, mid)).chars().count() <= MAX_TWIML_CHARS {
            fits = mid;
        } else {
            too_long = mid;
        }
    }
    render(page, &cut(&chars, fits))
}

fn cut(chars: &[char], keep: usize) -> String {
    let kept: String = chars[..keep].iter().collect();
    format!("{}...", kept.trim_end())
}

fn render(page: &Page<'_>, message: &str) -> String {
    let mut speech = String::new();
    if let Some(subject) = page.subject.map(str::trim).filter(|s| !s.is_empty()) {
        let subject: String = subject.chars().take(MAX_SUBJECT_CHARS).collect();
        speech.push_str(&sentence(&subject));
        speech.push(' ');
    }
    speech.push_str(&sentence(message));
    if page.callback_url.is_some() {
        speech.push_str(" Press 1 to acknowledge.");
    }

    let mut doc = String::from("<Response>");
    for reading in 0..page.readings.max(1) {
        let say = if reading == 0 {
            say_element(page, &speech)
        } else {
            say_element(page, &format!("Again. {speech}"))
        };
        match page.callback_url {
            // numDigits="1": the first key ends the gather and Twilio posts `Digits` to the
            // action; with no key Twilio falls through to the next verb (the next reading).
            Some(url) => doc.push_str(&format!(
                r#"<Gather input="dtmf" numDigits="1" timeout="{}" action="{}" method="POST">{say}</Gather>"#,
                page.gather_timeout_secs,
                escape(url)
            )),
            None => doc.push_str(&say),
        }
    }
    let goodbye = if page.callback_url.is_some() {
        "No key was pressed. Goodbye."
    } else {
        "Goodbye."
    };
    doc.push_str(&say_element(page, goodbye));
    doc.push_str("</Response>");
    doc
}

fn say_element(page: &Page<'_>, text: &str) -> String {
    let mut attrs = String::new();
    if let Some(voice) = page.voice {
        attrs.push_str(&format!(r#" voice="{}""#, escape(voice)));
    }
    if let Some(language) = page.language {
        attrs.push_str(&format!(r#" language="{}""#, escape(language)));
    }
    format!("<Say{attrs}>{}</Say>", escape(text))
}

/// A trimmed phrase ending in sentence punctuation, so readings do not run together.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// Text and attribute values for XML 1.0: the five markup characters as entities, and
/// characters XML cannot carry at all (most control characters) as spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page<'a>(message: &'a str, callback: Option<&'a str>) -> Page<'a> {
        Page {
            subject: Some("db-1 down"),
            message,
            callback_url: callback,
            voice: None,
            language: None,
            readings: 2,
            gather_timeout_secs: 5,
        }
    }

    #[test]
    fn markup_in_the_page_is_escaped() {
        let doc = build(&page(
            r#"<Hangup/> & "quotes" 'too'"#,
            Some("https://x/cb?a=1&b=2"),
        ));
        assert!(!doc.contains("<Hangup/>"), "{doc}");
        assert!(
            doc.contains("&lt;Hangup/&gt; &amp; &quot;quotes&quot; &apos;too&apos;"),
            "{doc}"
        );
        assert!(
            doc.contains(r#"action="https://x/cb?a=1&amp;b=2""#),
            "{doc}"
        );
    }

    #[test]
    fn a_long_page_is_cut_to_twilios_limit() {
        let long = "disk full on db-1 & db-2. ".repeat(400);
        let doc = build(&page(&long, Some("https://x/cb")));
        assert!(doc.chars().count() <= MAX_TWIML_CHARS);
        assert!(doc.chars().count() > MAX_TWIML_CHARS - 20, "uses the room");
        assert_eq!(doc.matches("Press 1 to acknowledge.").count(), 2);
    }

    #[test]
    fn without_a_callback_the_page_is_only_read() {
        let doc = build(&page("db-1 down", None));
        assert!(!doc.contains("<Gather"), "{doc}");
        assert!(!doc.contains("Press 1"), "{doc}");
    }
}
