//! Reading provider JSON into typed wire structs, with errors that say what was wrong.
//!
//! Owns: the one entry every stream reader and model listing parses through
//! ([`parse_event`], [`parse_listing`]), the wording of a malformed event (not JSON, not
//! an object, or which field had the wrong type, as a path such as
//! `choices[0].delta.content`), and keeping that wording short and printable whatever
//! the server sent (a 50 MB string in a wrong place is never copied into an error).
//! Each provider module declares its own wire structs: unknown fields are ignored and
//! optional ones are `Option`, so only a field tinychat reads can make an event
//! malformed, and only by having the wrong type.
//!
//! Must not: interpret what the structs say (that is each provider's job) or parse a
//! body twice on the success path.

use serde::de::{DeserializeOwned, IgnoredAny};

use super::{Problem, ProviderError, StreamEvent};

/// The most characters of serde's message kept in an error: enough for the path, the
/// expected type and the start of what came instead.
const DETAIL_CHARS: usize = 200;

/// Why a JSON payload is not the wire struct it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WireError {
    /// Not JSON at all (or cut off); serde's words, with the line and column.
    Syntax(String),
    /// Valid JSON, but not an object.
    NotObject,
    /// An object whose field at `path` is wrong (a wrong type, a missing required
    /// field); `path` is empty for the top level.
    Field { path: String, problem: String },
}

/// Parses `data` as the wire struct `T`, with the path of a wrong field on failure.
///
/// One pass over the bytes on success; only a payload that does not start with `{` is
/// looked at again, to tell "not JSON" from "not an object".
pub(crate) fn parse<T: DeserializeOwned>(data: &[u8]) -> Result<T, WireError> {
    let trimmed = data.trim_ascii_start();
    if !trimmed.starts_with(b"{") {
        return Err(match serde_json::from_slice::<IgnoredAny>(data) {
            Ok(_) => WireError::NotObject,
            Err(e) => WireError::Syntax(short(&e.to_string())),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            WireError::Syntax(short(&inner.to_string()))
        } else {
            WireError::Field {
                path: if path == "." { String::new() } else { path },
                problem: short(&inner.to_string()),
            }
        }
    })?;
    de.end()
        .map_err(|e| WireError::Syntax(short(&e.to_string())))?;
    Ok(value)
}

impl WireError {
    /// The message of a malformed `unit` ("an event", "a line").
    pub(crate) fn describe(&self, unit: &str) -> String {
        match self {
            WireError::Syntax(e) => format!("invalid JSON in {unit}: {e}"),
            WireError::NotObject => format!("{unit} is not a JSON object"),
            WireError::Field { path, problem } if path.is_empty() => {
                format!("{unit} is not the expected object: {problem}")
            }
            WireError::Field { path, problem } => {
                format!("{unit} has a wrong `{path}`: {problem}")
            }
        }
    }
}

/// Every streaming format carries one JSON object per event (an NDJSON line for
/// Ollama, `unit` names which): anything else ends the reply as malformed, and the
/// error is the events to return, so a reader can pass it on as it stands.
pub(crate) fn parse_event<T: DeserializeOwned>(
    provider: &str,
    data: &[u8],
    unit: &str,
) -> Result<T, Vec<StreamEvent>> {
    parse(data).map_err(|e| {
        vec![StreamEvent::Failed(
            Problem::Malformed {
                message: e.describe(unit),
            }
            .at(provider),
        )]
    })
}

/// A model listing parsed as `T`. The error says the body is not `shape`, and which
/// field inside it was wrong when the body had the right outline.
pub(crate) fn parse_listing<T: DeserializeOwned>(
    provider: &str,
    body: &[u8],
    shape: &str,
) -> Result<T, ProviderError> {
    parse(body).map_err(|e| {
        let message = match &e {
            WireError::Field { path, problem } if !path.is_empty() => {
                format!("the model list is not {shape} (`{path}`: {problem})")
            }
            _ => format!("the model list is not {shape}"),
        };
        Problem::Malformed { message }.at(provider)
    })
}

/// `text` cut to [`DETAIL_CHARS`] characters without control characters: serde quotes
/// the unexpected value, which may be anything the server sent.
fn short(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(DETAIL_CHARS)
        .collect();
    if text.chars().nth(DETAIL_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Reads a listing's entries, skipping each one that is not of the entry's shape (an
/// `"id": 5` among two hundred models): one odd entry must not hide the others, and a
/// listing holds nothing a reply depends on. `null` reads as no entries.
pub(crate) fn skip_bad_entries<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize as _;
    let values = Option::<Vec<serde_json::Value>>::deserialize(deserializer)?;
    Ok(values
        .unwrap_or_default()
        .into_iter()
        .filter_map(|value| serde_json::from_value(value).ok())
        .collect())
}

/// Reads an optional field that only informs (a model's window or price): a value of
/// the wrong type reads as absent instead of making the whole entry unreadable, so an
/// odd `"context_length": "128k"` never hides a model from the list.
pub(crate) fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize as _;
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.and_then(|value| serde_json::from_value(value).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        items: Option<Vec<Inner>>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        text: Option<String>,
    }

    #[test]
    fn a_wrong_type_names_its_path_and_what_was_expected() {
        let e = parse::<Outer>(br#"{"items":[{"text":"a"},{"text":3}]}"#).unwrap_err();
        assert_eq!(
            e.describe("an event"),
            "an event has a wrong `items[1].text`: invalid type: integer `3`, expected a string at line 1 column 32"
        );
    }

    #[test]
    fn unknown_fields_and_nulls_are_no_error() {
        assert_eq!(
            parse::<Outer>(br#"{"items":[{"text":null,"new":{"x":[1]}}],"more":true}"#),
            Ok(Outer {
                items: Some(vec![Inner { text: None }])
            })
        );
    }

    #[test]
    fn a_huge_wrong_value_is_cut_short_in_the_error() {
        let mut data = br#"{"items":[{"text":["#.to_vec();
        data.extend(std::iter::repeat_n(b'1', 1_000_000));
        data.extend_from_slice(b"]}]}");
        let message = parse::<Outer>(&data).unwrap_err().describe("an event");
        assert!(message.chars().count() < 300, "{} chars", message.len());
        assert!(
            message.starts_with("an event has a wrong `items[0].text`: "),
            "{message}"
        );
    }

    #[test]
    fn not_json_and_not_an_object_keep_their_words() {
        assert_eq!(
            parse::<Outer>(b"42").unwrap_err().describe("a line"),
            "a line is not a JSON object"
        );
        assert_eq!(
            parse::<Outer>(b"{\"items\":")
                .unwrap_err()
                .describe("an event"),
            "invalid JSON in an event: EOF while parsing a value at line 1 column 9"
        );
        assert_eq!(
            parse::<Outer>(b"{} x").unwrap_err().describe("an event"),
            "invalid JSON in an event: trailing characters at line 1 column 4"
        );
    }

    #[test]
    fn a_listing_error_names_the_shape_and_the_wrong_field() {
        #[derive(Debug, Deserialize)]
        struct List {
            #[allow(dead_code, reason = "only its type is tested")]
            data: Vec<Inner>,
        }
        let e = parse_listing::<List>("p", br#"{"data":[{"text":false}]}"#, "a list").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p: unexpected response: the model list is not a list (`data[0].text`: invalid type: boolean `false`, expected a string at line 1 column 22)"
        );
        let e = parse_listing::<List>("p", br#"{"models":[]}"#, "a list").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p: unexpected response: the model list is not a list"
        );
    }
}
