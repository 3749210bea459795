-- 008 embedding + decay columns
-- Vector embeddings for similarity search (float32 little-endian BLOB; model and dimension
-- recorded so a model change can re-embed) and a decaying strength for forgetting.

ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS embedding BLOB;
ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS embedding_model TEXT;
ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS embedding_dim INTEGER
    CHECK (embedding_dim IS NULL OR embedding_dim > 0);
ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS strength REAL NOT NULL DEFAULT 1.0
    CHECK (strength BETWEEN 0.0 AND 1.0);
ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS decay_rate REAL NOT NULL DEFAULT 0.01
    CHECK (decay_rate >= 0);

ALTER TABLE semantic_memories ADD COLUMN IF NOT EXISTS embedding BLOB;
ALTER TABLE semantic_memories ADD COLUMN IF NOT EXISTS embedding_model TEXT;
ALTER TABLE semantic_memories ADD COLUMN IF NOT EXISTS embedding_dim INTEGER
    CHECK (embedding_dim IS NULL OR embedding_dim > 0);
ALTER TABLE semantic_memories ADD COLUMN IF NOT EXISTS strength REAL NOT NULL DEFAULT 1.0
    CHECK (strength BETWEEN 0.0 AND 1.0);
ALTER TABLE semantic_memories ADD COLUMN IF NOT EXISTS decay_rate REAL NOT NULL DEFAULT 0.005
    CHECK (decay_rate >= 0);

ALTER TABLE reflections ADD COLUMN IF NOT EXISTS embedding BLOB;
ALTER TABLE reflections ADD COLUMN IF NOT EXISTS embedding_model TEXT;

-- The embedder's backlog: rows without a vector yet.
CREATE INDEX IF NOT EXISTS idx_episodic_unembedded ON episodic_memories(id) WHERE embedding IS NULL;
CREATE INDEX IF NOT EXISTS idx_semantic_unembedded ON semantic_memories(id) WHERE embedding IS NULL;
-- The forgetting pass: weakest memories first.
CREATE INDEX IF NOT EXISTS idx_episodic_strength ON episodic_memories(strength);
