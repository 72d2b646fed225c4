//! Chat templates: the GGUF's own `tokenizer.chat_template` rendered with MiniJinja, the way
//! llama.cpp's `--jinja` chat path renders it.
//!
//! The template gets the variables llama.cpp gives it: `messages` (a list of
//! `{"role": …, "content": …}` maps), `add_generation_prompt`, `bos_token` and `eos_token` (the
//! texts of the model's BOS/EOS tokens, empty when it has none), `tools` (none) and
//! `enable_thinking` (true), plus the functions `raise_exception(message)` (fails the rendering
//! with that message) and `strftime_now(format)` (the current UTC time, for templates that print
//! today's date). Blocks are trimmed as in Hugging Face's and llama.cpp's renderers
//! (`trim_blocks`, `lstrip_blocks`, no trailing newline kept). Python string and dict methods
//! that chat templates commonly call (`strip`, `split`, `startswith`, `items`, `get`, …) are
//! provided; `strip`, `split()` and the `trim` filter use Python's whitespace (`str.isspace`:
//! Unicode `White_Space` and U+001C–U+001F), as Jinja2 does. `crates/tokenizer/tests/chat_references.rs`
//! checks the rendering against transformers' on six real-world-style templates.
//!
//! Whatever the template itself does is what comes out: SmolLM2's template, for example, inserts
//! its own default system message when the conversation has none.
//!
//! [`render_for`] adds llama.cpp's last step: when the tokenizer will add BOS (or EOS) itself,
//! a BOS text at the start (EOS text at the end) of the rendering is removed so it is not doubled.
//! The rendered prompt is then tokenized with special tokens parsed
//! ([`EncodeOptions { add_special: true, parse_special: true }`](crate::EncodeOptions)).

use std::collections::BTreeMap;

use minijinja::value::Kwargs;
use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior, Value};

use crate::Tokenizer;

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// `"system"`, `"user"` or `"assistant"`.
    pub role: String,
    /// The text of the message.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role and content.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> ChatMessage {
        ChatMessage::new("user", content)
    }
}

/// Errors of chat-template rendering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChatError {
    /// The GGUF file has no `tokenizer.chat_template`.
    #[error("the model has no chat template (tokenizer.chat_template)")]
    NoTemplate,
    /// `tokenizer.chat_template` is not a string.
    #[error("GGUF tokenizer metadata: {0}")]
    Gguf(zkinfer_gguf::GgufError),
    /// The template does not parse, fails while rendering, or calls `raise_exception`.
    #[error("chat template: {0:#}")]
    Template(minijinja::Error),
}

/// The chat template stored in a GGUF file (`tokenizer.chat_template`).
pub fn gguf_chat_template(file: &zkinfer_gguf::GgufFile) -> Result<&str, ChatError> {
    match file.get("tokenizer.chat_template") {
        None => Err(ChatError::NoTemplate),
        Some(_) => file
            .get_str("tokenizer.chat_template")
            .map_err(ChatError::Gguf),
    }
}

/// Renders `template` for `messages`, as llama.cpp's Jinja chat path does (see the module doc).
pub fn render_chat(
    template: &str,
    messages: &[ChatMessage],
    add_generation_prompt: bool,
    bos_token: &str,
    eos_token: &str,
) -> Result<String, ChatError> {
    let env = environment();
    let compiled = env
        .template_from_str(template)
        .map_err(ChatError::Template)?;
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut map = BTreeMap::new();
            map.insert("role", Value::from(m.role.as_str()));
            map.insert("content", Value::from(m.content.as_str()));
            Value::from(map)
        })
        .collect();
    let mut ctx: BTreeMap<&str, Value> = BTreeMap::new();
    ctx.insert("messages", Value::from(messages));
    ctx.insert("add_generation_prompt", Value::from(add_generation_prompt));
    ctx.insert("bos_token", Value::from(bos_token));
    ctx.insert("eos_token", Value::from(eos_token));
    ctx.insert("tools", Value::from(()));
    ctx.insert("enable_thinking", Value::from(true));
    compiled.render(ctx).map_err(ChatError::Template)
}

/// Renders `template` for `messages` with the tokenizer's BOS/EOS texts, then removes a leading
/// BOS text when the tokenizer adds BOS itself (and a trailing EOS text when it adds EOS), as
/// llama.cpp does before tokenizing.
pub fn render_for(
    tokenizer: &Tokenizer,
    template: &str,
    messages: &[ChatMessage],
    add_generation_prompt: bool,
) -> Result<String, ChatError> {
    let text_of = |id: Option<u32>| {
        id.and_then(|id| tokenizer.token_text(id))
            .unwrap_or_default()
    };
    let bos = text_of(tokenizer.bos_token_id());
    let eos = text_of(tokenizer.eos_token_id());
    let mut out = render_chat(template, messages, add_generation_prompt, &bos, &eos)?;
    if tokenizer.adds_bos() && !bos.is_empty() && out.starts_with(&bos) {
        out.drain(..bos.len());
    }
    if tokenizer.adds_eos() && !eos.is_empty() && out.ends_with(&eos) {
        out.truncate(out.len() - eos.len());
    }
    Ok(out)
}

/// The prompt ids of a chat with one user message, as llama.cpp's chat mode feeds the model: the
/// GGUF's own template rendered with [`render_for`] (generation prompt added), then encoded with
/// special tokens parsed and BOS/EOS added as the model says. Returns the rendered text too.
pub fn user_prompt(
    file: &zkinfer_gguf::GgufFile,
    tokenizer: &Tokenizer,
    user_message: &str,
) -> Result<(String, Vec<u32>), ChatError> {
    let template = gguf_chat_template(file)?;
    let text = render_for(
        tokenizer,
        template,
        &[ChatMessage::user(user_message)],
        true,
    )?;
    let ids = tokenizer.encode_with(
        &text,
        crate::EncodeOptions {
            add_special: true,
            parse_special: true,
        },
    );
    Ok((text, ids))
}

/// The MiniJinja environment: Jinja2-compatible whitespace handling, llama.cpp's helper
/// functions, Python methods, and a recursion limit (a template is untrusted input).
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build();
    // The builder only fails on conflicting custom delimiters, which are not set here.
    if let Ok(syntax) = syntax {
        env.set_syntax(syntax);
    }
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_recursion_limit(100);
    env.add_function(
        "raise_exception",
        |message: String| -> Result<Value, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, message))
        },
    );
    env.add_function("strftime_now", |format: String| -> Result<Value, Error> {
        Ok(Value::from(strftime_utc(&format, unix_now())))
    });
    env.set_unknown_method_callback(python_method);
    // Jinja2's `trim` is Python's `str.strip`, whose whitespace is wider than Rust's.
    env.add_filter("trim", |s: String, chars: Option<String>| -> String {
        match chars {
            None => s.trim_matches(python_is_space).to_owned(),
            Some(set) => s.trim_matches(|c| set.contains(c)).to_owned(),
        }
    });
    env
}

/// Python's `str.isspace` for one character: Unicode `White_Space` (Rust's `char::is_whitespace`)
/// plus the four information separators U+001C–U+001F, which Python also strips and splits at.
fn python_is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// `strftime` of the UTC time `secs` (seconds since 1970) for the conversions chat templates
/// use: `%Y %m %d %B %b %A %a %H %M %S %j %y %e %%`; others are kept verbatim.
fn strftime_utc(format: &str, secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy_march = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy_march + 2) / 153;
    let day = doy_march - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = cumulative[(month - 1) as usize] + day + i64::from(leap && month > 2);
    let month_name = MONTHS[(month - 1) as usize];
    let day_name = DAYS[days.rem_euclid(7) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&year.to_string()),
            Some('y') => out.push_str(&format!("{:02}", year.rem_euclid(100))),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('e') => out.push_str(&format!("{day:2}")),
            Some('B') => out.push_str(month_name),
            Some('b') => out.push_str(&month_name[..3]),
            Some('A') => out.push_str(day_name),
            Some('a') => out.push_str(&day_name[..3]),
            Some('H') => out.push_str(&format!("{:02}", rem / 3600)),
            Some('M') => out.push_str(&format!("{:02}", rem / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", rem % 60)),
            Some('j') => out.push_str(&format!("{yday:03}")),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Python `str`/`dict` methods that chat templates call.
fn python_method(
    _state: &mut State<'_, '_>,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let unknown = || Error::from(ErrorKind::UnknownMethod);
    let bad_args =
        |what: &str| Error::new(ErrorKind::InvalidOperation, format!("{method}(): {what}"));
    let str_arg = |i: usize| -> Result<Option<&str>, Error> {
        match args.get(i) {
            None => Ok(None),
            Some(v) if v.is_none() || v.is_undefined() => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| bad_args("expected a string argument")),
        }
    };
    if args
        .iter()
        .any(|a| a.as_object().is_some_and(|o| o.is::<Kwargs>()))
    {
        return Err(bad_args("keyword arguments are not supported"));
    }
    match value.kind() {
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            let strip_set = |i: usize| -> Result<Box<dyn Fn(char) -> bool>, Error> {
                Ok(match str_arg(i)? {
                    None => Box::new(python_is_space),
                    Some(set) => {
                        let set: Vec<char> = set.chars().collect();
                        Box::new(move |c| set.contains(&c))
                    }
                })
            };
            let out = match method {
                "strip" => Value::from(s.trim_matches(&*strip_set(0)?)),
                "lstrip" => Value::from(s.trim_start_matches(&*strip_set(0)?)),
                "rstrip" => Value::from(s.trim_end_matches(&*strip_set(0)?)),
                "upper" => Value::from(s.to_uppercase()),
                "lower" => Value::from(s.to_lowercase()),
                "startswith" => {
                    Value::from(s.starts_with(str_arg(0)?.ok_or_else(|| bad_args("no prefix"))?))
                }
                "endswith" => {
                    Value::from(s.ends_with(str_arg(0)?.ok_or_else(|| bad_args("no suffix"))?))
                }
                "replace" => {
                    let from = str_arg(0)?.ok_or_else(|| bad_args("no pattern"))?;
                    let to = str_arg(1)?.ok_or_else(|| bad_args("no replacement"))?;
                    if from.is_empty() {
                        return Err(bad_args("empty pattern"));
                    }
                    Value::from(s.replace(from, to))
                }
                "split" => match str_arg(0)? {
                    None => s
                        .split(python_is_space)
                        .filter(|word| !word.is_empty())
                        .map(Value::from)
                        .collect(),
                    Some("") => return Err(bad_args("empty separator")),
                    Some(sep) => s.split(sep).map(Value::from).collect(),
                },
                _ => return Err(unknown()),
            };
            Ok(out)
        }
        ValueKind::Map => match method {
            "items" => {
                let mut pairs = Vec::new();
                for key in value.try_iter()? {
                    let item = value.get_item(&key)?;
                    pairs.push(Value::from(vec![key, item]));
                }
                Ok(Value::from(pairs))
            }
            "keys" => Ok(value.try_iter()?.collect()),
            "values" => {
                let mut out = Vec::new();
                for key in value.try_iter()? {
                    out.push(value.get_item(&key)?);
                }
                Ok(Value::from(out))
            }
            "get" => {
                let key = args.first().ok_or_else(|| bad_args("no key"))?;
                let item = value.get_item(key)?;
                Ok(if item.is_undefined() {
                    args.get(1).cloned().unwrap_or(Value::from(()))
                } else {
                    item
                })
            }
            _ => Err(unknown()),
        },
        _ => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    #[test]
    fn smollm2_template_adds_its_default_system_message() {
        let out = render_chat(
            CHATML,
            &[ChatMessage::user("Hi!")],
            true,
            "<|im_start|>",
            "<|im_end|>",
        )
        .expect("renders");
        assert_eq!(
            out,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
        );
        let with_system = [
            ChatMessage::new("system", "Be brief."),
            ChatMessage::user("Hi!"),
        ];
        let out = render_chat(CHATML, &with_system, false, "", "").expect("renders");
        assert_eq!(
            out,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
        );
    }

    #[test]
    fn whitespace_control_and_helpers() {
        // trim_blocks + lstrip_blocks: block lines leave no blank lines or indentation.
        let t = "{% for m in messages %}\n  {% if m.role == 'user' %}\n[{{ m.content | trim }}]\n  {% endif %}\n{% endfor %}\n";
        let out = render_chat(t, &[ChatMessage::user("  x ")], false, "", "").expect("renders");
        assert_eq!(out, "[x]\n");
        let t = "{{ bos_token }}{{ messages[0].content.strip().upper() }}|{{ 'a,b'.split(',') | join('+') }}|{{ messages[0].get('role') }}|{{ enable_thinking }}";
        let out =
            render_chat(t, &[ChatMessage::user(" hi ")], false, "<s>", "</s>").expect("renders");
        assert_eq!(out, "<s>HI|a+b|user|True");
        let t = "{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}{{ m.content }}{% endfor %}";
        let two = [ChatMessage::user("a"), ChatMessage::user("b")];
        assert_eq!(render_chat(t, &two, false, "", "").expect("renders"), "a");
    }

    #[test]
    fn errors_are_reported_not_panics() {
        let t = "{{ raise_exception('Only user and assistant roles are supported!') }}";
        let err = render_chat(t, &[], true, "", "").expect_err("raises");
        assert!(err.to_string().contains("Only user and assistant"), "{err}");
        assert!(render_chat("{% for %}", &[], true, "", "").is_err());
        assert!(render_chat("{{ 'x'.nosuchmethod() }}", &[], true, "", "").is_err());
        // Unbounded recursion is cut off by the recursion limit.
        let t = "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}";
        assert!(render_chat(t, &[], true, "", "").is_err());
    }

    #[test]
    fn strftime_formats_dates() {
        // 2024-02-29 13:05:09 UTC, a Thursday.
        let secs = 1_709_211_909;
        assert_eq!(
            strftime_utc("%d %b %Y %H:%M:%S %A %j %B %%", secs),
            "29 Feb 2024 13:05:09 Thursday 060 February %"
        );
        assert_eq!(strftime_utc("%Y-%m-%d", 0), "1970-01-01");
    }
}
