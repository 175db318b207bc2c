//! Recursive-descent parser for the SOQL subset the sim serves.

use super::ast::{CmpOp, Cond, LitKind, Literal, Name, OrderItem, Path, Select, SelectItem};
use super::error::{ErrorCode, SoqlError};
use super::lexer::{Tok, Token, lex};

/// Salesforce's reserved SOQL keywords: never a field or object name.
const RESERVED: &[&str] = &[
    "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST", "LIKE", "LIMIT",
    "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH", "ORDER", "OFFSET", "TRUE", "FALSE",
];

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    /// A parent-to-child sub-query in the SELECT list.
    Child,
    /// A semi-join or anti-join in WHERE.
    SemiJoin,
}

pub(crate) fn parse_select(text: &str) -> Result<Select, SoqlError> {
    if text.trim().is_empty() {
        return Err(SoqlError::plain(ErrorCode::MalformedQuery, "SOQL statements cannot be empty or null"));
    }
    let mut p = Parser { text, tokens: lex(text), pos: 0 };
    let select = p.select(Level::Top)?;
    p.expect_eof()?;
    Ok(select)
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
}

impl<'t> Parser<'t> {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof and `pos` never passes it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self, t: &Token) -> SoqlError {
        match &t.tok {
            Tok::BadString(msg) => SoqlError::at(ErrorCode::MalformedQuery, self.text, t.start, msg),
            Tok::Colon => {
                SoqlError::at(ErrorCode::MalformedQuery, self.text, t.start, "Bind variables only allowed in Apex code")
            }
            Tok::Eof => SoqlError::at(ErrorCode::MalformedQuery, self.text, t.start, "unexpected token: '<EOF>'"),
            _ => SoqlError::at(
                ErrorCode::MalformedQuery,
                self.text,
                t.start,
                format!("unexpected token: '{}'", &self.text[t.start..t.end]),
            ),
        }
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(w) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let hit = self.is_keyword(kw);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<usize, SoqlError> {
        if self.is_keyword(kw) { Ok(self.bump().start) } else { Err(self.unexpected(self.peek())) }
    }

    fn expect(&mut self, tok: Tok) -> Result<Token, SoqlError> {
        if self.peek().tok == tok { Ok(self.bump()) } else { Err(self.unexpected(self.peek())) }
    }

    fn expect_eof(&mut self) -> Result<(), SoqlError> {
        self.expect(Tok::Eof).map(|_| ())
    }

    /// A plain (undotted, unreserved) name: an object, relationship or alias.
    fn name(&mut self) -> Result<Name, SoqlError> {
        match &self.peek().tok {
            Tok::Ident(w) if !is_reserved(w) && !w.contains('.') => {
                let t = self.bump();
                Ok(Name { text: self.text[t.start..t.end].to_string(), at: t.start })
            }
            _ => Err(self.unexpected(self.peek())),
        }
    }

    /// The object after FROM. The standard objects Group and Order share their names
    /// with the GROUP and ORDER keywords; Salesforce takes them as objects there
    /// (`SELECT Id FROM Group WHERE Type = 'Queue'`, `SELECT Id FROM Order` are
    /// everyday queries).
    fn object_after_from(&mut self) -> Result<Name, SoqlError> {
        match &self.peek().tok {
            Tok::Ident(w) if w.eq_ignore_ascii_case("Group") || w.eq_ignore_ascii_case("Order") => {
                let t = self.bump();
                Ok(Name { text: self.text[t.start..t.end].to_string(), at: t.start })
            }
            _ => self.name(),
        }
    }

    fn path(&mut self) -> Result<Path, SoqlError> {
        match &self.peek().tok {
            Tok::Ident(w) if !is_reserved(w) => {
                let segments: Vec<String> = w.split('.').map(str::to_string).collect();
                if segments.iter().any(String::is_empty) {
                    return Err(self.unexpected(self.peek()));
                }
                let t = self.bump();
                Ok(Path { segments, at: t.start })
            }
            _ => Err(self.unexpected(self.peek())),
        }
    }

    fn select(&mut self, level: Level) -> Result<Select, SoqlError> {
        let at = self.expect_keyword("SELECT")?;
        let mut items = vec![self.select_item(level)?];
        while self.peek().tok == Tok::Comma {
            self.bump();
            items.push(self.select_item(level)?);
        }
        self.expect_keyword("FROM")?;
        let from = self.object_after_from()?;
        let filter = if self.eat_keyword("WHERE") { Some(self.condition()?) } else { None };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                order_by.push(self.order_item()?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        let limit = if self.eat_keyword("LIMIT") { Some(self.integer()?) } else { None };
        let offset = if self.eat_keyword("OFFSET") { Some(self.integer()?) } else { None };
        if level != Level::Top && self.peek().tok != Tok::RParen {
            return Err(self.unexpected(self.peek()));
        }
        Ok(Select { at, items, from, filter, order_by, limit, offset })
    }

    fn integer(&mut self) -> Result<usize, SoqlError> {
        match self.peek().tok {
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 && n < 1e15 => {
                self.bump();
                Ok(n as usize)
            }
            _ => Err(self.unexpected(self.peek())),
        }
    }

    fn select_item(&mut self, level: Level) -> Result<SelectItem, SoqlError> {
        if self.peek().tok == Tok::LParen {
            if level != Level::Top {
                return Err(self.unexpected(self.peek()));
            }
            self.bump();
            let sub = self.select(Level::Child)?;
            self.expect(Tok::RParen)?;
            return Ok(SelectItem::SubQuery(Box::new(sub)));
        }
        if self.is_keyword("COUNT") && self.peek_at(1).tok == Tok::LParen {
            let at = self.bump().start;
            self.bump();
            let arg = if self.peek().tok == Tok::RParen { None } else { Some(self.path()?) };
            self.expect(Tok::RParen)?;
            let alias = match &self.peek().tok {
                Tok::Ident(w) if !is_reserved(w) && !w.contains('.') => Some(self.name()?),
                _ => None,
            };
            return Ok(SelectItem::Count { at, arg, alias });
        }
        let path = self.path()?;
        if self.peek().tok == Tok::LParen {
            // Other functions (SUM, MAX, FORMAT, toLabel …) are not served by the sim.
            return Err(self.unexpected(self.peek()));
        }
        Ok(SelectItem::Field(path))
    }

    fn order_item(&mut self) -> Result<OrderItem, SoqlError> {
        let path = self.path()?;
        let descending = if self.eat_keyword("DESC") {
            true
        } else {
            self.eat_keyword("ASC");
            false
        };
        let nulls_first = if self.eat_keyword("NULLS") {
            if self.eat_keyword("FIRST") {
                Some(true)
            } else {
                self.expect_keyword("LAST")?;
                Some(false)
            }
        } else {
            None
        };
        Ok(OrderItem { path, descending, nulls_first })
    }

    /// `a AND b AND c` or `a OR b OR c`; mixing the two needs parentheses.
    fn condition(&mut self) -> Result<Cond, SoqlError> {
        let first = self.unary()?;
        let joiner = if self.is_keyword("AND") {
            "AND"
        } else if self.is_keyword("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let other = if joiner == "AND" { "OR" } else { "AND" };
        let mut parts = vec![first];
        while self.eat_keyword(joiner) {
            parts.push(self.unary()?);
        }
        if self.is_keyword(other) {
            return Err(self.unexpected(self.peek()));
        }
        Ok(if joiner == "AND" { Cond::And(parts) } else { Cond::Or(parts) })
    }

    fn unary(&mut self) -> Result<Cond, SoqlError> {
        if self.eat_keyword("NOT") {
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.bump();
            let inner = self.condition()?;
            self.expect(Tok::RParen)?;
            return Ok(inner);
        }
        self.simple()
    }

    fn simple(&mut self) -> Result<Cond, SoqlError> {
        let path = self.path()?;
        let t = self.peek().clone();
        let op = match &t.tok {
            Tok::Eq => Some(CmpOp::Eq),
            Tok::Ne => Some(CmpOp::Ne),
            Tok::Lt => Some(CmpOp::Lt),
            Tok::Gt => Some(CmpOp::Gt),
            Tok::Le => Some(CmpOp::Le),
            Tok::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let value = self.literal()?;
            return Ok(Cond::Cmp { path, op, value });
        }
        if self.eat_keyword("LIKE") {
            let pattern = self.literal()?;
            return Ok(Cond::Like { path, pattern });
        }
        if self.eat_keyword("IN") {
            return self.in_list(path, false);
        }
        if self.is_keyword("NOT") && matches!(&self.peek_at(1).tok, Tok::Ident(w) if w.eq_ignore_ascii_case("IN")) {
            self.bump();
            self.bump();
            return self.in_list(path, true);
        }
        if self.is_keyword("INCLUDES") || self.is_keyword("EXCLUDES") {
            return Err(SoqlError::at(
                ErrorCode::MalformedQuery,
                self.text,
                t.start,
                "includes or excludes operator only valid on multipicklist field",
            ));
        }
        Err(self.unexpected(&t))
    }

    fn in_list(&mut self, path: Path, negated: bool) -> Result<Cond, SoqlError> {
        self.expect(Tok::LParen)?;
        if self.is_keyword("SELECT") {
            let query = self.select(Level::SemiJoin)?;
            self.expect(Tok::RParen)?;
            return Ok(Cond::SemiJoin { path, negated, query: Box::new(query) });
        }
        let mut values = vec![self.literal()?];
        while self.peek().tok == Tok::Comma {
            self.bump();
            values.push(self.literal()?);
        }
        self.expect(Tok::RParen)?;
        Ok(Cond::In { path, negated, values })
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let t = self.peek().clone();
        let kind = match &t.tok {
            Tok::Str(s) => LitKind::Str(s.clone()),
            Tok::Num(n) => LitKind::Num(*n),
            Tok::Date(d) => LitKind::Date(*d),
            Tok::DateTime(s) => LitKind::DateTime(*s),
            Tok::Minus | Tok::Plus => {
                let sign = if t.tok == Tok::Minus { -1.0 } else { 1.0 };
                match self.peek_at(1).tok {
                    Tok::Num(n) if self.peek_at(1).start == t.end => {
                        self.bump();
                        LitKind::Num(sign * n)
                    }
                    _ => return Err(self.unexpected(&t)),
                }
            }
            Tok::Ident(w) => match w.to_ascii_uppercase().as_str() {
                "TRUE" => LitKind::Bool(true),
                "FALSE" => LitKind::Bool(false),
                "NULL" => LitKind::Null,
                "TODAY" => LitKind::RelativeDay(0),
                "YESTERDAY" => LitKind::RelativeDay(-1),
                "TOMORROW" => LitKind::RelativeDay(1),
                _ => return Err(self.unexpected(&t)),
            },
            _ => return Err(self.unexpected(&t)),
        };
        self.bump();
        Ok(Literal { kind, at: t.start })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse_select(text) {
            Ok(q) => panic!("parsed {text:?}: {q:?}"),
            Err(e) => e.message(),
        }
    }

    #[test]
    fn full_grammar_parses() {
        let q = parse_select(
            "select Id, Profile.UserLicense.Name, COUNT(Id) n, (SELECT PermissionSetId FROM PermissionSetAssignments \
             WHERE PermissionSet.Name LIKE 'S%' ORDER BY Id LIMIT 3) FROM User \
             WHERE (IsActive = TRUE OR Name != null) AND NOT Name IN ('a', 'b') AND Id NOT IN (SELECT AssigneeId FROM PermissionSetAssignment) \
             AND Age >= -3.5 AND CreatedDate = TODAY AND LastLoginDate > 2024-01-01T00:00:00Z \
             ORDER BY Name DESC NULLS LAST, Id ASC LIMIT 10 OFFSET 5",
        )
        .expect("parses");
        assert_eq!(q.items.len(), 4);
        assert_eq!(q.from.text, "User");
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.offset, Some(5));
        assert_eq!(q.order_by.len(), 2);
        assert!(q.order_by[0].descending);
        assert_eq!(q.order_by[0].nulls_first, Some(false));
        let Some(Cond::And(parts)) = &q.filter else { panic!("{:?}", q.filter) };
        assert_eq!(parts.len(), 6);
        assert!(matches!(&parts[0], Cond::Or(v) if v.len() == 2));
        assert!(matches!(&parts[1], Cond::Not(_)));
        assert!(matches!(&parts[2], Cond::SemiJoin { negated: true, .. }));
        assert!(matches!(&parts[3], Cond::Cmp { value: Literal { kind: LitKind::Num(n), .. }, .. } if *n == -3.5));
        assert!(matches!(&parts[4], Cond::Cmp { value: Literal { kind: LitKind::RelativeDay(0), .. }, .. }));
        let SelectItem::Count { alias: Some(alias), .. } = &q.items[2] else { panic!() };
        assert_eq!(alias.text, "n");
    }

    #[test]
    fn syntax_errors_carry_the_caret() {
        assert_eq!(
            err("SELECT Id FORM Account"),
            "\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FORM'"
        );
        assert!(err("SELECT Id FROM").ends_with("ERROR at Row:1:Column:15\nunexpected token: '<EOF>'"));
        assert!(err("SELECT * FROM Account").ends_with("unexpected token: '*'"));
        assert!(err("SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3").ends_with("unexpected token: 'OR'"));
        assert!(err("SELECT Id FROM Account WHERE A = :x").ends_with("Bind variables only allowed in Apex code"));
        assert!(err("SELECT Id FROM Account LIMIT 5 WHERE A = 1").ends_with("unexpected token: 'WHERE'"));
        assert!(err("SELECT Id FROM Account WHERE Tags INCLUDES ('a')").contains("multipicklist"));
        assert!(err("SELECT Id, (SELECT Id, (SELECT Id FROM B) FROM C) FROM A").ends_with("unexpected token: '('"));
        assert!(err("SELECT Id FROM Account WHERE Name = 'a\\qb'").contains("Illegal character sequence '\\q'"));
        assert_eq!(
            parse_select("  ").map_err(|e| (e.error_code(), e.message())),
            Err(("MALFORMED_QUERY", "SOQL statements cannot be empty or null".to_string()))
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_rows_are_counted() {
        assert!(parse_select("sElEcT id fRoM account wHeRe name lIkE 'x' oRdEr bY id lImIt 1").is_ok());
        let e = err("SELECT Id\nFROM Account\nWHERE");
        assert!(e.contains("ERROR at Row:3:Column:6"), "{e}");
    }
}
