-- Sentence embeddings of chunks (semantic retrieval). A chunk's vector goes with the chunk;
-- `model` names the embedding model, so that a different model re-embeds instead of mixing.
CREATE TABLE chunk_vectors (
    chunk_id TEXT PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    bot_id   TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    model    TEXT NOT NULL,
    -- Little-endian f32 values.
    vector   BLOB NOT NULL
);
CREATE INDEX chunk_vectors_bot ON chunk_vectors(bot_id, model);
