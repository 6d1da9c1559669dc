//! Loading a GGUF file's weights, requantising the quantisations candle has no fast CPU kernel
//! for.

use std::{collections::HashMap, io::Cursor};

use candle_core::{
    quantized::{
        gguf_file::{Content, TensorInfo},
        GgmlDType, QTensor,
    },
    Device,
};
use candle_transformers::models::quantized_llama::ModelWeights;

use crate::LocalError;

/// Whether a weight of this type is worth requantising to Q8_0: candle's x86 CPU backend has
/// SIMD dot products for Q4_0, Q8_0 and the k-quants, but runs Q4_1, Q5_0 and Q5_1 through a
/// scalar loop (SmolLM2's Q4_1 file reads a prompt ~6 times and generates ~3 times slower than
/// its Q8_0 requantisation).
fn slow_on_cpu(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

fn load_err(e: impl std::fmt::Display) -> LocalError {
    LocalError::Load(e.to_string())
}

/// Builds the model from the file as it is.
pub(crate) fn load_as_is<R: std::io::Read + std::io::Seek>(
    ct: Content,
    reader: &mut R,
    device: &Device,
) -> Result<ModelWeights, LocalError> {
    ModelWeights::from_gguf(ct, reader, device).map_err(load_err)
}

/// Builds the model with every matrix of a slow quantisation requantised to Q8_0 (dequantised
/// to f32 and quantised again; Q8_0 keeps 8 bits per weight, so this adds no visible error to a
/// 4- or 5-bit weight). The tensors are rewritten one by one into an in-memory copy of the
/// file's tensor data, which the model is then read from. Returns the model and how many
/// tensors were requantised.
pub(crate) fn load_requantized<R: std::io::Read + std::io::Seek>(
    ct: Content,
    reader: &mut R,
    device: &Device,
) -> Result<(ModelWeights, usize), LocalError> {
    let mut data = Vec::new();
    let mut infos = HashMap::with_capacity(ct.tensor_infos.len());
    let mut requantized = 0;
    let mut names: Vec<&String> = ct.tensor_infos.keys().collect();
    names.sort();
    for name in names {
        let info = &ct.tensor_infos[name];
        let tensor = info
            .read(reader, ct.tensor_data_offset, device)
            .map_err(|e| LocalError::Load(format!("{name}: {e}")))?;
        let dims = tensor.shape().dims();
        let tensor = if slow_on_cpu(tensor.dtype())
            && dims.len() == 2
            && dims[1] % GgmlDType::Q8_0.block_size() == 0
        {
            requantized += 1;
            let f32s = tensor.dequantize(device).map_err(load_err)?;
            QTensor::quantize(&f32s, GgmlDType::Q8_0)
                .map_err(|e| LocalError::Load(format!("{name}: {e}")))?
        } else {
            tensor
        };
        let bytes = tensor.data().map_err(load_err)?;
        // Q8_0 blocks are 34 bytes; every tensor starts at a multiple of 32 like in a GGUF file.
        data.resize(data.len().next_multiple_of(32), 0);
        infos.insert(
            name.clone(),
            TensorInfo {
                ggml_dtype: tensor.dtype(),
                shape: tensor.shape().clone(),
                offset: data.len() as u64,
            },
        );
        data.extend_from_slice(&bytes);
    }
    let content = Content {
        magic: ct.magic,
        metadata: ct.metadata,
        tensor_infos: infos,
        tensor_data_offset: 0,
    };
    let model =
        ModelWeights::from_gguf(content, &mut Cursor::new(data), device).map_err(load_err)?;
    Ok((model, requantized))
}
