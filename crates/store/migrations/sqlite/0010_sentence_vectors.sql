-- The vectors of a chunk's sentences, embedded at ingest so that a question weighs the sentences
-- of its passages by meaning without embedding them then. NULL until embedded; each record is a
-- sentence's key (8 bytes, little-endian), its dimensions (4 bytes) and its f32 values.
ALTER TABLE chunk_vectors ADD COLUMN sentences BLOB;
