//! Just enough YAML to read the `string:` bodies of VCR cassettes (double-quoted,
//! single-quoted and folded scalars).

/// Every `string:` scalar in the document, decoded.
pub fn strings(doc: &str) -> Vec<String> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("string:") {
            let indent = line.len() - trimmed.len();
            let rest = rest.trim();
            let (start_line, first) = if rest.is_empty() {
                (i + 1, lines.get(i + 1).map(|l| l.trim_start()).unwrap_or_default())
            } else {
                (i, rest)
            };
            let (value, next) = if let Some(body) = first.strip_prefix('"') {
                double_quoted(body, &lines, start_line)
            } else if let Some(body) = first.strip_prefix('\'') {
                single_quoted(body, &lines, start_line)
            } else if first.starts_with('>') || first.starts_with('|') {
                block(first.starts_with('|'), &lines, start_line + 1, indent)
            } else {
                (first.to_string(), start_line + 1)
            };
            out.push(value);
            i = next;
        } else {
            i += 1;
        }
    }
    out
}

/// Folds a line break: blank lines become newlines, a single break becomes a space.
fn fold(out: &mut String, protected: usize, lines: &[&str], next: &mut usize) {
    while out.len() > protected && out.ends_with([' ', '\t']) {
        out.pop();
    }
    let mut blanks = 0;
    while *next < lines.len() && lines[*next].trim().is_empty() {
        blanks += 1;
        *next += 1;
    }
    if blanks == 0 {
        out.push(' ');
    } else {
        out.extend(std::iter::repeat_n('\n', blanks));
    }
}

fn double_quoted(first: &str, lines: &[&str], start: usize) -> (String, usize) {
    let mut out = String::new();
    let mut protected = 0;
    let mut current = first.to_string();
    let mut next = start + 1;
    loop {
        let chars: Vec<char> = current.chars().collect();
        let mut k = 0;
        let mut escaped_break = false;
        while k < chars.len() {
            match chars[k] {
                '\\' if k + 1 == chars.len() => {
                    escaped_break = true;
                    k += 1;
                }
                '\\' => {
                    let c = chars[k + 1];
                    k += 2;
                    match c {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        ' ' => out.push(' '),
                        '"' => out.push('"'),
                        '/' => out.push('/'),
                        '\\' => out.push('\\'),
                        'u' | 'x' | 'U' => {
                            let len = match c {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String = chars[k..k + len].iter().collect();
                            k += len;
                            out.push(char::from_u32(u32::from_str_radix(&hex, 16).expect("hex")).expect("char"));
                        }
                        other => panic!("unsupported YAML escape \\{other}"),
                    }
                    protected = out.len();
                }
                '"' => return (out, next),
                c => {
                    out.push(c);
                    k += 1;
                }
            }
        }
        if !escaped_break {
            fold(&mut out, protected, lines, &mut next);
        }
        let line = lines.get(next).expect("unterminated double-quoted scalar");
        current = line.trim_start().to_string();
        next += 1;
    }
}

fn single_quoted(first: &str, lines: &[&str], start: usize) -> (String, usize) {
    let mut out = String::new();
    let mut current = first.to_string();
    let mut next = start + 1;
    loop {
        let chars: Vec<char> = current.chars().collect();
        let mut k = 0;
        while k < chars.len() {
            if chars[k] == '\'' {
                if chars.get(k + 1) == Some(&'\'') {
                    out.push('\'');
                    k += 2;
                    continue;
                }
                return (out, next);
            }
            out.push(chars[k]);
            k += 1;
        }
        fold(&mut out, 0, lines, &mut next);
        let line = lines.get(next).expect("unterminated single-quoted scalar");
        current = line.trim_start().to_string();
        next += 1;
    }
}

fn block(literal: bool, lines: &[&str], start: usize, key_indent: usize) -> (String, usize) {
    let mut parts = Vec::new();
    let mut next = start;
    while next < lines.len() {
        let line = lines[next];
        let indent = line.len() - line.trim_start().len();
        if !line.trim().is_empty() && indent <= key_indent {
            break;
        }
        parts.push(line.trim());
        next += 1;
    }
    (parts.join(if literal { "\n" } else { " " }).trim_end().to_string(), next)
}

#[test]
fn yaml_scalars_decode() {
    let doc = "a:\n  string: \"{\\n  \\\"x\\\"\n    : 1,\\n\\\n    \\  \\\"y\\\" : \\\"a\\\n    b\\\"}\"\n  string: '{\"k\": \"it''s\n    folded\"}'\n";
    let got = strings(doc);
    assert_eq!(got[0], "{\n  \"x\" : 1,\n  \"y\" : \"ab\"}");
    assert_eq!(got[1], "{\"k\": \"it's folded\"}");
}
