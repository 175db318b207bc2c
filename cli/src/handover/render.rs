//! The handover document, said once as sections of facts and tables, then written as Markdown or as one
//! self-contained HTML page.
//!
//! Every value comes from the org or the command line, so every value is escaped: a record type label or a
//! user's name may hold `<script>` or `|`. The page loads nothing (a `default-src 'none'` policy) and runs no
//! script. The escaping is written here rather than taken from a crate: five characters for HTML and the
//! Markdown punctuation for table cells, with tests below and a browser test in cli/tests/report.rs.

use runner_steps::names::{API_INTEGRATION_PSL, INTEGRATION_LICENSE, STORECONNECT_PERMISSION_SETS};

use super::read::Handover;

/// A value with how it reads: good (set up as StoreConnect needs), bad (not), or plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Good,
    Bad,
}

pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

impl Cell {
    fn plain(text: impl Into<String>) -> Cell {
        Cell { text: text.into(), tone: Tone::Plain }
    }

    fn tone(text: impl Into<String>, good: bool) -> Cell {
        Cell { text: text.into(), tone: if good { Tone::Good } else { Tone::Bad } }
    }
}

pub enum Block {
    /// Label: value lines.
    Facts(Vec<(&'static str, Cell)>),
    Table {
        headers: Vec<&'static str>,
        rows: Vec<Vec<Cell>>,
    },
    Text(String),
}

pub struct Section {
    pub title: &'static str,
    pub blocks: Vec<Block>,
}

pub struct Document {
    pub title: String,
    pub lead: String,
    pub sections: Vec<Section>,
}

/// What the document says, in order; both formats write exactly this.
pub fn document(h: &Handover) -> Document {
    let title = format!("StoreConnect sync user: {}", if h.org_name.is_empty() { &h.org } else { &h.org_name });
    let lead = format!(
        "Org {} ({}{}) at {}, read on {} by runner {}. This document holds no password, token or TOTP secret.",
        h.org_id,
        if h.edition.is_empty() { "edition unknown" } else { &h.edition },
        if h.sandbox { ", sandbox" } else { "" },
        h.instance_url,
        when(&h.generated_at),
        h.runner_version
    );
    let mut sections = Vec::new();
    match &h.user {
        None => sections.push(Section {
            title: "Sync user",
            blocks: vec![Block::Facts(vec![
                (
                    "Username",
                    Cell::tone(
                        h.username.as_ref().map(|u| format!("{u}: no such user")).unwrap_or_else(|| "none".into()),
                        false,
                    ),
                ),
                ("Chosen by", Cell::plain(&h.user_source)),
            ])],
        }),
        Some(user) => {
            sections.push(Section {
                title: "Sync user",
                blocks: vec![Block::Facts(vec![
                    ("Username", Cell::plain(&user.username)),
                    ("Chosen by", Cell::plain(&h.user_source)),
                    ("Name", Cell::plain(&user.name)),
                    ("Email", Cell::plain(&user.email)),
                    ("User id", Cell::plain(&user.id)),
                    ("Active", Cell::tone(yes_no(user.active), user.active)),
                    ("Created", Cell::plain(optional_when(&user.created))),
                    ("Last login", Cell::plain(user.last_login.as_deref().map(when).unwrap_or_else(|| "never".into()))),
                ])],
            });
            let integration = user.licence.as_deref() == Some(INTEGRATION_LICENSE);
            let psl = user.permission_set_licences.iter().any(|p| p.api_name == API_INTEGRATION_PSL);
            let psls = if user.permission_set_licences.is_empty() {
                Cell::tone("none", false)
            } else {
                Cell::tone(user.permission_set_licences.iter().map(assigned).collect::<Vec<_>>().join("; "), psl)
            };
            sections.push(Section {
                title: "Profile and licences",
                blocks: vec![Block::Facts(vec![
                    ("Profile", Cell::plain(&user.profile)),
                    ("User licence", Cell::tone(user.licence.clone().unwrap_or_else(|| "unknown".into()), integration)),
                    ("Permission set licences", psls),
                ])],
            });
            let mut rows: Vec<Vec<Cell>> = user
                .permission_sets
                .iter()
                .map(|set| {
                    vec![Cell::plain(&set.api_name), Cell::plain(&set.label), Cell::plain(optional_when(&set.since))]
                })
                .collect();
            for api_name in STORECONNECT_PERMISSION_SETS {
                if !user.permission_sets.iter().any(|s| s.api_name == api_name) {
                    rows.push(vec![Cell::tone(api_name, false), Cell::tone("not assigned", false), Cell::plain("")]);
                }
            }
            sections.push(Section {
                title: "Permission sets",
                blocks: vec![Block::Table { headers: vec!["API name", "Label", "Assigned"], rows }],
            });
            let password = match &user.password_changed {
                Some(at) => Cell::tone(format!("yes, last changed {}", when(at)), true),
                None => Cell::tone("no", false),
            };
            let totp = match (user.totp_registered, &user.totp_registered_at) {
                (Some(true), Some(at)) => {
                    Cell::tone(format!("yes (TOTP authenticator), registered {}", when(at)), true)
                }
                (Some(true), None) => Cell::tone("yes (TOTP authenticator)", true),
                (Some(false), _) => Cell::tone("no", false),
                (None, _) => Cell::plain("unknown (could not be read)"),
            };
            sections.push(Section {
                title: "Sign-in",
                blocks: vec![Block::Facts(vec![("Password set", password), ("Verification method registered", totp)])],
            });
            let defaults = match &user.record_type_defaults {
                None => {
                    vec![Block::Text("The profile's record-type defaults could not be read (see the notes).".into())]
                }
                Some(list) if list.is_empty() => vec![Block::Text("The profile sets no default record type.".into())],
                Some(list) => vec![Block::Table {
                    headers: vec!["Object", "Default record type", "For"],
                    rows: list
                        .iter()
                        .map(|d| {
                            vec![
                                Cell::plain(&d.object),
                                Cell::plain(&d.record_type),
                                Cell::plain(if d.person_accounts { "person accounts" } else { "all records" }),
                            ]
                        })
                        .collect(),
                }],
            };
            sections.push(Section { title: "Record-type defaults of the profile", blocks: defaults });
        }
    }
    let sc = &h.storeconnect;
    let configured = match (&sc.configured_user_id, &sc.configured_username) {
        _ if !sc.installed => Cell::tone("StoreConnect is not installed", false),
        (None, _) => Cell::tone("none", false),
        (Some(id), Some(name)) if sc.configured_is_this_user => Cell::tone(format!("{name} ({id}), this user"), true),
        (Some(id), Some(name)) => Cell::tone(format!("{name} ({id}), another user"), false),
        (Some(id), None) => Cell::tone(format!("{id}, which is no user"), false),
    };
    let mut facts = vec![("Configured sync user", configured)];
    if let Some(at) = &sc.configured_at {
        facts.push(("Configured", Cell::plain(when(at))));
    }
    let mut blocks = vec![Block::Facts(facts)];
    if sc.installed && !sc.configured_is_this_user && h.user.is_some() {
        blocks.push(Block::Text(
            "StoreConnect does not sync as this user yet: change it in StoreConnect's Console (Sync, Change Sync \
             User), or with swap.rhai."
                .into(),
        ));
    }
    sections.push(Section { title: "StoreConnect", blocks });

    let audit = &h.audit;
    let mut blocks = vec![Block::Facts(vec![
        (
            "Result",
            match audit.outcome.as_str() {
                "ok" => Cell::tone("no drift", true),
                "drift" => Cell::tone(format!("{} drift(s)", audit.drift.len()), false),
                other => Cell::tone(other, false),
            },
        ),
        ("Audited", Cell::plain(format!("{} with {}", when(&audit.at), audit.playbook))),
    ])];
    if let Some(failure) = &audit.failure {
        blocks.push(Block::Text(format!("The audit stopped: {failure}")));
    }
    if !audit.drift.is_empty() {
        blocks.push(Block::Table {
            headers: vec!["What", "Field", "Expected", "Found"],
            rows: audit
                .drift
                .iter()
                .map(|d| {
                    vec![
                        Cell::plain(&d.target),
                        Cell::plain(&d.field),
                        Cell::plain(&d.expected),
                        Cell::tone(&d.actual, false),
                    ]
                })
                .collect(),
        });
    }
    sections.push(Section { title: "Last audit", blocks });

    let credentials = match &h.credentials_file {
        None => vec![Block::Text(
            "No credentials file was named (--var credentials_file=…): say here where the sync user's password and \
             TOTP secret are kept."
                .into(),
        )],
        Some(file) => {
            let mut facts = vec![
                ("Kept at", Cell::plain(file.path.display().to_string())),
                ("State", Cell::tone(&file.state, file.state == "present")),
            ];
            if file.state == "present" || file.state == "another user" {
                facts.push(("Holds a password", Cell::tone(yes_no(file.holds_password), file.holds_password)));
                facts.push((
                    "Holds the TOTP secret",
                    Cell::tone(yes_no(file.holds_authenticator), file.holds_authenticator),
                ));
            }
            if let Some(detail) = &file.detail {
                facts.push(("Detail", Cell::plain(detail)));
            }
            vec![
                Block::Facts(facts),
                Block::Text(
                    "The file (mode 0600) holds the secrets; keep it in the client's password manager or vault. \
                     runner credentials show --file FILE prints them for a sign-in."
                        .into(),
                ),
            ]
        }
    };
    sections.push(Section { title: "Credentials", blocks: credentials });
    if !h.notes.is_empty() {
        sections.push(Section { title: "Notes", blocks: h.notes.iter().map(|n| Block::Text(n.clone())).collect() });
    }
    Document { title, lead, sections }
}

pub fn markdown(doc: &Document) -> String {
    let mut out = format!("# {}\n\n{}\n", md(&doc.title), md(&doc.lead));
    for section in &doc.sections {
        out.push_str(&format!("\n## {}\n", section.title));
        for block in &section.blocks {
            out.push('\n');
            match block {
                Block::Facts(facts) => {
                    for (label, cell) in facts {
                        out.push_str(&format!("- **{label}:** {}\n", md_cell(cell)));
                    }
                }
                Block::Table { headers, rows } => {
                    out.push_str(&format!("| {} |\n", headers.join(" | ")));
                    out.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
                    for row in rows {
                        let cells: Vec<String> = row.iter().map(md_cell).collect();
                        out.push_str(&format!("| {} |\n", cells.join(" | ")));
                    }
                }
                Block::Text(text) => out.push_str(&format!("{}\n", md(text))),
            }
        }
    }
    out
}

pub fn html(doc: &Document) -> String {
    let mut body = String::new();
    for section in &doc.sections {
        body.push_str(&format!("<section>\n<h2>{}</h2>\n", esc(section.title)));
        for block in &section.blocks {
            match block {
                Block::Facts(facts) => {
                    body.push_str("<dl>\n");
                    for (label, cell) in facts {
                        body.push_str(&format!(
                            "<dt>{}</dt><dd{}>{}</dd>\n",
                            esc(label),
                            class(cell.tone),
                            esc(&cell.text)
                        ));
                    }
                    body.push_str("</dl>\n");
                }
                Block::Table { headers, rows } => {
                    body.push_str("<table>\n<thead><tr>");
                    for header in headers {
                        body.push_str(&format!("<th>{}</th>", esc(header)));
                    }
                    body.push_str("</tr></thead>\n<tbody>\n");
                    for row in rows {
                        body.push_str("<tr>");
                        for cell in row {
                            body.push_str(&format!("<td{}>{}</td>", class(cell.tone), esc(&cell.text)));
                        }
                        body.push_str("</tr>\n");
                    }
                    body.push_str("</tbody>\n</table>\n");
                }
                Block::Text(text) => body.push_str(&format!("<p>{}</p>\n", esc(text))),
            }
        }
        body.push_str("</section>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n<p class=\"lead\">{lead}</p>\n{body}</main>\n\
         </body>\n</html>\n",
        title = esc(&doc.title),
        lead = esc(&doc.lead),
    )
}

const STYLE: &str = "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f24;margin:0;background:#f6f7f9}\
main{max-width:860px;margin:2rem auto;padding:0 1.25rem 2rem;background:#fff;border:1px solid #d8dde3;border-radius:6px}\
h1{font-size:1.5rem;margin:1.5rem 0 .25rem}h2{font-size:1.1rem;margin:1.75rem 0 .5rem;border-bottom:1px solid #e3e7eb;padding-bottom:.25rem}\
.lead{color:#4a5561}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.25rem;margin:0}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e7eb;overflow-wrap:anywhere}\
th{background:#f0f2f5}.good{color:#116329}.bad{color:#a40e26;font-weight:600}\
@media print{body{background:#fff}main{border:0;margin:0;max-width:none}}";

fn class(tone: Tone) -> &'static str {
    match tone {
        Tone::Plain => "",
        Tone::Good => " class=\"good\"",
        Tone::Bad => " class=\"bad\"",
    }
}

/// Text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text for Markdown: punctuation that would start markup is backslash-escaped, `<` and `>` as entities
/// (renderers pass raw HTML through), and line breaks become spaces so a value stays in its table cell. An `_`
/// between letters or digits starts nothing (CommonMark's flanking rules), so `s_c__storeConnect_Sync` stays
/// readable.
fn md(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '_' if intraword(&chars, i) => out.push(c),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// True when the run of `_` at `at` has a letter or digit on both sides.
fn intraword(chars: &[char], at: usize) -> bool {
    let before = chars[..at].iter().rev().find(|c| **c != '_');
    let after = chars[at..].iter().find(|c| **c != '_');
    matches!((before, after), (Some(b), Some(a)) if b.is_alphanumeric() && a.is_alphanumeric())
}

fn md_cell(cell: &Cell) -> String {
    match cell.tone {
        Tone::Bad => format!("**{}**", md(&cell.text)),
        _ => md(&cell.text),
    }
}

fn yes_no(yes: bool) -> &'static str {
    if yes { "yes" } else { "no" }
}

fn assigned(a: &super::read::Assigned) -> String {
    match &a.since {
        Some(at) => format!("{} ({}), since {}", a.label, a.api_name, when(at)),
        None => format!("{} ({})", a.label, a.api_name),
    }
}

fn optional_when(at: &Option<String>) -> String {
    at.as_deref().map(when).unwrap_or_default()
}

/// A Salesforce or RFC 3339 time (`2026-12-01T19:41:06.595+0000`, `2026-12-01T19:41:06Z`) to the minute, in
/// the zone it was given in; anything else as it came.
fn when(at: &str) -> String {
    let (Some(date), Some(clock)) = (at.get(..10), at.get(11..16)) else { return at.to_string() };
    if at.as_bytes().get(10) != Some(&b'T') {
        return at.to_string();
    }
    let zone = at.get(19..).map(|rest| rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()));
    match zone {
        Some("Z" | "+0000" | "+00:00" | "") | None => format!("{date} {clock} UTC"),
        Some(offset) => format!("{date} {clock} ({offset})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_what_would_be_markup() {
        assert_eq!(esc(r#"<img src=x onerror="a('&')">"#), "&lt;img src=x onerror=&quot;a(&#39;&amp;&#39;)&quot;&gt;");
    }

    #[test]
    fn markdown_keeps_a_value_in_its_cell() {
        assert_eq!(md("a|b\n<c>*d*"), "a\\|b &lt;c&gt;\\*d\\*");
        assert_eq!(md("s_c__storeConnect_Sync"), "s_c__storeConnect_Sync");
        assert_eq!(md("_x_ a_ _b"), "\\_x\\_ a\\_ \\_b");
    }

    #[test]
    fn times_read_to_the_minute() {
        assert_eq!(when("2026-12-01T19:41:06.595+0000"), "2026-12-01 19:41 UTC");
        assert_eq!(when("2026-12-01T19:41:06Z"), "2026-12-01 19:41 UTC");
        assert_eq!(when("2026-12-01T19:41:06.000+1000"), "2026-12-01 19:41 (+1000)");
        assert_eq!(when("yesterday"), "yesterday");
    }
}
