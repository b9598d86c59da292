//! The GGUF tokenizer against a real model file: the ids must be exactly llama.cpp's
//! (they were taken from llama.cpp, via llama-cpp-python 0.3.36, for SmolLM2-135M-
//! Instruct: gpt2 BPE, pre `smollm`, 49152 tokens). Runs when `TINYCHAT_TEST_GGUF`
//! names that file; CI sets it.

#![cfg(feature = "local")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::PathBuf;
use std::time::Instant;

use pretty_assertions::assert_eq;
use tinychat::conversation::Role;
use tinychat::provider::ChatMessage;
use tinychat::provider::local::gguf::GgufHeader;
use tinychat::provider::local::template::ChatTemplate;
use tinychat::provider::local::tokenizer::{TokenText, Tokenizer};

fn model_file() -> Option<PathBuf> {
    let path = std::env::var_os("TINYCHAT_TEST_GGUF").map(PathBuf::from);
    if path.is_none() {
        println!("skipped: set TINYCHAT_TEST_GGUF");
    }
    path
}

/// Text, ids of plain `encode`, ids of `encode_with_special` when they differ.
type Case = (&'static str, &'static [u32], Option<&'static [u32]>);

const CASES: &[Case] = &[
    ("I'm here", &[57, 5248, 1535], None),
    ("DON'T stop", &[52, 2154, 23, 68, 2853], None),
    (
        "they'll we've you're",
        &[11518, 3060, 392, 3543, 346, 2316],
        None,
    ),
    ("12345", &[33, 34, 35, 36, 37], None),
    ("3.14159", &[35, 30, 33, 36, 33, 37, 41], None),
    ("a  b   c    d", &[81, 216, 278, 256, 265, 333, 287], None),
    ("tabs\t\there\t", &[100, 7366, 197, 197, 1531, 197], None),
    ("\n\n\n", &[16506], None),
    ("line\r\nnext\r\n", &[1311, 201, 198, 11282, 2738], None),
    (
        "日本語のテキスト、中文字符。",
        &[
            23274, 115, 40993, 179, 120, 248, 26453, 11100, 224, 10391, 251, 10391, 134, 11100,
            226, 29917, 28589, 29184, 36518, 40562, 116, 19076,
        ],
        None,
    ),
    (
        "👨\u{200d}👩\u{200d}👧 family",
        &[
            10813, 235, 118, 321, 231, 10813, 235, 119, 321, 231, 10813, 235, 117, 1564,
        ],
        None,
    ),
    (
        "café naïve résumé Ångström",
        &[
            83, 1939, 2756, 15486, 46494, 412, 2756, 5422, 2756, 5549, 223, 863, 1321, 45682,
        ],
        None,
    ),
    (
        "fn main() {\n    println!(\"hi\");\n}",
        &[
            7853, 1085, 1000, 1662, 472, 1628, 34115, 17, 1470, 6004, 21646, 198, 109,
        ],
        None,
    ),
    (
        "https://example.com/path?q=1&r=two#frag",
        &[
            4687, 1742, 7434, 30, 824, 31, 1537, 47, 97, 45, 33, 22, 98, 45, 11355, 19, 28082,
        ],
        None,
    ),
    (
        "<|im_start|>user\nhi<|im_end|>",
        &[
            44, 108, 306, 79, 3738, 108, 46, 4093, 198, 6004, 44, 108, 306, 79, 486, 108, 46,
        ],
        Some(&[1, 4093, 198, 6004, 2]),
    ),
    (" leading space", &[2899, 1898], None),
    ("trailing spaces   ", &[4861, 4966, 5600, 333], None),
    ("   \n   x", &[333, 11181, 1792], None),
    ("x\u{a0}y\u{2003}z", &[104, 15442, 105, 321, 221, 106], None),
];

#[test]
fn smollm2_ids_equal_llama_cpp() {
    let Some(path) = model_file() else { return };
    let header = GgufHeader::read(&path).unwrap();
    let started = Instant::now();
    let tok = Tokenizer::from_metadata(&header.metadata()).unwrap();
    println!("tokenizer built in {:?}", started.elapsed());

    assert_eq!(tok.vocab_size(), 49152);
    assert_eq!(tok.bos_id(), Some(1));
    assert!(!tok.add_bos());
    assert_eq!(tok.bos_text(), Some("<|im_start|>"));
    assert_eq!(tok.eos_text(), Some("<|im_end|>"));
    // <|endoftext|> and <|im_end|> (the EOS).
    assert_eq!(tok.end_of_turn_ids(), [0, 2]);

    for &(text, plain, special) in CASES {
        assert_eq!(tok.encode(text).unwrap(), plain, "encode {text:?}");
        let special = special.unwrap_or(plain);
        assert_eq!(
            tok.encode_with_special(text).unwrap(),
            special,
            "encode_with_special {text:?}"
        );
        assert_eq!(tok.decode(plain), text, "decode {text:?}");

        // Streamed one token at a time, the text comes out whole.
        let mut stream = TokenText::new(&tok);
        let mut streamed: String = plain.iter().map(|&id| stream.push(id)).collect();
        streamed.push_str(&stream.finish());
        assert_eq!(streamed, text, "stream {text:?}");
    }
    // Control tokens leave no text.
    assert_eq!(tok.decode(&[1, 4093, 198, 6004, 2]), "user\nhi");
}

#[test]
fn smollm2_template_renders_and_tokenizes() {
    let Some(path) = model_file() else { return };
    let header = GgufHeader::read(&path).unwrap();
    let md = header.metadata();
    let tok = Tokenizer::from_metadata(&md).unwrap();
    let template = ChatTemplate::from_metadata(&md, &tok).unwrap();
    assert!(!template.is_builtin());
    let turns = [ChatMessage {
        role: Role::User,
        content: "hi".to_owned(),
    }];
    let prompt = template.render(None, &turns, true).unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    );
    // As llama.cpp tokenizes the same prompt with special tokens parsed.
    assert_eq!(
        tok.encode_with_special(&prompt).unwrap(),
        [
            1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411,
            407, 19712, 8182, 2, 198, 1, 4093, 198, 6004, 2, 198, 1, 520, 9531, 198
        ]
    );

    let prompt = template.render(Some("Be brief."), &turns, false).unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
    );
}

#[test]
fn smollm2_long_text_is_fast() {
    let Some(path) = model_file() else { return };
    let header = GgufHeader::read(&path).unwrap();
    let tok = Tokenizer::from_metadata(&header.metadata()).unwrap();
    let paragraph = "The quick brown fox jumps over the lazy dog; 12 → 3.5 ½ café 日本語 🦀\n";
    let text = paragraph.repeat(1_000_000 / paragraph.len());
    let started = Instant::now();
    let ids = tok.encode(&text).unwrap();
    println!(
        "encoded {} bytes into {} tokens in {:?}",
        text.len(),
        ids.len(),
        started.elapsed()
    );
    assert_eq!(tok.decode(&ids), text);
}
