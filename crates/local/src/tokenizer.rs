//! The tokenizer and chat format of a GGUF model, built from the file's own metadata.

use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::{
    decoders::byte_level::ByteLevel as ByteLevelDecoder,
    models::bpe::{Vocab, BPE},
    normalizers::unicode::NFC,
    pre_tokenizers::{
        byte_level::ByteLevel, digits::Digits, sequence::Sequence, split::Split,
        split::SplitPattern, PreTokenizerWrapper,
    },
    AddedToken, SplitDelimiterBehavior, Tokenizer,
};

use sitechat_llm::ChatMessage;

use crate::LocalError;

/// llama.cpp's token types (`tokenizer.ggml.token_type`): 3 is a control token such as
/// `<|im_start|>`, 4 a user-defined one. Both are matched whole, never split into pieces.
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

const REGEX_LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const REGEX_QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// How the conversation is laid out for the model, read from `tokenizer.chat_template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatFormat {
    /// `<|im_start|>role\ncontent<|im_end|>\n`, then `<|im_start|>assistant\n` (SmolLM2, Qwen).
    ChatMl,
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` (Llama 3).
    Llama3,
}

/// A GGUF model's byte-level BPE tokenizer and chat format.
///
/// Built from the file's metadata (`tokenizer.ggml.tokens`, `merges`, `token_type`, `pre`): a
/// BPE model over the vocabulary and merges, the pre-tokenizer llama.cpp uses for the `pre`
/// name (`smollm`: digits one by one, then byte-level without a prefix space), a byte-level
/// decoder, and control tokens (`<|im_start|>`, `<|im_end|>`, `<|endoftext|>`, …) as special
/// tokens. Only `gpt2`-style (byte-level BPE) tokenizers are supported, which is what SmolLM2,
/// Llama 3 and Qwen GGUF files carry; SentencePiece (`llama`) vocabularies are refused.
#[derive(Clone)]
pub struct ChatTokenizer {
    /// Recognises special tokens written in the text (for [`ChatTokenizer::encode`]).
    tokenizer: Tokenizer,
    /// The same, but special tokens written in the text are plain text: message contents never
    /// become control tokens, whatever a visitor types.
    plain: Tokenizer,
    format: ChatFormat,
    /// Token ids that end the assistant's turn.
    stop_ids: Vec<u32>,
    /// Prepended to the prompt when the file asks for it (`tokenizer.ggml.add_bos_token`).
    bos: Option<u32>,
    markers: Markers,
}

impl std::fmt::Debug for ChatTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTokenizer")
            .field("format", &self.format)
            .field("stop_ids", &self.stop_ids)
            .field("vocabulary", &self.tokenizer.get_vocab_size(true))
            .finish_non_exhaustive()
    }
}

/// The control tokens the chat format is written with.
#[derive(Debug, Clone, Copy)]
struct Markers {
    /// `<|im_start|>` or `<|start_header_id|>`.
    open: u32,
    /// `<|end_header_id|>` (Llama 3 only).
    header_end: Option<u32>,
    /// `<|im_end|>` or `<|eot_id|>`.
    close: u32,
}

fn load_err(e: impl std::fmt::Display) -> LocalError {
    LocalError::Load(e.to_string())
}

fn metadata<'a>(ct: &'a Content, key: &str) -> Result<&'a Value, LocalError> {
    ct.metadata
        .get(key)
        .ok_or_else(|| LocalError::Load(format!("the GGUF file has no `{key}`")))
}

fn to_u32(v: &Value) -> Option<u32> {
    match v {
        Value::U8(v) => Some(u32::from(*v)),
        Value::U16(v) => Some(u32::from(*v)),
        Value::U32(v) => Some(*v),
        Value::U64(v) => u32::try_from(*v).ok(),
        Value::I8(v) => u32::try_from(*v).ok(),
        Value::I16(v) => u32::try_from(*v).ok(),
        Value::I32(v) => u32::try_from(*v).ok(),
        Value::I64(v) => u32::try_from(*v).ok(),
        _ => None,
    }
}

fn to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::U8(v) => Some(i64::from(*v)),
        Value::U16(v) => Some(i64::from(*v)),
        Value::U32(v) => Some(i64::from(*v)),
        Value::U64(v) => i64::try_from(*v).ok(),
        Value::I8(v) => Some(i64::from(*v)),
        Value::I16(v) => Some(i64::from(*v)),
        Value::I32(v) => Some(i64::from(*v)),
        Value::I64(v) => Some(*v),
        _ => None,
    }
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, LocalError> {
    let not_strings = || LocalError::Load(format!("`{key}` is not a list of strings"));
    v.to_vec()
        .map_err(|_| not_strings())?
        .iter()
        .map(|s| s.to_string().cloned().map_err(|_| not_strings()))
        .collect()
}

/// The pre-tokenizer llama.cpp applies for a `tokenizer.ggml.pre` name.
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper, LocalError> {
    let split = |regex: &str| -> Result<PreTokenizerWrapper, LocalError> {
        Ok(Split::new(
            SplitPattern::Regex(regex.to_owned()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(load_err)?
        .into())
    };
    Ok(match pre {
        // SmolLM's tokenizer.json: digits one by one, then GPT-2's byte-level split.
        "smollm" => Sequence::new(vec![
            Digits::new(true).into(),
            ByteLevel::new(false, true, true).into(),
        ])
        .into(),
        "llama3" | "llama-bpe" | "smaug-bpe" => Sequence::new(vec![
            split(REGEX_LLAMA3)?,
            ByteLevel::new(false, true, false).into(),
        ])
        .into(),
        "qwen2" => Sequence::new(vec![
            split(REGEX_QWEN2)?,
            ByteLevel::new(false, false, false).into(),
        ])
        .into(),
        "gpt2" | "default" | "" => ByteLevel::new(false, true, true).into(),
        other => {
            tracing::warn!(
                pre = other,
                "unknown GGUF pre-tokenizer: GPT-2's is used, token ids may differ from llama.cpp's"
            );
            ByteLevel::new(false, true, true).into()
        }
    })
}

impl ChatTokenizer {
    /// Reads only the metadata of a GGUF file and builds its tokenizer.
    pub fn load(path: &Path) -> Result<ChatTokenizer, LocalError> {
        let mut file = std::fs::File::open(path)
            .map_err(|e| LocalError::Load(format!("{}: {e}", path.display())))?;
        let ct = Content::read(&mut file)
            .map_err(|e| LocalError::Load(format!("{}: {e}", path.display())))?;
        ChatTokenizer::from_gguf(&ct)
    }

    /// Builds the tokenizer from a GGUF file's metadata.
    pub fn from_gguf(ct: &Content) -> Result<ChatTokenizer, LocalError> {
        let kind = metadata(ct, "tokenizer.ggml.model")?
            .to_string()
            .map_err(load_err)?;
        if kind != "gpt2" {
            return Err(LocalError::Load(format!(
                "the GGUF tokenizer is `{kind}`; only byte-level BPE (`gpt2`) tokenizers are supported"
            )));
        }
        let tokens = strings(
            metadata(ct, "tokenizer.ggml.tokens")?,
            "tokenizer.ggml.tokens",
        )?;
        let merges = strings(
            metadata(ct, "tokenizer.ggml.merges")?,
            "tokenizer.ggml.merges",
        )?
        .into_iter()
        .map(|m| match m.split_once(' ') {
            Some((a, b)) => Ok((a.to_owned(), b.to_owned())),
            None => Err(LocalError::Load(format!("bad merge `{m}`"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(load_err)?;
        let mut tokenizer = Tokenizer::new(bpe);
        let pre = ct
            .metadata
            .get("tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok())
            .map_or("gpt2", String::as_str);
        if pre == "qwen2" {
            tokenizer.with_normalizer(Some(NFC)).map_err(load_err)?;
        }
        tokenizer.with_pre_tokenizer(Some(pre_tokenizer(pre)?));
        tokenizer.with_decoder(Some(ByteLevelDecoder::default()));

        // Control and user-defined tokens are matched whole.
        let types: Vec<i64> = match ct.metadata.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(load_err)?
                .iter()
                .map(|t| to_i64(t).unwrap_or(1))
                .collect(),
            None => Vec::new(),
        };
        let id = |key: &str| ct.metadata.get(key).and_then(to_u32);
        let (bos_id, eos_id) = (
            id("tokenizer.ggml.bos_token_id"),
            id("tokenizer.ggml.eos_token_id"),
        );
        let specials = tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let ty = types.get(*i).copied().unwrap_or(1);
                ty == TOKEN_TYPE_CONTROL
                    || ty == TOKEN_TYPE_USER_DEFINED
                    || Some(*i as u32) == bos_id
                    || Some(*i as u32) == eos_id
            })
            .map(|(_, t)| AddedToken::from(t.clone(), true));
        tokenizer.add_special_tokens(specials).map_err(load_err)?;

        let template = ct
            .metadata
            .get("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok())
            .map_or("", String::as_str);
        let find = |t: &str| tokenizer.token_to_id(t);
        let (format, markers) = match (
            find("<|start_header_id|>"),
            find("<|end_header_id|>"),
            find("<|eot_id|>"),
        ) {
            (Some(open), Some(header_end), Some(close))
                if template.contains("<|start_header_id|>") =>
            {
                (
                    ChatFormat::Llama3,
                    Markers {
                        open,
                        header_end: Some(header_end),
                        close,
                    },
                )
            }
            _ => match (find("<|im_start|>"), find("<|im_end|>")) {
                // ChatML whatever the template says: it is SmolLM2's, and the format most
                // instruction-tuned GGUF files with these tokens were trained on.
                (Some(open), Some(close)) => (
                    ChatFormat::ChatMl,
                    Markers {
                        open,
                        header_end: None,
                        close,
                    },
                ),
                _ => {
                    return Err(LocalError::Load(
                        "the model has neither ChatML (<|im_start|>) nor Llama 3 chat tokens"
                            .to_owned(),
                    ))
                }
            },
        };

        let mut stop_ids = vec![markers.close];
        stop_ids.extend(eos_id);
        for t in [
            "<|endoftext|>",
            "<|end_of_text|>",
            "<|eot_id|>",
            "<|im_end|>",
        ] {
            stop_ids.extend(find(t));
        }
        if format == ChatFormat::ChatMl {
            // A new turn starting means the answer is over.
            stop_ids.push(markers.open);
        }
        stop_ids.sort_unstable();
        stop_ids.dedup();

        let add_bos = ct
            .metadata
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false);
        let mut plain = tokenizer.clone();
        plain.set_encode_special_tokens(true);
        Ok(ChatTokenizer {
            tokenizer,
            plain,
            format,
            stop_ids,
            bos: bos_id.filter(|_| add_bos),
            markers,
        })
    }

    /// The chat format prompts are written in.
    pub fn format(&self) -> ChatFormat {
        self.format
    }

    /// Token ids that end the assistant's turn (end of turn, end of text, a new turn).
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// A token's id, if it is in the vocabulary.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// Encodes text; special tokens written in it (`<|im_start|>`) become their single ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LocalError> {
        Ok(self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| LocalError::Generation(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    /// Encodes text in which special tokens are plain text.
    fn encode_plain(&self, text: &str) -> Result<Vec<u32>, LocalError> {
        Ok(self
            .plain
            .encode_fast(text, false)
            .map_err(|e| LocalError::Generation(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    /// Decodes ids to text, leaving special tokens out. An incomplete UTF-8 sequence at the
    /// end (a character split over tokens) decodes to U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> Result<String, LocalError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| LocalError::Generation(e.to_string()))
    }

    /// The prompt's token ids: the messages in the chat format, then the opening of the
    /// assistant's turn. Message contents are encoded as plain text, so a visitor typing
    /// `<|im_end|>` cannot end a turn.
    pub fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<Vec<u32>, LocalError> {
        let mut ids: Vec<u32> = self.bos.into_iter().collect();
        let m = self.markers;
        for message in messages {
            match self.format {
                ChatFormat::ChatMl => {
                    ids.push(m.open);
                    ids.extend(
                        self.encode_plain(&format!("{}\n{}", message.role, message.content))?,
                    );
                    ids.push(m.close);
                    ids.extend(self.encode_plain("\n")?);
                }
                ChatFormat::Llama3 => {
                    ids.push(m.open);
                    ids.extend(self.encode_plain(&message.role)?);
                    ids.extend(m.header_end);
                    ids.extend(self.encode_plain(&format!("\n\n{}", message.content.trim()))?);
                    ids.push(m.close);
                }
            }
        }
        ids.push(m.open);
        match self.format {
            ChatFormat::ChatMl => ids.extend(self.encode_plain("assistant\n")?),
            ChatFormat::Llama3 => {
                ids.extend(self.encode_plain("assistant")?);
                ids.extend(m.header_end);
                ids.extend(self.encode_plain("\n\n")?);
            }
        }
        Ok(ids)
    }
}
