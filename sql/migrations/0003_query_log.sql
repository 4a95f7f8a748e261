-- Every answered query, so that poor answers can be found, and users' ratings of them.
CREATE TABLE query_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at     timestamptz NOT NULL DEFAULT now(),
    endpoint       text NOT NULL,
    question       text NOT NULL,
    collection     text NOT NULL,
    model          text NOT NULL,
    prompt         text,
    mode           text,
    filters        jsonb NOT NULL DEFAULT '{}',
    chunk_ids      bigint[] NOT NULL,
    similarities   real[] NOT NULL,
    timings_ms     jsonb NOT NULL,
    answer         text
);
CREATE INDEX query_log_created ON query_log (created_at);

CREATE TABLE feedback (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    query_id   bigint NOT NULL REFERENCES query_log (id) ON DELETE CASCADE,
    rating     smallint NOT NULL CHECK (rating BETWEEN -1 AND 5),
    comment    text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_query ON feedback (query_id);
