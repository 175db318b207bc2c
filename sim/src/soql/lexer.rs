//! Tokens of a SOQL query, each with its byte span in the query text.
//!
//! The lexer never fails: a character it cannot place becomes [`Tok::Bad`], which the
//! parser reports as an unexpected token when (and only if) it reaches it, so the
//! first error in reading order wins, as on Salesforce.

use super::dates;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An identifier or keyword; dotted paths (`Profile.Name`) are one token.
    Ident(String),
    /// A quoted string, escapes resolved except `\%` and `\_`, kept for LIKE.
    Str(String),
    Num(f64),
    /// `2024-01-31`, as days since 1970-01-01.
    Date(i64),
    /// `2024-01-31T10:00:00Z`, as seconds since the epoch.
    DateTime(i64),
    Comma,
    LParen,
    RParen,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Colon,
    Minus,
    Plus,
    /// A string literal with an illegal escape or no closing quote: (message).
    BadString(String),
    Bad,
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

pub(crate) fn lex(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match b {
            b',' => single(&mut i, Tok::Comma),
            b'(' => single(&mut i, Tok::LParen),
            b')' => single(&mut i, Tok::RParen),
            b'=' => single(&mut i, Tok::Eq),
            b':' => single(&mut i, Tok::Colon),
            b'-' => single(&mut i, Tok::Minus),
            b'+' => single(&mut i, Tok::Plus),
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Ne
            }
            b'<' => match bytes.get(i + 1) {
                Some(b'>') => {
                    i += 2;
                    Tok::Ne
                }
                Some(b'=') => {
                    i += 2;
                    Tok::Le
                }
                _ => single(&mut i, Tok::Lt),
            },
            b'>' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    i += 2;
                    Tok::Ge
                } else {
                    single(&mut i, Tok::Gt)
                }
            }
            b'\'' => lex_string(text, &mut i),
            b'0'..=b'9' => lex_number_or_date(text, &mut i),
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => lex_number_or_date(text, &mut i),
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.') {
                    i += 1;
                }
                Tok::Ident(text[start..i].to_string())
            }
            _ => {
                // One whole character, even if multi-byte.
                let len = text[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                i += len;
                Tok::Bad
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token { tok: Tok::Eof, start: text.len(), end: text.len() });
    out
}

fn single(i: &mut usize, tok: Tok) -> Tok {
    *i += 1;
    tok
}

fn lex_string(text: &str, i: &mut usize) -> Tok {
    let start = *i;
    let mut chars = text[start + 1..].char_indices();
    let mut value = String::new();
    let mut error: Option<String> = None;
    while let Some((off, ch)) = chars.next() {
        match ch {
            '\'' => {
                *i = start + 1 + off + 1;
                return match error {
                    Some(msg) => Tok::BadString(msg),
                    None => Tok::Str(value),
                };
            }
            '\\' => {
                let Some((_, esc)) = chars.next() else { break };
                match esc {
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    'b' => value.push('\u{8}'),
                    'f' => value.push('\u{c}'),
                    '"' => value.push('"'),
                    '\'' => value.push('\''),
                    '\\' => value.push('\\'),
                    // Kept escaped: LIKE reads them as literal wildcards.
                    '%' | '_' => {
                        value.push('\\');
                        value.push(esc);
                    }
                    'u' => {
                        let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                            Some(c) if hex.len() == 4 => value.push(c),
                            _ => {
                                error.get_or_insert_with(|| illegal_sequence(&format!("\\u{hex}")));
                            }
                        }
                    }
                    other => {
                        error.get_or_insert_with(|| illegal_sequence(&format!("\\{other}")));
                    }
                }
            }
            c => value.push(c),
        }
    }
    *i = text.len();
    Tok::BadString("unterminated string literal".to_string())
}

fn illegal_sequence(seq: &str) -> String {
    format!("Illegal character sequence '{seq}' in string literal.")
}

fn lex_number_or_date(text: &str, i: &mut usize) -> Tok {
    let start = *i;
    let rest = &text[start..];
    if let Some((len, literal)) = dates::lex_date_literal(rest) {
        *i = start + len;
        return match literal {
            dates::DateLiteral::Date(days) => Tok::Date(days),
            dates::DateLiteral::DateTime(secs) => Tok::DateTime(secs),
        };
    }
    let bytes = text.as_bytes();
    while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'.') {
        *i += 1;
    }
    match text[start..*i].parse::<f64>() {
        Ok(n) => Tok::Num(n),
        Err(_) => Tok::Bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        lex(text).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_operators_paths_and_literals() {
        assert_eq!(
            toks("a.B<>'x\\'y' <= 1.5 != ("),
            vec![
                Tok::Ident("a.B".into()),
                Tok::Ne,
                Tok::Str("x'y".into()),
                Tok::Le,
                Tok::Num(1.5),
                Tok::Ne,
                Tok::LParen,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(toks(r"'a\nb\\c\u0041\%'")[0], Tok::Str("a\nb\\cA\\%".into()));
        assert_eq!(toks(r"'a\qb'")[0], Tok::BadString(illegal_sequence("\\q")));
        assert!(matches!(toks("'abc")[0], Tok::BadString(_)));
    }

    #[test]
    fn spans_are_byte_offsets() {
        let t = lex("SELECT  Id");
        assert_eq!((t[1].start, t[1].end), (8, 10));
        assert_eq!((t[2].start, t[2].end), (10, 10));
    }
}
