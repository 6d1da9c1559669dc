-- The passages whose sentences are still to be embedded, found without reading every vector of
-- the bot: a training job asks for the next 8 about 1,400 times for the PostgreSQL manual
-- (11,359 passages), and each such read of all the bot's vectors, sorted, took 33 ms (47 s of
-- the job). With this index a read takes well under a millisecond, in the order the passages'
-- vectors were stored.
CREATE INDEX chunk_vectors_without_sentences ON chunk_vectors(bot_id, model) WHERE sentences IS NULL;
