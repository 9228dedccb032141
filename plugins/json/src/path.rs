//! Paths for `query`: JSON Pointers (RFC 6901) and a small dotted syntax.

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// An object key (a key made of digits also indexes arrays).
    Key(String),
    /// An array index; negative counts from the end.
    Index(i64),
    /// Every key or element.
    Wildcard,
}

/// Parse a path: "" or "/..." is a JSON Pointer; anything else is dotted
/// (`$`, `a.b`, `a[0]`, `a[-1]`, `a[*]`, `a.*`, `a['k']`, `a["k"]`).
pub fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    if path.is_empty() || path.starts_with('/') {
        return parse_pointer(path);
    }
    Dotted {
        chars: path.chars().collect(),
        pos: 0,
    }
    .parse()
}

fn parse_pointer(pointer: &str) -> Result<Vec<Segment>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    pointer
        .split('/')
        .skip(1)
        .map(|token| {
            let mut key = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    key.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => key.push('~'),
                    Some('1') => key.push('/'),
                    _ => {
                        return Err(format!(
                            "invalid JSON Pointer {pointer:?}: `~` must be followed by 0 or 1"
                        ));
                    }
                }
            }
            Ok(Segment::Key(key))
        })
        .collect()
}

struct Dotted {
    chars: Vec<char>,
    pos: usize,
}

impl Dotted {
    fn error(&self, what: &str) -> String {
        let path: String = self.chars.iter().collect();
        format!("invalid path {path:?} at position {}: {what}", self.pos)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn parse(mut self) -> Result<Vec<Segment>, String> {
        let mut segments = Vec::new();
        if self.peek() == Some('$') {
            self.pos += 1;
        }
        let mut first = segments.is_empty() && self.pos == 0;
        while let Some(c) = self.peek() {
            match c {
                '.' => {
                    self.pos += 1;
                    segments.push(self.name()?);
                }
                '[' => {
                    self.pos += 1;
                    segments.push(self.bracket()?);
                }
                _ if first => segments.push(self.name()?),
                _ => return Err(self.error("expected `.` or `[`")),
            }
            first = false;
        }
        Ok(segments)
    }

    fn name(&mut self) -> Result<Segment, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '.' || c == '[' {
                break;
            }
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        match name.as_str() {
            "" => Err(self.error("expected a key name")),
            "*" => Ok(Segment::Wildcard),
            _ => Ok(Segment::Key(name)),
        }
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        let segment = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some(quote @ ('\'' | '"')) => {
                self.pos += 1;
                Segment::Key(self.quoted(quote)?)
            }
            Some(_) => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c != ']') {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                let index = text.trim().parse::<i64>().map_err(|_| {
                    self.error("expected an index, `*` or a quoted key inside `[...]`")
                })?;
                Segment::Index(index)
            }
            None => return Err(self.error("unclosed `[`")),
        };
        if self.peek() != Some(']') {
            return Err(self.error("expected `]`"));
        }
        self.pos += 1;
        Ok(segment)
    }

    fn quoted(&mut self, quote: char) -> Result<String, String> {
        let mut key = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unclosed quote")),
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(key);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => key.push(c),
                        None => return Err(self.error("unfinished escape")),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    key.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::*;

    fn key(k: &str) -> Segment {
        Key(k.to_owned())
    }

    #[test]
    fn pointers() {
        assert_eq!(parse_path(""), Ok(vec![]));
        assert_eq!(parse_path("/"), Ok(vec![key("")]));
        assert_eq!(
            parse_path("/a~1b/~0/0"),
            Ok(vec![key("a/b"), key("~"), key("0")])
        );
        assert!(parse_path("/a~2").is_err());
    }

    #[test]
    fn dotted() {
        assert_eq!(parse_path("$"), Ok(vec![]));
        assert_eq!(parse_path("a.b"), Ok(vec![key("a"), key("b")]));
        assert_eq!(parse_path("$.a[0]"), Ok(vec![key("a"), Index(0)]));
        assert_eq!(
            parse_path("a[-2][*].*"),
            Ok(vec![key("a"), Index(-2), Wildcard, Wildcard])
        );
        assert_eq!(parse_path("*"), Ok(vec![Wildcard]));
        assert_eq!(
            parse_path("['x.y'][\"q\\\"\"]"),
            Ok(vec![key("x.y"), key("q\"")])
        );
        assert_eq!(parse_path("$['a']"), Ok(vec![key("a")]));
        assert_eq!(parse_path("[0]"), Ok(vec![Index(0)]));
        for bad in ["a..b", "a.", "a[", "a[x]", "a['x", "a[0", "$x", "a[0]b"] {
            let err = parse_path(bad);
            assert!(
                matches!(&err, Err(m) if m.contains("position")),
                "{bad}: {err:?}"
            );
        }
    }
}
