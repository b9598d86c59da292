//! The model's own chat template (`tokenizer.chat_template`, Jinja), rendered with
//! minijinja, so the prompt is laid out exactly as the model was trained: role markers,
//! default system prompts and generation prompt come from the file, not from us.
//!
//! The environment imitates Hugging Face's `apply_chat_template`: `trim_blocks` and
//! `lstrip_blocks` on, Python string and dict methods (`strip`, `split`, `startswith`,
//! `items`, …), `raise_exception(msg)` and `strftime_now(fmt)`, and the variables
//! `messages`, `add_generation_prompt`, `bos_token`, `eos_token` and `tools` (none).

use std::fmt::Write as _;

use minijinja::{Environment, Error, ErrorKind, Value, context};
use serde::Serialize;

use super::LocalError;
use super::gguf::Metadata;
use super::tokenizer::Tokenizer;
use crate::conversation::Role;
use crate::provider::ChatMessage;

/// The template used when the file has none: ChatML, the most common format among
/// small chat models (Qwen, SmolLM, …).
const CHATML: &str = "{% for message in messages %}\
{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}\
{% endfor %}\
{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// The name the template is stored under; error messages show it.
const NAME: &str = "chat_template";

/// A compiled chat template: parsed once when the model loads, rendered for every
/// reply.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
    /// Whether this is the built-in ChatML rather than the file's own template.
    builtin: bool,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("builtin", &self.builtin)
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .finish_non_exhaustive()
    }
}

/// The error `raise_exception` fails with, so its message can be told apart from
/// minijinja's own errors and reported as the template wrote it.
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

#[derive(Serialize)]
struct TemplateMessage<'a> {
    role: &'a str,
    content: &'a str,
}

impl ChatTemplate {
    /// Compiles `tokenizer.chat_template` from the GGUF, or ChatML when the file has
    /// none; `tokenizer` gives `bos_token` and `eos_token`.
    pub fn from_metadata(
        md: &Metadata<'_>,
        tokenizer: &Tokenizer,
    ) -> Result<ChatTemplate, LocalError> {
        let source = md.opt_string("tokenizer.chat_template")?;
        ChatTemplate::new(
            source,
            tokenizer.bos_text().unwrap_or_default(),
            tokenizer.eos_text().unwrap_or_default(),
        )
    }

    /// Compiles `source` (ChatML when `None`); split from [`ChatTemplate::from_metadata`]
    /// so templates can be tried without a model file.
    pub fn new(source: Option<&str>, bos: &str, eos: &str) -> Result<ChatTemplate, LocalError> {
        let builtin = source.is_none();
        let source = source.unwrap_or(CHATML);
        let mut env = Environment::new();
        let mut syntax = minijinja::syntax::SyntaxConfig::builder();
        syntax.trim_blocks(true).lstrip_blocks(true);
        env.set_syntax(syntax.build().map_err(|e| template_error(&e))?);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_template_owned(NAME, source.to_owned())
            .map_err(|e| template_error(&e))?;
        Ok(ChatTemplate {
            env,
            bos: bos.to_owned(),
            eos: eos.to_owned(),
            builtin,
        })
    }

    /// Whether the file had no template and ChatML is used.
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// Renders the prompt: the system prompt (if any) as a leading `system` message, then
    /// the turns; with `add_generation_prompt` the text ends where the assistant's reply
    /// begins. A template that rejects the conversation (`raise_exception`, e.g. roles
    /// out of order) fails with its own message.
    pub fn render(
        &self,
        system: Option<&str>,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, LocalError> {
        let mut list = Vec::with_capacity(messages.len() + 1);
        if let Some(system) = system {
            list.push(TemplateMessage {
                role: "system",
                content: system,
            });
        }
        list.extend(messages.iter().map(|m| TemplateMessage {
            role: match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            },
            content: &m.content,
        }));
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| template_error(&e))?;
        template
            .render(context! {
                messages => Value::from(minijinja::value::Serde(&list)),
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos.as_str(),
                eos_token => self.eos.as_str(),
                tools => Value::from(()),
            })
            .map_err(|e| template_error(&e))
    }
}

/// `raise_exception(msg)`: how Hugging Face templates reject a conversation.
fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message.clone()).with_source(Raised(message)))
}

/// `strftime_now(fmt)`: the local date and time, as templates such as Llama 3's put
/// today's date into the system prompt.
fn strftime_now(format: &str) -> Result<String, Error> {
    let mut out = String::new();
    write!(out, "{}", chrono::Local::now().format(format)).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime_now: invalid format {format:?}"),
        )
    })?;
    Ok(out)
}

/// The template's own message for `raise_exception`, minijinja's description (with the
/// line) for everything else.
fn template_error(error: &Error) -> LocalError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(raised) = e.downcast_ref::<Raised>() {
            return LocalError::Template(raised.0.clone());
        }
        source = e.source();
    }
    LocalError::Template(error.to_string())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    // Real templates as published with the models; the expected strings were rendered
    // from the same texts by Python's jinja2 the way transformers' apply_chat_template
    // sets it up (trim_blocks, lstrip_blocks, raise_exception, strftime_now).
    const SMOLLM2: &str = include_str!("testdata/smollm2.jinja");
    const QWEN25: &str = include_str!("testdata/qwen2.5-instruct.jinja");
    const QWEN3: &str = include_str!("testdata/qwen3.jinja");
    const LLAMA32: &str = include_str!("testdata/llama3.2-instruct.jinja");
    const MISTRAL_NEMO: &str = include_str!("testdata/mistral-nemo-instruct.jinja");

    fn user(content: &str) -> ChatMessage {
        ChatMessage {
            role: Role::User,
            content: content.to_owned(),
        }
    }

    fn assistant(content: &str) -> ChatMessage {
        ChatMessage {
            role: Role::Assistant,
            content: content.to_owned(),
        }
    }

    fn template(source: &str) -> ChatTemplate {
        ChatTemplate::new(Some(source), "", "").unwrap()
    }

    #[test]
    fn chatml_when_the_file_has_no_template() {
        let t = ChatTemplate::new(None, "", "").unwrap();
        assert!(t.is_builtin());
        assert_eq!(
            t.render(
                Some("Be brief."),
                &[user("hi"), assistant("Hello!"), user("Bye")],
                true
            )
            .unwrap(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n\
             <|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n\
             <|im_start|>assistant\n"
        );
        assert_eq!(
            t.render(None, &[user("hi")], false).unwrap(),
            "<|im_start|>user\nhi<|im_end|>\n"
        );
    }

    #[test]
    fn smollm2_adds_its_default_system_prompt() {
        let t = template(SMOLLM2);
        assert!(!t.is_builtin());
        assert_eq!(
            t.render(None, &[user("hi"), assistant("Hello!"), user("Bye")], true)
                .unwrap(),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
             <|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n\
             <|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn qwen25_without_tools() {
        let t = template(QWEN25);
        assert_eq!(
            t.render(
                None,
                &[user("Hello"), assistant("Hi there!"), user("How are you?")],
                true
            )
            .unwrap(),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n\
             <|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there!<|im_end|>\n\
             <|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            t.render(Some("Be brief."), &[user("Hello")], false)
                .unwrap(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
        );
    }

    #[test]
    fn qwen3_drops_old_reasoning_and_keeps_the_last() {
        let t = template(QWEN3);
        let answered = assistant("<think>\nadd them\n</think>\n\n4");
        assert_eq!(
            t.render(
                None,
                &[user("2+2?"), answered.clone(), user("And 3+3?")],
                true
            )
            .unwrap(),
            "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n\
             <|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            t.render(Some("Think."), &[user("2+2?"), answered], false)
                .unwrap(),
            "<|im_start|>system\nThink.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n\
             <|im_start|>assistant\n<think>\nadd them\n</think>\n\n4<|im_end|>\n"
        );
    }

    #[test]
    fn llama32_puts_bos_and_todays_date() {
        let t = ChatTemplate::new(Some(LLAMA32), "<|begin_of_text|>", "<|eot_id|>").unwrap();
        let rendered = t
            .render(
                Some("  Be brief.  "),
                &[user("Hi"), assistant("Hello"), user("Bye ")],
                true,
            )
            .unwrap();
        let today = chrono::Local::now().format("%d %b %Y").to_string();
        assert_eq!(
            rendered,
            format!(
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n\
                 Cutting Knowledge Date: December 2023\nToday Date: {today}\n\n\
                 Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n\
                 Hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n\
                 Hello<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n\
                 Bye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            )
        );
    }

    #[test]
    fn mistral_nemo_checks_role_order() {
        let t = ChatTemplate::new(Some(MISTRAL_NEMO), "<s>", "</s>").unwrap();
        assert_eq!(
            t.render(
                Some("Be brief."),
                &[user("Hi"), assistant("Hello"), user("Bye")],
                true
            )
            .unwrap(),
            "<s>[INST]Hi[/INST]Hello</s>[INST]Be brief.\n\nBye[/INST]"
        );
        assert_eq!(
            t.render(None, &[assistant("Hello"), user("Bye")], true)
                .unwrap_err(),
            LocalError::Template(
                "After the optional system message, conversation roles must alternate \
                 user/assistant/user/assistant/..."
                    .into()
            )
        );
    }

    #[test]
    fn python_methods_and_errors() {
        let t = template(
            "{{ messages[0].content.strip().split(',') | join('|') }}\
             {% for k, v in {'a': 1}.items() %} {{ k }}={{ v }}{% endfor %}\
             {% if messages[0].content.startswith(' x') %} yes{% endif %}",
        );
        assert_eq!(
            t.render(None, &[user(" x,y ")], false).unwrap(),
            "x|y a=1 yes"
        );

        let t = template("{{ raise_exception('no ' + messages[0].role) }}");
        assert_eq!(
            t.render(None, &[user("hi")], false).unwrap_err(),
            LocalError::Template("no user".into())
        );

        let Err(LocalError::Template(message)) = ChatTemplate::new(Some("{% if %}"), "", "") else {
            panic!("a syntax error must fail compiling");
        };
        assert!(message.contains("syntax error"), "{message}");

        let t = template("{{ enable_thinking is defined }} {{ tools is none }}");
        assert_eq!(t.render(None, &[], false).unwrap(), "False True");
    }
}
