//! The model's tokenizer, built from the GGUF's own metadata so a model file is all a
//! local chat needs: no `tokenizer.json` to download, and ids that equal llama.cpp's
//! for the same file (the weights were trained against exactly those ids).
//!
//! Two vocabulary kinds are supported, as `tokenizer.ggml.model` names them:
//!
//! * `gpt2`: byte-level BPE. The text is cut into words by the regexes llama.cpp uses for
//!   the file's `tokenizer.ggml.pre`, each word's bytes become the GPT-2 "byte to
//!   unicode" characters, and `tokenizer.ggml.merges` are applied lowest rank first.
//! * `llama`: SentencePiece (Llama 2, Mistral). Spaces become `▁`, a space is put in
//!   front of the text (`tokenizer.ggml.add_space_prefix`), and adjacent pieces are
//!   merged highest `tokenizer.ggml.scores` first; what no vocabulary entry covers is
//!   written as `<0xXX>` byte tokens.
//!
//! Special tokens are cut out of the text before either runs, in one left-to-right
//! scan: control tokens only when asked ([`Tokenizer::encode_with_special`], for a
//! rendered chat template), user-defined ones always (llama.cpp does the same), so
//! text a user typed can never become `<|im_end|>`.
//!
//! Where this differs from llama.cpp (all rare, none seen in real files): overlapping
//! special tokens are matched leftmost-longest rather than longest-anywhere-first; a
//! BPE merge whose result is not in the vocabulary is ignored; detokenizing does not
//! apply llama.cpp's `clean_spaces` rules (so `decode` gives back exactly the text).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use tokenizers::utils::SysRegex;

use super::LocalError;
use super::gguf::Metadata;

/// The texts llama.cpp treats as "end of generation" whatever the file's ids say, so a
/// model whose metadata names only `<|endoftext|>` still stops at `<|im_end|>`.
const END_OF_TURN_TEXTS: &[&str] = &[
    "<|im_end|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end_of_text|>",
    "<|endoftext|>",
    "<end_of_turn>",
    "<|end|>",
    "</s>",
    "<|return|>",
    "<|call|>",
    "<EOT>",
    "<end_of_utterance>",
    "<｜end▁of▁sentence｜>",
];

/// SentencePiece's visible space.
const SPM_SPACE: &str = "\u{2581}";

/// What a vocabulary entry is (`tokenizer.ggml.token_type`, llama.cpp's numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
    Undefined,
}

impl Kind {
    fn from_gguf(t: i64) -> Kind {
        match t {
            1 => Kind::Normal,
            2 => Kind::Unknown,
            3 => Kind::Control,
            4 => Kind::UserDefined,
            5 => Kind::Unused,
            6 => Kind::Byte,
            _ => Kind::Undefined,
        }
    }
}

/// A tokenizer for one model: immutable once built, so one instance serves every
/// conversation and thread (`Send + Sync`).
pub struct Tokenizer {
    texts: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
    kinds: Vec<Kind>,
    /// What each token decodes to, concatenated; token `i` is
    /// `piece_bytes[piece_ends[i - 1]..piece_ends[i]]` (empty for control tokens).
    piece_bytes: Vec<u8>,
    piece_ends: Vec<u32>,
    model: Model,
    specials: Specials,
    bos: Option<u32>,
    eos: Option<u32>,
    add_bos: bool,
    end_of_turn: Vec<u32>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field(
                "model",
                &match self.model {
                    Model::Bpe(_) => "gpt2",
                    Model::Spm(_) => "llama",
                },
            )
            .field("vocab_size", &self.texts.len())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("add_bos", &self.add_bos)
            .field("end_of_turn", &self.end_of_turn)
            .finish_non_exhaustive()
    }
}

enum Model {
    Bpe(Box<Bpe>),
    Spm(Box<Spm>),
}

impl Tokenizer {
    /// Builds the tokenizer from `tokenizer.ggml.*`; every missing or unusable key is an
    /// error that names it, because a model with a wrong tokenizer only babbles.
    pub fn from_metadata(md: &Metadata<'_>) -> Result<Tokenizer, LocalError> {
        let model_name = md.string("tokenizer.ggml.model")?;
        let is_spm = match model_name {
            "gpt2" => false,
            "llama" => true,
            other => {
                return Err(LocalError::Tokenizer(format!(
                    "tokenizer model `{other}` is not supported (supported: gpt2, llama)"
                )));
            }
        };
        let words = md.strings("tokenizer.ggml.tokens")?;
        if words.is_empty() {
            return Err(LocalError::Tokenizer(
                "`tokenizer.ggml.tokens` is empty".to_owned(),
            ));
        }
        if u32::try_from(words.len()).is_err() {
            return Err(LocalError::Tokenizer("vocabulary too large".to_owned()));
        }
        let mut kinds = token_kinds(*md, words.len())?;

        let texts: Vec<Arc<str>> = words.iter().map(|&w| Arc::from(w)).collect();
        let ids = lookup_table(&texts);

        let vocab_size = texts.len();
        let token_id = |key: &str| -> Result<Option<u32>, LocalError> {
            Ok(md.opt_uint(key)?.and_then(|id| {
                if usize::try_from(id).is_ok_and(|i| i < vocab_size) {
                    Some(id as u32)
                } else {
                    tracing::warn!(
                        key,
                        id,
                        vocab_size,
                        "special token id out of range, ignored"
                    );
                    None
                }
            }))
        };
        let bos = match token_id("tokenizer.ggml.bos_token_id")? {
            Some(id) => Some(id),
            // llama.cpp's SentencePiece defaults: <unk> 0, <s> 1, </s> 2.
            None if is_spm && vocab_size > 1 => Some(1),
            None => None,
        };
        let eos = match token_id("tokenizer.ggml.eos_token_id")? {
            Some(id) => Some(id),
            None if is_spm && vocab_size > 2 => Some(2),
            None => None,
        };
        let unk = token_id("tokenizer.ggml.unknown_token_id")?;

        let (model, default_add_bos) = if is_spm {
            let add_space_prefix = md
                .opt_bool("tokenizer.ggml.add_space_prefix")?
                .unwrap_or(true);
            (
                Model::Spm(Box::new(Spm::new(
                    *md,
                    &ids,
                    vocab_size,
                    add_space_prefix,
                    unk,
                )?)),
                true,
            )
        } else {
            let pre = md.opt_string("tokenizer.ggml.pre")?;
            let spec = PreTokenizer::for_name(pre);
            (
                Model::Bpe(Box::new(Bpe::new(*md, &ids, &spec)?)),
                spec.add_bos,
            )
        };

        let extra_ends = [
            eos,
            token_id("tokenizer.ggml.eot_token_id")?,
            token_id("tokenizer.ggml.eom_token_id")?,
        ];
        let end_of_turn = end_of_turn_ids(&ids, &mut kinds, extra_ends.into_iter().flatten());

        let add_bos = md
            .opt_bool("tokenizer.ggml.add_bos_token")?
            .unwrap_or(default_add_bos);
        if add_bos && bos.is_none() {
            tracing::warn!("tokenizer asks for a BOS token but names none; none is added");
        }

        let (piece_bytes, piece_ends) = decoded_pieces(&texts, &kinds, is_spm);
        let specials = Specials::new(&texts, &kinds);
        Ok(Tokenizer {
            texts,
            ids,
            kinds,
            piece_bytes,
            piece_ends,
            model,
            specials,
            bos,
            eos,
            add_bos: add_bos && bos.is_some(),
            end_of_turn,
        })
    }

    /// Tokenizes text a person wrote: control tokens spelled out in it stay text, so a
    /// message cannot end the turn or forge a role. User-defined tokens (type 4, e.g.
    /// Qwen's `<tool_call>`) are still matched, because the model was trained that way.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LocalError> {
        Ok(self.encode_impl(text, false))
    }

    /// Tokenizes a rendered chat template, where `<|im_start|>` and the like are meant:
    /// control, user-defined and unknown tokens written literally become their ids.
    pub fn encode_with_special(&self, text: &str) -> Result<Vec<u32>, LocalError> {
        Ok(self.encode_impl(text, true))
    }

    fn encode_impl(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        let mut prev_special = true;
        self.specials
            .split(text, parse_special, |fragment| match fragment {
                Fragment::Text(t) => {
                    match &self.model {
                        Model::Bpe(bpe) => bpe.encode(self, t, &mut out),
                        Model::Spm(spm) => spm.encode(self, t, prev_special, &mut out),
                    }
                    prev_special = false;
                }
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
            });
        out
    }

    /// The BOS id, when the model has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    /// Whether a prompt must start with BOS (`tokenizer.ggml.add_bos_token`; when absent,
    /// llama.cpp's defaults: true for SentencePiece and the llama3 BPE family, false for
    /// other BPE). Callers skip it when the rendered prompt already starts with BOS.
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// The BOS token's text, for the chat template's `bos_token`.
    pub fn bos_text(&self) -> Option<&str> {
        self.bos.and_then(|id| self.token_text(id))
    }

    /// The EOS token's text, for the chat template's `eos_token`.
    pub fn eos_text(&self) -> Option<&str> {
        self.eos.and_then(|id| self.token_text(id))
    }

    /// The ids that end the assistant's turn: the file's EOS/EOT/EOM ids plus every
    /// token spelled like a known end marker (`<|im_end|>`, `<|eot_id|>`, …), because
    /// GGUF conversions often name only one of the model's several stop tokens.
    pub fn end_of_turn_ids(&self) -> Vec<u32> {
        self.end_of_turn.clone()
    }

    /// Whether `id` ends the assistant's turn (see [`Tokenizer::end_of_turn_ids`]).
    pub fn is_end_of_turn(&self, id: u32) -> bool {
        self.end_of_turn.binary_search(&id).is_ok()
    }

    /// The number of tokens: the length of the model's output logits.
    pub fn vocab_size(&self) -> usize {
        self.texts.len()
    }

    /// The vocabulary entry as the file spells it (GPT-2 byte characters, `▁`, …).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.texts.get(id as usize).map(AsRef::as_ref)
    }

    /// Whether `id` is a control token (never shown, never produced from user text).
    pub fn is_control(&self, id: u32) -> bool {
        matches!(
            self.kinds.get(id as usize),
            Some(Kind::Control | Kind::Unknown)
        )
    }

    /// The bytes `id` stands for in text (empty for control tokens and unknown ids).
    fn piece(&self, id: u32) -> &[u8] {
        let i = id as usize;
        if i >= self.piece_ends.len() {
            return &[];
        }
        let start = if i == 0 {
            0
        } else {
            self.piece_ends[i - 1] as usize
        };
        &self.piece_bytes[start..self.piece_ends[i] as usize]
    }

    /// Whether decoding drops the one space the SentencePiece encoder puts in front.
    fn strips_leading_space(&self) -> bool {
        matches!(&self.model, Model::Spm(spm) if spm.add_space_prefix)
    }

    /// The text of `ids`, control tokens left out; bytes that are not UTF-8 become
    /// U+FFFD. For SentencePiece the space [`Tokenizer::encode`] put in front is
    /// dropped again, so decoding gives back what was encoded.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut stream = TokenText::new(self);
        let mut out = String::new();
        for &id in ids {
            out.push_str(&stream.push(id));
        }
        out.push_str(&stream.finish());
        out
    }
}

/// Turns generated ids into text as they arrive. A character whose bytes are spread over
/// several byte tokens (common for emoji and CJK) is emitted once complete, never as
/// U+FFFD halves; control tokens produce nothing. It borrows the tokenizer: one reply
/// is one `TokenText`, the tokenizer (e.g. behind an `Arc`) outlives it.
///
/// With SentencePiece and `add_space_prefix`, one leading space is dropped from the
/// first piece of text, as Hugging Face's decoder does: a reply's first token is
/// usually `▁Word`, and the space only marks a word start. (llama.cpp's `detokenize`
/// strips it from the first token too, but not after a BOS; its per-token streaming
/// does not strip at all.)
#[derive(Debug)]
pub struct TokenText<'a> {
    tokenizer: &'a Tokenizer,
    pending: Vec<u8>,
    /// Whether text has been produced yet (the SentencePiece space prefix is dropped
    /// from the first piece of text only).
    started: bool,
}

impl<'a> TokenText<'a> {
    pub fn new(tokenizer: &'a Tokenizer) -> Self {
        TokenText {
            tokenizer,
            pending: Vec::new(),
            started: false,
        }
    }

    /// Adds one token; returns the text that became complete (possibly empty).
    pub fn push(&mut self, id: u32) -> String {
        let mut bytes = self.tokenizer.piece(id);
        if bytes.is_empty() {
            return String::new();
        }
        if !self.started {
            self.started = true;
            if self.tokenizer.strips_leading_space() && bytes.first() == Some(&b' ') {
                bytes = &bytes[1..];
            }
        }
        self.pending.extend_from_slice(bytes);
        self.drain_complete()
    }

    /// Flushes what is left at the end of the reply: an incomplete character becomes
    /// U+FFFD.
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }

    fn drain_complete(&mut self) -> String {
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    if let Ok(s) = std::str::from_utf8(&self.pending[..valid]) {
                        out.push_str(s);
                    }
                    match e.error_len() {
                        // A character cut short: wait for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }
}

/// Text → id for every non-empty entry; the first of two equal entries wins, as in
/// llama.cpp's lookup table.
fn lookup_table(texts: &[Arc<str>]) -> HashMap<Arc<str>, u32> {
    let mut ids = HashMap::with_capacity(texts.len());
    for (id, text) in texts.iter().enumerate() {
        if !text.is_empty() {
            ids.entry(Arc::clone(text)).or_insert(id as u32);
        }
    }
    ids
}

/// `tokenizer.ggml.token_type`, or all normal when the file has none (as llama.cpp).
fn token_kinds(md: Metadata<'_>, vocab_size: usize) -> Result<Vec<Kind>, LocalError> {
    if md.get("tokenizer.ggml.token_type").is_none() {
        return Ok(vec![Kind::Normal; vocab_size]);
    }
    let types = md.ints("tokenizer.ggml.token_type")?;
    if types.len() < vocab_size {
        return Err(LocalError::Tokenizer(format!(
            "`tokenizer.ggml.token_type` has {} entries for {vocab_size} tokens",
            types.len()
        )));
    }
    Ok(types[..vocab_size]
        .iter()
        .map(|&t| Kind::from_gguf(t))
        .collect())
}

/// The sorted end-of-turn ids: `named` plus every known end marker in the vocabulary,
/// which are made control tokens on the way (see [`Tokenizer::end_of_turn_ids`]).
fn end_of_turn_ids(
    ids: &HashMap<Arc<str>, u32>,
    kinds: &mut [Kind],
    named: impl Iterator<Item = u32>,
) -> Vec<u32> {
    let mut end_of_turn: Vec<u32> = named.collect();
    let harmony = ids.contains_key("<|return|>") && ids.contains_key("<|call|>");
    for text in END_OF_TURN_TEXTS {
        // gpt-oss ends a message with <|end|> but a turn with <|return|> (llama.cpp
        // makes the same exception).
        if harmony && *text == "<|end|>" {
            continue;
        }
        if let Some(&id) = ids.get(*text) {
            end_of_turn.push(id);
            // A marker written as a plain token would be produced from user text and
            // printed in replies; llama.cpp treats it as control, and so do we.
            kinds[id as usize] = Kind::Control;
        }
    }
    end_of_turn.sort_unstable();
    end_of_turn.dedup();
    end_of_turn
}

/// Builds each token's decoded bytes: what llama.cpp's `token_to_piece` gives without
/// `special`.
fn decoded_pieces(texts: &[Arc<str>], kinds: &[Kind], is_spm: bool) -> (Vec<u8>, Vec<u32>) {
    let unicode_to_byte = unicode_to_byte_table();
    let mut bytes = Vec::with_capacity(texts.len() * 6);
    let mut ends = Vec::with_capacity(texts.len());
    for (text, kind) in texts.iter().zip(kinds) {
        match kind {
            Kind::UserDefined => bytes.extend_from_slice(text.as_bytes()),
            Kind::Byte => {
                if let Some(b) = parse_byte_token(text) {
                    bytes.push(b);
                }
            }
            Kind::Normal if is_spm => {
                bytes.extend_from_slice(text.replace(SPM_SPACE, " ").as_bytes());
            }
            Kind::Normal => {
                for c in text.chars() {
                    if let Some(b) = unicode_to_byte.get(c as usize).copied().flatten() {
                        bytes.push(b);
                    } else {
                        // Not a GPT-2 byte character: keep the character itself.
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
            Kind::Control | Kind::Unknown | Kind::Unused | Kind::Undefined => {}
        }
        ends.push(bytes.len() as u32);
    }
    (bytes, ends)
}

/// `<0x0A>` → 0x0A.
fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// GPT-2's byte-to-character table: printable Latin-1 bytes stand for themselves, the
/// other 68 bytes for U+0100… in byte order, so every byte is a visible character.
fn byte_to_unicode_table() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
        let code = if printable {
            u32::from(b)
        } else {
            let c = next;
            next += 1;
            c
        };
        table[usize::from(b)] = char::from_u32(code).unwrap_or('\0');
    }
    table
}

/// The inverse of [`byte_to_unicode_table`], indexed by code point.
fn unicode_to_byte_table() -> Vec<Option<u8>> {
    let mut table = vec![None; 256 + 68];
    for (b, c) in byte_to_unicode_table().iter().enumerate() {
        if let Some(slot) = table.get_mut(*c as usize) {
            *slot = Some(b as u8);
        }
    }
    table
}

// ---------------------------------------------------------------------------------
// Special tokens

/// One piece of the text after special tokens are cut out.
enum Fragment<'t> {
    Text(&'t str),
    Token(u32),
}

/// A byte trie of the special tokens' texts, so the text is scanned once whatever the
/// number of specials (Llama 3 has 256): at each position the longest token is taken.
struct Specials {
    nodes: Vec<TrieNode>,
    /// Bytes some special token starts with: every other position is skipped at once.
    first_bytes: [bool; 256],
}

#[derive(Default)]
struct TrieNode {
    /// Sorted by byte.
    edges: Vec<(u8, u32)>,
    /// The token ending here, and whether it is matched in plain text too.
    token: Option<(u32, bool)>,
}

impl Specials {
    fn new(texts: &[Arc<str>], kinds: &[Kind]) -> Specials {
        let mut nodes = vec![TrieNode::default()];
        let mut first_bytes = [false; 256];
        for (id, (text, kind)) in texts.iter().zip(kinds).enumerate() {
            let always = match kind {
                Kind::UserDefined => true,
                Kind::Control | Kind::Unknown => false,
                _ => continue,
            };
            let Some(&first) = text.as_bytes().first() else {
                continue;
            };
            first_bytes[usize::from(first)] = true;
            let mut node = 0usize;
            for &b in text.as_bytes() {
                node = match nodes[node].edges.binary_search_by_key(&b, |e| e.0) {
                    Ok(i) => nodes[node].edges[i].1 as usize,
                    Err(i) => {
                        let child = nodes.len();
                        nodes.push(TrieNode::default());
                        nodes[node].edges.insert(i, (b, child as u32));
                        child
                    }
                };
            }
            // The first of two equal texts wins.
            if nodes[node].token.is_none() {
                nodes[node].token = Some((id as u32, always));
            }
        }
        Specials { nodes, first_bytes }
    }

    /// The longest special token at the start of `bytes`: (id, length).
    fn longest_at(&self, bytes: &[u8], parse_special: bool) -> Option<(u32, usize)> {
        let mut node = 0usize;
        let mut best = None;
        for (i, &b) in bytes.iter().enumerate() {
            let edges = &self.nodes[node].edges;
            match edges.binary_search_by_key(&b, |e| e.0) {
                Ok(k) => node = edges[k].1 as usize,
                Err(_) => break,
            }
            if let Some((id, always)) = self.nodes[node].token
                && (always || parse_special)
            {
                best = Some((id, i + 1));
            }
        }
        best
    }

    /// Calls `f` with the text between special tokens and with each token, in order.
    fn split<'t>(&self, text: &'t str, parse_special: bool, mut f: impl FnMut(Fragment<'t>)) {
        let bytes = text.as_bytes();
        let mut start = 0;
        let mut pos = 0;
        while pos < bytes.len() {
            if self.first_bytes[usize::from(bytes[pos])]
                && let Some((id, len)) = self.longest_at(&bytes[pos..], parse_special)
            {
                // Token texts are UTF-8 and start with a lead byte, so `pos` and
                // `pos + len` are character boundaries.
                if start < pos {
                    f(Fragment::Text(&text[start..pos]));
                }
                f(Fragment::Token(id));
                pos += len;
                start = pos;
                continue;
            }
            pos += 1;
        }
        if start < bytes.len() {
            f(Fragment::Text(&text[start..]));
        }
    }
}

// ---------------------------------------------------------------------------------
// Byte-level BPE

/// llama.cpp's GPT-2 word regex (also the second stage of the StarCoder family).
const RE_GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Llama 3's word regex, with llama.cpp's spelled-out case-insensitive contractions.
const RE_LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's: Llama 3's with single digits.
const RE_QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen3.5's: Qwen2's with combining marks kept in words.
const RE_QWEN35: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Mistral's Tekken, as llama.cpp adapts it (upper-then-lower letter runs).
const RE_TEKKEN: &str = r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// How a `tokenizer.ggml.pre` value cuts text into words, and the flags llama.cpp ties
/// to it.
struct PreTokenizer {
    /// Applied in order, each to every piece the previous one produced (matches and the
    /// text between them both become pieces).
    regexes: &'static [&'static str],
    /// Llama 3 style: a word that is a whole vocabulary entry is taken as is.
    ignore_merges: bool,
    add_bos: bool,
}

impl PreTokenizer {
    fn for_name(pre: Option<&str>) -> PreTokenizer {
        let (regexes, ignore_merges, add_bos): (&'static [&'static str], bool, bool) = match pre {
            Some(
                "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral"
                | "midm-2.0" | "lfm2" | "jina-v5-nano",
            ) => (&[RE_LLAMA3], true, true),
            Some("dbrx" | "smaug-bpe" | "glm4" | "chatglm-bpe") => (&[RE_LLAMA3], false, false),
            Some(
                "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "megrez" | "stablelm2"
                | "hunyuan" | "solar-open",
            ) => (&[RE_QWEN2], false, false),
            Some("qwen35") => (&[RE_QWEN35], false, false),
            Some("tekken") => (&[RE_TEKKEN], true, true),
            Some(
                "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone"
                | "minerva-7b" | "mellum2",
            ) => (&[r"\p{N}", RE_GPT2], false, false),
            Some(
                "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es"
                | "jina-v2-de" | "a.x-4.0" | "mellum" | "modern-bert" | "mpt" | "olmo" | "jais"
                | "trillion" | "granite-docling" | "exaone4" | "jina-v1-en" | "jina-v2-code"
                | "roberta-bpe",
            ) => (&[RE_GPT2], false, false),
            None | Some("default") => (
                &[
                    r"[\p{P}\$\+<=>\^~\|]+",
                    RE_GPT2,
                    r"\p{N}+",
                    r"[0-9][0-9][0-9]",
                ],
                false,
                false,
            ),
            Some(other) => {
                tracing::warn!(
                    pre = other,
                    "unknown tokenizer.ggml.pre; using the GPT-2 word regex, ids may differ from the model's"
                );
                (&[RE_GPT2], false, false)
            }
        };
        PreTokenizer {
            regexes,
            ignore_merges,
            add_bos,
        }
    }
}

/// A hasher for merge keys (two ids packed in a u64): the std SipHash would be a good
/// part of the encoding time, and the keys are not attacker-chosen hash-flooding food
/// (they come from the model file).
#[derive(Default)]
struct PairHasher(u64);

impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        // fxhash-style multiply, then fold the high bits down for the table index.
        let h = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

type MergeMap = HashMap<u64, (u32, u32), BuildHasherDefault<PairHasher>>;

fn pair_key(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

struct Bpe {
    splitters: Vec<SysRegex>,
    /// (left id, right id) → (rank, merged id).
    merges: MergeMap,
    /// The token of each single byte (its GPT-2 character).
    byte_ids: [Option<u32>; 256],
    byte_chars: [char; 256],
    ignore_merges: bool,
}

impl Bpe {
    fn new(
        md: Metadata<'_>,
        ids: &HashMap<Arc<str>, u32>,
        spec: &PreTokenizer,
    ) -> Result<Bpe, LocalError> {
        let byte_chars = byte_to_unicode_table();
        let mut byte_ids = [None; 256];
        let mut buf = [0u8; 4];
        for (slot, c) in byte_ids.iter_mut().zip(byte_chars) {
            *slot = ids.get(&*c.encode_utf8(&mut buf)).copied();
        }
        let missing = byte_ids.iter().filter(|id| id.is_none()).count();
        if missing > 0 {
            tracing::warn!(
                missing,
                "BPE vocabulary lacks some byte tokens; such bytes are dropped"
            );
        }

        let merge_lines = md.strings("tokenizer.ggml.merges")?;
        let mut merges =
            MergeMap::with_capacity_and_hasher(merge_lines.len(), BuildHasherDefault::default());
        let mut joined = String::new();
        let mut skipped = 0usize;
        for (rank, line) in merge_lines.iter().enumerate() {
            // Split at the first space after the first character (a merge may start with
            // a space-like character).
            let Some(split) = line.bytes().skip(1).position(|b| b == b' ').map(|i| i + 1) else {
                skipped += 1;
                continue;
            };
            let (left, right) = (&line[..split], &line[split + 1..]);
            joined.clear();
            joined.push_str(left);
            joined.push_str(right);
            match (ids.get(left), ids.get(right), ids.get(joined.as_str())) {
                (Some(&l), Some(&r), Some(&m)) => {
                    merges.entry(pair_key(l, r)).or_insert((rank as u32, m));
                }
                _ => skipped += 1,
            }
        }
        if skipped > 0 {
            tracing::debug!(
                skipped,
                "BPE merges naming tokens outside the vocabulary were ignored"
            );
        }

        let splitters = spec
            .regexes
            .iter()
            .map(|re| {
                SysRegex::new(re).map_err(|e| {
                    LocalError::Tokenizer(format!("pre-tokenizer regex does not compile: {e}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Bpe {
            splitters,
            merges,
            byte_ids,
            byte_chars,
            ignore_merges: spec.ignore_merges,
        })
    }

    fn encode(&self, tok: &Tokenizer, text: &str, out: &mut Vec<u32>) {
        let mut pieces = vec![(0usize, text.len())];
        let mut next = Vec::new();
        for re in &self.splitters {
            next.clear();
            for &(start, end) in &pieces {
                let slice = &text[start..end];
                let mut prev = 0;
                for (s, e) in re.find_iter(slice) {
                    if s > prev {
                        next.push((start + prev, start + s));
                    }
                    if e > s {
                        next.push((start + s, start + e));
                    }
                    prev = e;
                }
                if prev < slice.len() {
                    next.push((start + prev, end));
                }
            }
            std::mem::swap(&mut pieces, &mut next);
        }
        let mut word = Vec::new();
        let mut spelled = String::new();
        for &(start, end) in &pieces {
            let bytes = &text.as_bytes()[start..end];
            if self.ignore_merges {
                spelled.clear();
                spelled.extend(bytes.iter().map(|&b| self.byte_chars[usize::from(b)]));
                if let Some(&id) = tok.ids.get(spelled.as_str()) {
                    out.push(id);
                    continue;
                }
            }
            word.clear();
            word.extend(bytes.iter().filter_map(|&b| self.byte_ids[usize::from(b)]));
            self.merge_word(&mut word);
            out.extend(word.iter().copied().filter(|&id| id != DEAD));
        }
    }

    /// Applies the merges to one word in place, lowest rank first and leftmost first
    /// among equals; merged-away slots become [`DEAD`]. O(n log n) in the word length.
    fn merge_word(&self, word: &mut [u32]) {
        let n = word.len();
        if n < 2 {
            return;
        }
        let mut next: Vec<usize> = (1..=n).collect();
        let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
        // (rank, left, right, left id, right id, merged id); Reverse makes it a min-heap.
        let mut heap = BinaryHeap::new();
        let candidate = |word: &[u32], l: usize, r: usize| {
            self.merges
                .get(&pair_key(word[l], word[r]))
                .map(|&(rank, merged)| Reverse((rank, l, r, word[l], word[r], merged)))
        };
        for i in 0..n - 1 {
            heap.extend(candidate(word, i, i + 1));
        }
        while let Some(Reverse((_, l, r, lid, rid, merged))) = heap.pop() {
            if word[l] != lid || word[r] != rid || next[l] != r {
                continue;
            }
            word[l] = merged;
            word[r] = DEAD;
            next[l] = next[r];
            if next[r] < n {
                prev[next[r]] = l;
            }
            if prev[l] != usize::MAX {
                heap.extend(candidate(word, prev[l], l));
            }
            if next[l] < n {
                heap.extend(candidate(word, l, next[l]));
            }
        }
    }
}

/// Marks a merged-away symbol (no vocabulary has 2³² tokens).
const DEAD: u32 = u32::MAX;

// ---------------------------------------------------------------------------------
// SentencePiece

struct Spm {
    scores: Vec<f32>,
    byte_ids: [Option<u32>; 256],
    add_space_prefix: bool,
    unk: Option<u32>,
}

/// A candidate merge of two adjacent symbols; the heap pops the highest score, then the
/// leftmost.
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    len: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

/// A run of the text in the SentencePiece merge: `len == 0` once merged away.
#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: usize,
    next: usize,
}

impl Spm {
    fn new(
        md: Metadata<'_>,
        ids: &HashMap<Arc<str>, u32>,
        vocab_size: usize,
        add_space_prefix: bool,
        unk: Option<u32>,
    ) -> Result<Spm, LocalError> {
        let scores = match md.get("tokenizer.ggml.scores") {
            Some(_) => {
                let scores = md.floats("tokenizer.ggml.scores")?;
                if scores.len() < vocab_size {
                    return Err(LocalError::Tokenizer(format!(
                        "`tokenizer.ggml.scores` has {} entries for {vocab_size} tokens",
                        scores.len()
                    )));
                }
                scores
            }
            None => vec![0.0; vocab_size],
        };
        let mut byte_ids = [None; 256];
        for (b, slot) in byte_ids.iter_mut().enumerate() {
            *slot = ids.get(format!("<0x{b:02X}>").as_str()).copied();
        }
        Ok(Spm {
            scores,
            byte_ids,
            add_space_prefix,
            unk: unk.or_else(|| ids.get("<unk>").copied()),
        })
    }

    fn encode(&self, tok: &Tokenizer, text: &str, prev_special: bool, out: &mut Vec<u32>) {
        let mut escaped = String::with_capacity(text.len() + 3);
        if self.add_space_prefix && prev_special {
            escaped.push_str(SPM_SPACE);
        }
        for c in text.chars() {
            if c == ' ' {
                escaped.push_str(SPM_SPACE);
            } else {
                escaped.push(c);
            }
        }
        let text = escaped.as_str();
        let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
        for (i, (start, c)) in text.char_indices().enumerate() {
            symbols.push(Symbol {
                start,
                len: c.len_utf8(),
                prev: i.wrapping_sub(1),
                next: i + 1,
            });
        }
        let n = symbols.len();
        if n == 0 {
            return;
        }
        let mut heap = BinaryHeap::new();
        let try_add = |symbols: &[Symbol], heap: &mut BinaryHeap<Bigram>, l: usize, r: usize| {
            if l == usize::MAX || r >= n {
                return;
            }
            let (a, b) = (symbols[l], symbols[r]);
            let joined = &text[a.start..b.start + b.len];
            if let Some(&id) = tok.ids.get(joined) {
                heap.push(Bigram {
                    score: self.scores.get(id as usize).copied().unwrap_or(0.0),
                    left: l,
                    right: r,
                    len: joined.len(),
                });
            }
        };
        for i in 1..n {
            try_add(&symbols, &mut heap, i - 1, i);
        }
        while let Some(bigram) = heap.pop() {
            let (l, r) = (bigram.left, bigram.right);
            let (left, right) = (symbols[l], symbols[r]);
            if left.len == 0 || right.len == 0 || left.len + right.len != bigram.len {
                continue;
            }
            symbols[l].len += right.len;
            symbols[r].len = 0;
            symbols[l].next = right.next;
            if right.next < n {
                symbols[right.next].prev = l;
            }
            try_add(&symbols, &mut heap, symbols[l].prev, l);
            try_add(&symbols, &mut heap, l, symbols[l].next);
        }
        let mut i = 0;
        while i < n {
            let s = symbols[i];
            let piece = &text[s.start..s.start + s.len];
            if let Some(&id) = tok.ids.get(piece) {
                out.push(id);
            } else {
                for &b in piece.as_bytes() {
                    if let Some(id) = self.byte_ids[usize::from(b)].or(self.unk) {
                        out.push(id);
                    }
                }
            }
            i = s.next;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::quantized::gguf_file::Value;
    use pretty_assertions::assert_eq;

    use super::*;

    fn strings(items: &[&str]) -> Value {
        Value::Array(
            items
                .iter()
                .map(|s| Value::String((*s).to_owned()))
                .collect(),
        )
    }

    fn ints(items: &[i32]) -> Value {
        Value::Array(items.iter().map(|&i| Value::I32(i)).collect())
    }

    /// A byte-level BPE vocabulary: three control tokens, the 256 GPT-2 byte characters
    /// (byte `b` is id `3 + b`), twelve merges (ids 259…270) and a user-defined `<think>`
    /// (271). The same vocabulary written to a GGUF gave llama.cpp the ids asserted below.
    fn tiny_bpe() -> HashMap<String, Value> {
        let merges = [
            "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ã ©", "Ġ Ġ",
            "Ċ Ċ",
        ];
        let mut tokens: Vec<String> = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        tokens.extend(byte_to_unicode_table().iter().map(char::to_string));
        tokens.extend(merges.iter().map(|m| m.replace(' ', "")));
        tokens.push("<think>".to_owned());
        let mut types = vec![3, 3, 3];
        types.extend(std::iter::repeat_n(1, 256 + merges.len()));
        types.push(4);
        let token_refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        HashMap::from([
            (
                "tokenizer.ggml.model".to_owned(),
                Value::String("gpt2".into()),
            ),
            (
                "tokenizer.ggml.pre".to_owned(),
                Value::String("qwen2".into()),
            ),
            ("tokenizer.ggml.tokens".to_owned(), strings(&token_refs)),
            ("tokenizer.ggml.token_type".to_owned(), ints(&types)),
            ("tokenizer.ggml.merges".to_owned(), strings(&merges)),
            ("tokenizer.ggml.bos_token_id".to_owned(), Value::U32(0)),
            ("tokenizer.ggml.eos_token_id".to_owned(), Value::U32(0)),
        ])
    }

    /// A SentencePiece vocabulary: `<unk> <s> </s>`, the 256 `<0xXX>` byte tokens (byte
    /// `b` is id `3 + b`), scored pieces from 259 on, control `[INST]` (284) and
    /// `[/INST]` (285), user-defined `<think>` (286). No BOS/EOS ids, so llama.cpp's
    /// defaults apply. The expected ids below come from llama.cpp on the same vocabulary.
    fn tiny_spm() -> HashMap<String, Value> {
        let pieces: &[(&str, f32)] = &[
            ("▁", -1.0),
            ("h", -2.0),
            ("e", -2.0),
            ("l", -2.0),
            ("o", -2.0),
            ("w", -2.0),
            ("r", -2.0),
            ("d", -2.0),
            ("é", -2.0),
            ("a", -2.0),
            ("b", -2.0),
            ("he", -3.0),
            ("▁h", -3.0),
            ("▁he", -3.2),
            ("ll", -3.5),
            ("llo", -4.0),
            ("▁hello", -4.5),
            ("▁w", -3.0),
            ("or", -3.0),
            ("▁wor", -3.3),
            ("ld", -3.0),
            ("▁world", -3.4),
            ("ab", -5.0),
            ("ba", -5.0),
            ("▁▁", -6.0),
        ];
        let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
        let mut scores = vec![0.0f32; 3];
        let mut types = vec![2, 3, 3];
        for b in 0..=255u8 {
            tokens.push(format!("<0x{b:02X}>"));
            scores.push(0.0);
            types.push(6);
        }
        for (text, score) in pieces {
            tokens.push((*text).to_owned());
            scores.push(*score);
            types.push(1);
        }
        for (text, kind) in [("[INST]", 3), ("[/INST]", 3), ("<think>", 4)] {
            tokens.push(text.to_owned());
            scores.push(0.0);
            types.push(kind);
        }
        let token_refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        HashMap::from([
            (
                "tokenizer.ggml.model".to_owned(),
                Value::String("llama".into()),
            ),
            ("tokenizer.ggml.tokens".to_owned(), strings(&token_refs)),
            (
                "tokenizer.ggml.scores".to_owned(),
                Value::Array(scores.into_iter().map(Value::F32).collect()),
            ),
            ("tokenizer.ggml.token_type".to_owned(), ints(&types)),
        ])
    }

    fn build(map: &HashMap<String, Value>) -> Tokenizer {
        Tokenizer::from_metadata(&Metadata::new(map)).unwrap()
    }

    fn streamed(tok: &Tokenizer, ids: &[u32]) -> Vec<String> {
        let mut stream = TokenText::new(tok);
        let mut out: Vec<String> = ids.iter().map(|&id| stream.push(id)).collect();
        out.push(stream.finish());
        out
    }

    #[test]
    fn tokenizer_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Tokenizer>();
    }

    #[test]
    fn bpe_applies_merges_within_words() {
        let tok = build(&tiny_bpe());
        let enc = |s: &str| tok.encode(s).unwrap();
        assert_eq!(enc("hello world"), [262, 267]);
        // Two spaces: the first stands alone (`\s+(?!\S)`), the second joins "world".
        assert_eq!(enc("hello  world"), [262, 35, 267]);
        // "é" is the bytes C3 A9, merged through their GPT-2 characters "Ã©".
        assert_eq!(enc("café"), [102, 100, 105, 268]);
        assert_eq!(enc("héllo"), [107, 268, 260, 114]);
        assert_eq!(enc("hello\n\nworld"), [262, 270, 122, 264, 266]);
        assert_eq!(enc("\n\n\n"), [270, 13]);
        assert_eq!(enc("😀"), [243, 162, 155, 131]);
        assert_eq!(enc(""), Vec::<u32>::new());
        assert_eq!(tok.vocab_size(), 272);
        assert_eq!(tok.token_text(262), Some("hello"));
        assert_eq!(tok.token_text(272), None);
    }

    #[test]
    fn control_tokens_are_parsed_only_in_templates() {
        let tok = build(&tiny_bpe());
        let text = "<|im_start|>user\nhello<|im_end|>\n";
        assert_eq!(
            tok.encode(text).unwrap(),
            [
                63, 127, 108, 112, 98, 118, 119, 100, 117, 119, 127, 65, 120, 118, 104, 117, 13,
                262, 63, 127, 108, 112, 98, 104, 113, 103, 127, 65, 13
            ]
        );
        assert_eq!(
            tok.encode_with_special(text).unwrap(),
            [1, 120, 118, 104, 117, 13, 262, 2, 13]
        );
        // A control token cut short is plain text in both modes.
        let partial = [63, 127, 108, 112, 98, 104, 113, 103];
        assert_eq!(tok.encode("<|im_end").unwrap(), partial);
        assert_eq!(tok.encode_with_special("<|im_end").unwrap(), partial);
        // The plain-text ids decode back to the very text typed.
        assert_eq!(tok.decode(&tok.encode(text).unwrap()), text);
    }

    #[test]
    fn user_defined_tokens_are_always_matched() {
        let tok = build(&tiny_bpe());
        assert_eq!(tok.encode("a<think>b").unwrap(), [100, 271, 101]);
        assert_eq!(
            tok.encode_with_special("a<think>b").unwrap(),
            [100, 271, 101]
        );
        assert_eq!(tok.decode(&[100, 271, 101]), "a<think>b");
    }

    #[test]
    fn decode_omits_control_tokens() {
        let tok = build(&tiny_bpe());
        assert_eq!(tok.decode(&[1, 262, 2, 267, 0]), "hello world");
        assert_eq!(tok.decode(&[9999]), "");
        for text in [
            "hello  world",
            "café",
            "héllo",
            "hello\n\nworld",
            "😀 ok",
            "",
        ] {
            assert_eq!(tok.decode(&tok.encode(text).unwrap()), text);
        }
    }

    #[test]
    fn streaming_waits_for_complete_characters() {
        let tok = build(&tiny_bpe());
        // 😀 is F0 9F 98 80, four byte tokens.
        assert_eq!(
            streamed(&tok, &[243, 162, 155, 131]),
            ["", "", "", "😀", ""]
        );
        // é as its two byte tokens C3 and A9, then a merged word.
        assert_eq!(streamed(&tok, &[198, 172, 267]), ["", "é", " world", ""]);
        // Control tokens produce nothing, even in the middle of a character.
        assert_eq!(streamed(&tok, &[198, 2, 172]), ["", "", "é", ""]);
        // A lone continuation byte cannot start a character: U+FFFD at once.
        assert_eq!(streamed(&tok, &[172, 100]), ["\u{FFFD}", "a", ""]);
        // A lead byte followed by ASCII: the broken character is replaced, the rest kept.
        assert_eq!(streamed(&tok, &[198, 100]), ["", "\u{FFFD}a", ""]);
        // What is left at the end is flushed as U+FFFD.
        assert_eq!(streamed(&tok, &[100, 243, 162]), ["a", "", "", "\u{FFFD}"]);
    }

    #[test]
    fn end_of_turn_covers_eos_and_known_markers() {
        let tok = build(&tiny_bpe());
        // eos (0, <|endoftext|>) and <|im_end|> (2), not <|im_start|>.
        assert_eq!(tok.end_of_turn_ids(), [0, 2]);
        assert!(tok.is_end_of_turn(2));
        assert!(!tok.is_end_of_turn(1));
        assert_eq!(tok.bos_id(), Some(0));
        assert_eq!(tok.bos_text(), Some("<|endoftext|>"));
        assert_eq!(tok.eos_text(), Some("<|endoftext|>"));
        assert!(!tok.add_bos(), "gpt2 BPE adds no BOS by default");

        let mut map = tiny_bpe();
        map.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(262));
        map.insert("tokenizer.ggml.eot_token_id".into(), Value::U32(1));
        map.insert("tokenizer.ggml.add_bos_token".into(), Value::Bool(true));
        let tok = build(&map);
        assert_eq!(tok.end_of_turn_ids(), [0, 1, 2, 262]);
        assert!(tok.add_bos());
    }

    #[test]
    fn a_plain_token_spelled_like_an_end_marker_becomes_control() {
        let mut map = tiny_bpe();
        let mut types = vec![3, 3, 1];
        types.extend(std::iter::repeat_n(1, 256 + 12));
        types.push(4);
        map.insert("tokenizer.ggml.token_type".into(), ints(&types));
        let tok = build(&map);
        assert!(tok.is_control(2));
        assert_eq!(tok.encode_with_special("<|im_end|>").unwrap(), [2]);
        assert_eq!(tok.decode(&[2]), "");
    }

    #[test]
    fn unknown_pre_falls_back_to_gpt2_words() {
        let mut map = tiny_bpe();
        map.insert(
            "tokenizer.ggml.pre".into(),
            Value::String("no-such-pre".into()),
        );
        let tok = build(&map);
        assert_eq!(tok.encode("hello world").unwrap(), [262, 267]);
    }

    #[test]
    fn llama3_family_defaults_to_a_bos() {
        let mut map = tiny_bpe();
        map.insert(
            "tokenizer.ggml.pre".into(),
            Value::String("llama-bpe".into()),
        );
        let tok = build(&map);
        assert!(tok.add_bos());
        // ignore_merges: a word that is a vocabulary entry is taken whole.
        assert_eq!(tok.encode("hello world").unwrap(), [262, 267]);
    }

    #[test]
    fn spm_merges_by_score_with_byte_fallback() {
        let tok = build(&tiny_spm());
        let enc = |s: &str| tok.encode(s).unwrap();
        assert_eq!(enc("hello world"), [275, 280]);
        assert_eq!(enc("world hello"), [280, 275]);
        // No "H" piece: the byte token <0x48>.
        assert_eq!(enc("Hello"), [259, 75, 261, 274]);
        assert_eq!(enc("hello  world"), [275, 259, 280]);
        assert_eq!(enc("é"), [259, 267]);
        assert_eq!(enc("😀"), [259, 243, 162, 155, 131]);
        // "ab" and "ba" score the same: the leftmost pair merges first.
        assert_eq!(enc("aba"), [259, 281, 268]);
        assert_eq!(enc("abab"), [259, 281, 281]);
        assert_eq!(enc(""), Vec::<u32>::new());
        assert_eq!(enc(" "), [283]);
        assert_eq!(enc("\n"), [259, 13]);
        assert_eq!(enc("héllo wörld"), [271, 267, 274, 276, 198, 185, 265, 279]);
        assert_eq!(
            enc("  leading"),
            [283, 259, 262, 261, 268, 266, 108, 113, 106]
        );
    }

    #[test]
    fn spm_specials_and_space_prefix() {
        let tok = build(&tiny_spm());
        assert_eq!(
            tok.encode("[INST] hello [/INST]").unwrap(),
            [
                259, 94, 76, 81, 86, 87, 96, 275, 259, 94, 50, 76, 81, 86, 87, 96
            ]
        );
        assert_eq!(
            tok.encode_with_special("[INST] hello [/INST]").unwrap(),
            [284, 259, 275, 259, 285]
        );
        // Text after a special token gets the space prefix again (as in llama.cpp).
        assert_eq!(
            tok.encode_with_special("[INST]hello[/INST] world").unwrap(),
            [284, 275, 285, 259, 280]
        );
        assert_eq!(tok.encode("a<think>b").unwrap(), [259, 268, 286, 259, 269]);
        assert_eq!(tok.bos_id(), Some(1));
        assert_eq!(tok.bos_text(), Some("<s>"));
        assert_eq!(tok.eos_text(), Some("</s>"));
        assert!(tok.add_bos(), "SentencePiece adds a BOS by default");
        assert_eq!(tok.end_of_turn_ids(), [2]);
    }

    #[test]
    fn spm_without_space_prefix() {
        let mut map = tiny_spm();
        map.insert("tokenizer.ggml.add_space_prefix".into(), Value::Bool(false));
        let tok = build(&map);
        assert_eq!(tok.encode("hello world").unwrap(), [270, 274, 280]);
        assert_eq!(tok.encode(" ").unwrap(), [259]);
        assert_eq!(tok.encode("\n").unwrap(), [13]);
        assert_eq!(
            tok.encode_with_special("[INST]hello[/INST] world").unwrap(),
            [284, 270, 274, 285, 280]
        );
        assert_eq!(tok.decode(&[280, 275]), " world hello");
    }

    #[test]
    fn spm_decode_drops_the_prefix_space_once() {
        let tok = build(&tiny_spm());
        for text in [
            "hello world",
            "Hello",
            "hello  world",
            "é",
            "😀",
            "héllo wörld",
            "  leading",
            " ",
        ] {
            assert_eq!(tok.decode(&tok.encode(text).unwrap()), text, "{text:?}");
        }
        assert_eq!(streamed(&tok, &[1, 275, 280]), ["", "hello", " world", ""]);
        assert_eq!(tok.decode(&[284, 275, 285]), "hello");
        // Byte tokens are reassembled into characters.
        assert_eq!(
            streamed(&tok, &[259, 243, 162, 155, 131]),
            ["", "", "", "", "😀", ""]
        );
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let mut map = tiny_bpe();
        map.remove("tokenizer.ggml.model");
        let err = Tokenizer::from_metadata(&Metadata::new(&map)).unwrap_err();
        assert_eq!(
            err,
            LocalError::Metadata("no `tokenizer.ggml.model`".into())
        );

        let mut map = tiny_bpe();
        map.insert("tokenizer.ggml.model".into(), Value::String("bert".into()));
        let err = Tokenizer::from_metadata(&Metadata::new(&map)).unwrap_err();
        assert_eq!(
            err,
            LocalError::Tokenizer(
                "tokenizer model `bert` is not supported (supported: gpt2, llama)".into()
            )
        );

        let mut map = tiny_bpe();
        map.remove("tokenizer.ggml.merges");
        let err = Tokenizer::from_metadata(&Metadata::new(&map)).unwrap_err();
        assert_eq!(
            err,
            LocalError::Metadata("no `tokenizer.ggml.merges`".into())
        );

        let mut map = tiny_bpe();
        map.remove("tokenizer.ggml.tokens");
        let err = Tokenizer::from_metadata(&Metadata::new(&map)).unwrap_err();
        assert_eq!(
            err,
            LocalError::Metadata("no `tokenizer.ggml.tokens`".into())
        );

        let mut map = tiny_bpe();
        map.insert("tokenizer.ggml.token_type".into(), ints(&[1, 1]));
        let err = Tokenizer::from_metadata(&Metadata::new(&map)).unwrap_err();
        assert_eq!(
            err,
            LocalError::Tokenizer(
                "`tokenizer.ggml.token_type` has 2 entries for 272 tokens".into()
            )
        );

        let mut map = tiny_spm();
        map.insert(
            "tokenizer.ggml.scores".into(),
            Value::Array(vec![Value::F32(0.0)]),
        );
        let err = Tokenizer::from_metadata(&Metadata::new(&map)).unwrap_err();
        assert_eq!(
            err,
            LocalError::Tokenizer("`tokenizer.ggml.scores` has 1 entries for 287 tokens".into())
        );
    }

    #[test]
    fn long_inputs_stay_fast() {
        // A quadratic step would take minutes on these; linear ones take milliseconds.
        let tok = build(&tiny_bpe());
        let words = "hello world ".repeat(20_000);
        // "hello", " world", then " " and "hello" again (no "Ġhello" entry).
        assert_eq!(tok.encode(&words).unwrap().len(), 60_000);
        let one_word = "l".repeat(100_000);
        assert_eq!(tok.encode(&one_word).unwrap(), vec![260; 50_000]);
        let markers = "<|im_end|>".repeat(10_000);
        assert_eq!(tok.encode_with_special(&markers).unwrap(), vec![2; 10_000]);
        let spm = build(&tiny_spm());
        assert_eq!(spm.encode(&"ab".repeat(50_000)).unwrap().len(), 50_001);
    }
}
